"""Published numbers to put beside this port's: `published.csv`, one row per model and data set.

Rows: the SelfGNN paper's main table (19 models x amazon, gowalla, movielens, yelp)
and the HardGNN final report's Table 1 (its SelfGNN rerun and HardGNN, 100 epochs).
Each row names its source; `verified_against_paper_text` says whether the numbers were
checked against the paper itself (see ../shared/PUBLISHED_RESULTS.md).
"""
import csv
import os

from selfgnn import tables

METRICS = ("HR10", "NDCG10", "HR20", "NDCG20")
_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published.csv")


def load(dataset=None, model=None):
    """Rows as dicts (metrics as floats), optionally only one data set and/or model."""
    with open(_PATH, newline="", encoding="utf-8") as f:
        rows = [dict(r, **{m: float(r[m]) for m in METRICS}) for r in csv.DictReader(f)]
    return [r for r in rows if (dataset is None or r["dataset"] == dataset)
            and (model is None or r["model"] == model)]


COMPARED = (("SelfGNN", "SelfGNN (paper)"), ("SelfGNN-rerun", "SelfGNN (HardGNN report rerun)"),
            ("HardGNN", "HardGNN (report)"))
"""Published rows a run is put beside: (model in published.csv, label)."""
LABELS = {"HR10": "HR@10", "NDCG10": "NDCG@10", "HR20": "HR@20", "NDCG20": "NDCG@20"}


def compare(dataset, result):
    """This run's `result` (HR10, NDCG10, HR20, NDCG20) beside every published row of
    `dataset` in COMPARED: {"ours": {...}, "published": [{model, label, source,
    verified, values, diff}]}, diff = ours - published; None if nothing is published."""
    rows = []
    for model, label in COMPARED:
        for p in load(dataset, model):
            rows.append({"model": model, "label": label, "source": p["source"],
                         "verified_against_paper_text": p["verified_against_paper_text"],
                         "values": {m: p[m] for m in METRICS},
                         "diff": {m: result[m] - p[m] for m in METRICS}})
    if not rows:
        return None
    return {"dataset": dataset, "ours": {m: result[m] for m in METRICS}, "published": rows}


def side_by_side(comparison, what):
    """The lines printed after the `max` line: one row per metric, ours, each published
    value and our difference to it. `what` says which of our epochs the numbers are."""
    head = ["metric", "this run"]
    for row in comparison["published"]:
        head += [row["label"], "diff"]
    rows = []
    for m in METRICS:
        cells = [LABELS[m], f"{comparison['ours'][m]:.4f}"]
        for row in comparison["published"]:
            cells += [f"{row['values'][m]:.3f}", f"{row['diff'][m]:+.4f}"]
        rows.append(cells)
    lines = [f"Published numbers for {comparison['dataset']} beside this run ({what}):"]
    lines += tables.markdown(head, rows)
    sources = sorted({row["source"] for row in comparison["published"]})
    lines.append("Sources: " + "; ".join(sources) + " (not checked against the papers' text: "
                 "see README, Comparing with the paper)")
    return lines
