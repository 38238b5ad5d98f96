"""The command line of `run/main.py`: SelfGNN's flags, the extensions' flags, and `--model`.

SelfGNN owns its flags (`selfgnn.params.FLAG_SPECS`, the original's Params.py plus the
port's run flags); `hardgnn.params` adds HardGNN's and `baselines.params` the
baselines'; this module adds `--model`, which chooses among them. Nothing here
imports TensorFlow, so a bad flag is answered at once.
"""
from absl import flags

import baselines
from baselines import params as baseline_params
from hardgnn import params as hard_params
from selfgnn import flag_help, params

MODEL_SPECS = (
    ("model", "enum:" + "|".join(("auto", "selfgnn", "hardgnn") + tuple(baselines.MODELS)), "auto",
     "auto: HardGNN when a HardGNN flag is given, else SelfGNN; or a reference baseline "
     "trained and scored under the same protocol (" + ", ".join(baselines.MODELS) + ")"),
)
SPECS = (params.FLAG_SPECS + MODEL_SPECS + baseline_params.FLAG_SPECS
         + hard_params.HARD_FLAG_SPECS)
RunParams = params.make_params_class(SPECS, "RunParams")


def define_flags(flag_values=flags.FLAGS):
    params.define_flags(flag_values, SPECS)


def help_groups():
    """Every flag of `run/main.py` as (title, specs) groups for `--help`."""
    return flag_help.help_groups() + [
        ("Model choice and baselines", list(MODEL_SPECS + baseline_params.FLAG_SPECS)),
        ("HardGNN (any of these trains HardGNN)", list(hard_params.HARD_FLAG_SPECS))]


def from_flags(flag_values=flags.FLAGS):
    """Checked RunParams; `--model auto` becomes hardgnn iff a HardGNN flag was given.

    A model other than SelfGNN writes to `<save_path>-<model>` unless --save_path is
    given, so that `--data amazon` and `--data amazon --hard_k 3` do not share a folder.
    """
    p = params.from_flags(flag_values, RunParams)
    given = [name for name in hard_params.HARD_NAMES if flag_values[name].present]
    if p.model == "auto":
        p = p.replace(model="hardgnn" if given else "selfgnn")
    if p.model in baselines.MODELS and given:
        raise ValueError(f"--{given[0]} is a HardGNN flag, but --model {p.model} is a baseline; "
                         f"drop it or use --model hardgnn")
    if p.model != "selfgnn" and not flag_values["save_path"].present:
        p = p.replace(save_path=f"{p.save_path}-{p.model}")  # not SelfGNN's folder of the preset
    return hard_params.check_hard_params(baseline_params.check(p))


def preset_params(data, **overrides):
    """RunParams for `data` (preset applied) with `overrides`; `model` defaults to selfgnn."""
    overrides.setdefault("model", "selfgnn")
    return hard_params.check_hard_params(baseline_params.check(
        params.preset_params(data, RunParams, **overrides)))
