"""run/sweep.py and run/collect.py on tiny data, as a user runs them."""
import csv
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script(name, *args, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "run", name), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600, cwd=cwd)


def sweep(data_dir, sweep_dir, *extra):
    return script("sweep.py", "--grid", "hard_k=2,3", "--grid", "cl_weight=0.01,0.1",
                  "--sweep_dir", sweep_dir, "--data", "tiny", "--data_dir", data_dir,
                  "--epoch", "1", "--tstEpoch", "1", *extra)


@pytest.mark.slow
def test_local_sweep_runs_the_grid_resumes_and_collects(tiny_data_dir, tmp_path):
    proc = sweep(tiny_data_dir, tmp_path, "--launcher", "local", "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    names = sorted(f[:-6] for f in os.listdir(tmp_path / "flags"))
    assert names == ["hard_k2_cl_weight0.01", "hard_k2_cl_weight0.1", "hard_k3_cl_weight0.01",
                     "hard_k3_cl_weight0.1"]
    flags = (tmp_path / "flags" / "hard_k3_cl_weight0.1.flags").read_text().splitlines()
    assert {"--data=tiny", "--epoch=1", "--hard_k=3", "--cl_weight=0.1",
            f"--out_dir={tmp_path / 'runs'}", "--save_path=hard_k3_cl_weight0.1"} <= set(flags)
    again = sweep(tiny_data_dir, tmp_path, "--launcher", "local")
    assert "4 runs, 4 finished before, 0 to run" in again.stdout
    collected = script("collect.py", tmp_path)
    assert collected.returncode == 0, collected.stderr[-2000:]
    with open(tmp_path / "collected.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["hard_k"], r["cl_weight"]) for r in rows) == [
        ("2", "0.01"), ("2", "0.1"), ("3", "0.01"), ("3", "0.1")]
    assert all(r["status"] == "finished" and 0 <= float(r["HR10"]) <= 1 for r in rows)
    assert (tmp_path / "vs_lambda.png").exists() and (tmp_path / "collected.md").exists()


def test_slurm_launcher_writes_an_array_job(tiny_data_dir, tmp_path):
    proc = sweep(tiny_data_dir, tmp_path, "--launcher", "slurm", "--jobs", "3",
                 "--partition", "gpu", "--gpus", "2", "--time", "02:00:00")
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = (tmp_path / "sweep.slurm").read_text()
    for line in ("#SBATCH --array=0-3%3", "#SBATCH --partition=gpu", "#SBATCH --gres=gpu:2",
                 "#SBATCH --time=02:00:00", '--flagfile="${FLAGFILES[$SLURM_ARRAY_TASK_ID]}"'):
        assert line in text
    assert text.count(".flags") == 4
    assert (tmp_path / "logs").is_dir()  # SLURM writes --output there but does not create it


def test_bad_grid_entry_is_rejected(tmp_path):
    proc = script("sweep.py", "--grid", "hardk=3", "--sweep_dir", tmp_path)
    assert proc.returncode == 2 and "NAME a flag of run/main.py" in proc.stderr
    assert script("collect.py", tmp_path / "empty").returncode == 2


def test_a_relative_sweep_dir_gives_flag_files_an_absolute_runs_folder(tmp_path):
    proc = script("sweep.py", "--grid", "hard_k=2", "--sweep_dir", "rel", "--data", "tiny",
                  "--launcher", "slurm", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    flags = (tmp_path / "rel" / "flags" / "hard_k2.flags").read_text().split()
    assert f"--out_dir={tmp_path / 'rel' / 'runs'}" in flags
