"""Published numbers to put beside this port's: `published.csv`, one row per model and data set.

Rows: the SelfGNN paper's main table (19 models x amazon, gowalla, movielens, yelp)
and the HardGNN final report's Table 1 (its SelfGNN rerun and HardGNN, 100 epochs).
Each row names its source; `verified_against_paper_text` says whether the numbers were
checked against the paper itself (see ../shared/PUBLISHED_RESULTS.md).
"""
import csv
import os

METRICS = ("HR10", "NDCG10", "HR20", "NDCG20")
_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published.csv")


def load(dataset=None, model=None):
    """Rows as dicts (metrics as floats), optionally only one data set and/or model."""
    with open(_PATH, newline="", encoding="utf-8") as f:
        rows = [dict(r, **{m: float(r[m]) for m in METRICS}) for r in csv.DictReader(f)]
    return [r for r in rows if (dataset is None or r["dataset"] == dataset)
            and (model is None or r["model"] == model)]
