"""run/compare.py on tiny data: every model x seed x protocol, resumable, one table."""
import csv
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compare(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "run", "compare.py"),
                           *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=900, cwd=cwd)


@pytest.mark.slow
def test_compare_runs_resumes_and_tabulates(tiny_data_dir, tmp_path):
    args = ("--data_dir", tiny_data_dir, "--data", "tiny", "--epoch", "1", "--tstEpoch", "1",
            "--seeds", "2", "--models", "mostpop,selfgnn", "--out", tmp_path, "--jobs", "2")
    proc = compare(*args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(os.listdir(tmp_path / "runs")) == 8
    with open(tmp_path / "compare.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row"], r["protocol"], r["seeds"]) for r in rows] == [
        ("SelfGNN", "original", "100 101"), ("MostPop", "original", "100 101"),
        ("SelfGNN", "clean", "100 101"), ("MostPop", "clean", "100 101")]
    for r in rows:
        assert float(r["HR10_ci"]) >= 0 and 0 <= float(r["HR10_mean"]) <= 1
        assert (r["p_NDCG10_vs_SelfGNN"] == "") == (r["row"] == "SelfGNN")
    text = (tmp_path / "compare.md").read_text()
    assert "paired t-test over the test users" in text and "| MostPop | clean | 2 |" in text
    assert (tmp_path / "compare.png").exists()
    again = compare(*args)
    assert again.returncode == 0 and "8 runs, 8 finished before, 0 to run" in again.stdout


def test_slurm_plan_passes_flags_and_hardgnn_flags_only_to_hardgnn(tmp_path):
    """... and the baselines' flags only to the baselines."""
    proc = compare("--data", "ml-100k", "--epoch", "7", "--cl_weight", "0.2", "--seeds", "3",
                   "--baseline_patience", "5", "--models", "selfgnn,selfgnn_paper,hardgnn,sasrec",
                   "--out", tmp_path, "--launcher", "slurm", "--jobs", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (tmp_path / "compare.slurm").read_text()
    assert "#SBATCH --array=0-23%4" in text and text.count(".flags") == 24
    paper = set((tmp_path / "flags" / "selfgnn_paper-clean-seed101.flags").read_text().split())
    assert {"--model=selfgnn", "--sequence_branch=paper", "--protocol=clean",
            "--save_path=selfgnn_paper-clean-seed101"} <= paper
    hard = set((tmp_path / "flags" / "hardgnn-clean-seed102.flags").read_text().split())
    assert {"--model=hardgnn", "--protocol=clean", "--seed=102", "--cl_weight=0.2", "--hard_k=3",
            "--epoch=7", "--data=ml-100k", "--save_path=hardgnn-clean-seed102"} <= hard
    sasrec = (tmp_path / "flags" / "sasrec-original-seed100.flags").read_text()
    assert "--epoch=7" in sasrec and "cl_weight" not in sasrec and "hard_k" not in sasrec
    assert "--baseline_patience=5" in sasrec.split()
    assert "--cl_weight=0.1" not in hard
    assert not any("baseline" in line for line in hard | paper)


def test_flag_files_name_the_runs_absolutely_and_report_only_leaves_them(tmp_path):
    """A relative --out gives an absolute --out_dir (a launcher may start a run anywhere);
    --report_only rewrites no flag file (running runs read theirs when they start)."""
    proc = compare("--data", "ml-100k", "--models", "mostpop", "--seeds", "1", "--out", "rel",
                   "--launcher", "slurm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flag_file = tmp_path / "rel" / "flags" / "mostpop-clean-seed100.flags"
    assert f"--out_dir={tmp_path / 'rel' / 'runs'}" in flag_file.read_text().split()
    flag_file.write_text("--seed=7\n")
    report = compare("--data", "ml-100k", "--models", "mostpop", "--seeds", "1", "--out",
                     "rel", "--report_only", cwd=tmp_path)
    assert report.returncode == 2 and "no runs yet" in report.stderr
    assert flag_file.read_text() == "--seed=7\n"


def test_unknown_model_is_rejected(tmp_path):
    proc = compare("--models", "selfgnn,bert4rec", "--out", tmp_path)
    assert proc.returncode == 2 and "bert4rec: not a model" in proc.stderr
