"""Reference baselines trained and scored under exactly SelfGNN's protocol (`run/main.py --model`).

`MODELS` names them for the flags without importing TensorFlow; `model_class(name)`
imports the one asked for.
"""
import importlib

MODELS = {
    "mostpop": ("baselines.mostpop", "MostPop"),
    "itemknn": ("baselines.itemknn", "ItemKNN"),
    "bprmf": ("baselines.bprmf", "BPRMF"),
    "lightgcn": ("baselines.lightgcn", "LightGCN"),
    "sasrec": ("baselines.sasrec", "SASRec"),
    "gru4rec": ("baselines.gru4rec", "GRU4Rec"),
}


def model_class(name):
    """The Baseline subclass of `--model name`."""
    module, cls = MODELS[name]
    return getattr(importlib.import_module(module), cls)
