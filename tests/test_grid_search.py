"""run/grid_search.py end to end on tiny data: tables, plots, HParams, resume."""
import csv
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # run/grid_search.py end to end in a subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def grid(data_dir, out_dir):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "run", "grid_search.py"), "--data", "tiny",
         "--data_dir", str(data_dir), "--out_dir", str(out_dir), "--grid_k", "2",
         "--grid_lambda", "0.01,0.1", "--grid_epochs", "1", "--final_epochs", "1",
         "--tstEpoch", "1", "--strategies", "dns,curriculum"], capture_output=True, text=True,
        env=env, timeout=600)


def test_grid_writes_tables_plots_hparams_and_resumes(tiny_data_dir, tmp_path):
    proc = grid(tiny_data_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "grid_tiny"
    with open(out / "grid.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["K"], r["lambda"]) for r in rows] == [("2", "0.01"), ("2", "0.1")]
    assert all(0 <= float(r["valid_NDCG10"]) <= 1 and r["best_epoch"] == "0" for r in rows)
    with open(out / "final.csv", newline="") as f:
        finals = list(csv.DictReader(f))
    best = max(rows, key=lambda r: (float(r["valid_NDCG10"]), float(r["valid_HR10"])))
    assert finals[0]["run"] == "SelfGNN"
    assert finals[1]["run"] == f"HardGNN K=2 lambda={float(best['lambda']):g}"
    assert [r["run"] for r in finals[2:]] == ["HardGNN dns", "HardGNN curriculum"]
    assert all(0 <= float(r["NDCG10"]) <= 1 for r in finals)
    table = (out / "results.md").read_text()
    assert "| SelfGNN | " in table and "No published numbers for `tiny`" in table
    for png in ("vs_lambda.png", "vs_k.png", "curves.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(out / "hparams")) == ["k2_lambda0.01", "k2_lambda0.1"]
    # The final runs select on validation and record both metrics.
    assert "valid" in (out / "final_hardgnn" / "results.json").read_text()
    again = grid(tiny_data_dir, tmp_path)
    assert again.returncode == 0
    assert again.stdout.count("finished before, skipped") == 6
