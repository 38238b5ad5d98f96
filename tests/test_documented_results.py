"""The run records kept in docs/results (run/archive.py) and the tables that quote them.

Each record must be a whole finished run whose per-user file gives its reported
numbers, and the ml-1m table in docs/comparisons.md must be, line for line, what
`run/report.py docs/results/ml-1m/runs --seeds_only --metrics HR10,NDCG10` prints from
those records.
An unfinished run kept for its finished grid points (`<data>/unfinished/<run>`) must
hold the ranks of each of them.
"""
import csv
import json
import os

import numpy as np
import pytest

from selfgnn import aggregate, recovery, seed_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "docs", "results")
KEPT = recovery.results_files(RESULTS)
RECORDS = [p for p in KEPT if os.path.basename(os.path.dirname(os.path.dirname(p))) == "runs"]
"""Finished runs: `<data>/runs/<run>/results.json`."""
POINTS = [p for p in KEPT if os.path.basename(os.path.dirname(os.path.dirname(p))) == "unfinished"]
"""Finished grid points of unfinished runs (`run/archive.py --unfinished`)."""


def test_there_are_records_and_nothing_else():
    assert len(RECORDS) >= 1, f"no results.json under {RESULTS}"
    assert sorted(RECORDS + POINTS) == sorted(KEPT)


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: os.path.relpath(os.path.dirname(p),
                                                                        RESULTS))
def test_record_is_a_finished_run_that_its_per_user_file_reproduces(path):
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    assert results["status"] == "finished"
    with open(os.path.join(os.path.dirname(path), recovery.PER_USER), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    best = results["best"]
    assert {int(r["epoch"]) for r in rows} == {best["epoch"]}
    assert len({r["user"] for r in rows}) == len(rows)
    for metric in ("HR10", "NDCG10", "HR20", "NDCG20"):
        per_user = np.array([float(r[metric]) for r in rows])
        assert per_user.mean() == pytest.approx(best[metric], abs=1e-12), metric
    ranks = np.array([int(r["rank"]) for r in rows])
    assert np.array_equal(ranks < 10, np.array([float(r["HR10"]) for r in rows]) == 1.0)


def documented_table(page, title):
    """The lines of the first Markdown table under heading `title` of docs/`page`."""
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        text = f.read()
    assert title in text, f"{page}: no section {title!r}"
    lines = text.split(title, 1)[1].split("\n## ", 1)[0].splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("| ")), len(lines))
    table = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_ml_1m_table_is_what_the_records_give():
    records = [p for p in RECORDS if os.sep + "ml-1m" + os.sep in p]
    lines, _ = seed_table.build(aggregate.group_runs(records), {}, ("HR10", "NDCG10"))
    want = [line for line in lines if line.startswith("|")]
    assert len(want) > 2
    assert documented_table("comparisons.md", "## Measured: ml-1m") == want


@pytest.mark.parametrize("path", POINTS, ids=lambda p: os.path.relpath(os.path.dirname(p),
                                                                       RESULTS))
def test_unfinished_copy_holds_its_finished_points(path):
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    assert results["status"] != "finished" and results["grid"]
    folder = os.path.dirname(path)
    for i, entry in enumerate(results["grid"]):
        ranks = np.load(os.path.join(folder, "grid", f"point{i}_ranks.npy"))
        assert ranks.shape == (results["data"]["test_users"],)
        assert entry["best_valid_epoch"] is not None
