"""baselines/runner.py: grid, selection, run folder and resume of a baseline run."""
import io
import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

import baselines
from baselines import runner
from baselines.base import Baseline
from selfgnn import logs, main_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Oracle(Baseline):
    """Ranks the positive (last candidate) first when `good`, else ties everything; its
    `skill` grows with the epochs so that the epochs differ."""

    name = "oracle"
    DEFAULTS = {"good": 0}
    GRID = ({"good": 0}, {"good": 1})
    trained = []

    def train_epoch(self, epoch):
        self.epoch = epoch
        Oracle.trained.append((self.config["good"], epoch))
        return {"Loss": 1.0 / (epoch + 1)}

    def score(self, users, candidates, sequence, mask):
        scores = np.zeros(candidates.shape)
        if self.config["good"]:
            hit = self.rng.random(len(users)) < 0.3 + 0.2 * self.epoch   # [n]
            scores[hit, -1] = 1.0
        return scores


@pytest.fixture
def oracle(monkeypatch):
    monkeypatch.setattr(baselines, "model_class", lambda name: Oracle)
    Oracle.trained = []
    return Oracle


def run(tiny_data_dir, out_dir, **overrides):
    overrides = dict(dict(model="mostpop", epoch=3, tstEpoch=1), **overrides)
    p = main_flags.preset_params("tiny", data_dir=str(tiny_data_dir), out_dir=str(out_dir),
                                  **overrides)
    stream = io.StringIO()
    results = runner.run(p, logger=logs.Logger(stream))
    return results, stream.getvalue()


@pytest.mark.parametrize("protocol,rule", [("clean", "valid"), ("original", "test")])
def test_grid_chosen_on_validation_epoch_by_the_protocols_rule(oracle, tiny_data_dir, tmp_path,
                                                               protocol, rule):
    results, out = run(tiny_data_dir, tmp_path, protocol=protocol)
    assert results["chosen"] == 1 and results["status"] == "finished"
    assert [e["best_valid_ndcg"] for e in results["grid"]][0] == 0.0
    epochs = results["grid"][1]["epochs"]
    best = max(epochs, key=lambda e: e[rule]["NDCG"])
    assert results["best"]["epoch"] == best["epoch"]
    assert results["best"]["NDCG"] == best["test"]["NDCG"]
    assert results["best"]["config"] == {"good": 1}
    assert "Chosen on validation NDCG: grid point 2/2" in out
    m = re.search(r"Epoch (\d+)/3, max: HR = ([\d.]+), NDCG = ([\d.]+)", out)
    assert int(m.group(1)) == best["epoch"] and float(m.group(3)) == round(
        best["test"]["NDCG"], 4)
    with open(tmp_path / "tiny" / "per_user.csv") as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:]]
    header = "user,epoch,rank,HR5,NDCG5,HR10,NDCG10,HR20,NDCG20".split(",")
    ndcg10 = np.mean([float(r[header.index("NDCG10")]) for r in rows])
    assert ndcg10 == pytest.approx(results["best"]["NDCG"])
    assert {int(r[1]) for r in rows} == {best["epoch"]}


def test_resume_skips_finished_points_and_refuses_other_flags(oracle, tiny_data_dir, tmp_path):
    results, _ = run(tiny_data_dir, tmp_path)
    path = tmp_path / "tiny" / "results.json"
    partial = dict(results, grid=results["grid"][:1], status="running")
    path.write_text(json.dumps(partial))
    Oracle.trained = []
    _, out = run(tiny_data_dir, tmp_path)
    assert "Resumed: 1 of 2 grid points done" in out
    assert Oracle.trained == [(1, 0), (1, 1), (1, 2)]
    path.write_text(json.dumps(partial))
    with pytest.raises(ValueError, match="--lr 0.01.*--noresume"):
        run(tiny_data_dir, tmp_path, lr=0.02)


class Peak(Oracle):
    """The positive first at epoch 1 only (when `good`); every other epoch ties all."""

    def score(self, users, candidates, sequence, mask):
        scores = np.zeros(candidates.shape)
        if self.config["good"] and self.epoch == 1:
            scores[:, -1] = 1.0
        return scores


def test_patience_stops_a_point_after_tests_without_a_better_validation(
        monkeypatch, tiny_data_dir, tmp_path):
    """Patience 2 of 8 epochs: the good point peaks at epoch 1 and stops after 3; the
    other never improves after its first test and stops after epoch 2."""
    monkeypatch.setattr(baselines, "model_class", lambda name: Peak)
    Oracle.trained = []  # Oracle.train_epoch notes (good, epoch) there
    results, out = run(tiny_data_dir, tmp_path, epoch=8, protocol="clean", baseline_patience=2)
    assert Oracle.trained == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (1, 3)]
    assert [e["stopped_epoch"] for e in results["grid"]] == [2, 3]
    assert "Stopped at epoch 3/8: no better validation NDCG in 2 tests" in out
    assert results["chosen"] == 1 and results["best"]["epoch"] == 1


def test_without_patience_every_epoch_trains(monkeypatch, tiny_data_dir, tmp_path):
    monkeypatch.setattr(baselines, "model_class", lambda name: Peak)
    Oracle.trained = []
    results, out = run(tiny_data_dir, tmp_path, epoch=5, protocol="clean")
    assert len(Oracle.trained) == 10 and "Stopped" not in out
    assert [e["stopped_epoch"] for e in results["grid"]] == [None, None]


@pytest.mark.slow
def test_mostpop_through_run_main(tiny_data_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "run", "main.py"), "--model",
                           "mostpop", "--data_dir", str(tiny_data_dir), "--data", "tiny",
                           "--out_dir", str(tmp_path), "--protocol", "clean"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Model mostpop, protocol clean, seed 100" in proc.stdout
    results = json.loads((tmp_path / "tiny-mostpop" / "results.json").read_text())  # own folder
    assert results["flags"]["protocol"] == "clean" and results["flags"]["model"] == "mostpop"
    assert results["best"]["epoch"] == 0 and 0 <= results["best"]["HR"] <= 1
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "run", "main.py"), "--model",
                          "mostpop", "--hard_k", "3", "--data", "tiny", "--out_dir",
                          str(tmp_path / "x")], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "--hard_k is a HardGNN flag" in bad.stderr


def comparable(results):
    """What an interrupted run must reproduce: every point's epochs without their times."""
    grid = [dict(e, epochs=[{k: v for k, v in r.items() if k != "seconds"} for r in e["epochs"]])
            for e in results["grid"]]
    return grid, results["chosen"], results["best"], results["final_test"]


@pytest.mark.parametrize("model,stop_at", [
    ("bprmf", 5),                                 # point 2/3 after its epoch 1
    pytest.param("sasrec", 2, marks=pytest.mark.slow)])  # point 1/2 after its epoch 2
@pytest.mark.parametrize("how", ["signal", "crash"])
def test_an_interrupted_point_resumes_after_its_last_epoch_with_the_same_numbers(
        monkeypatch, tiny_data_dir, tmp_path, model, stop_at, how):
    """SIGTERM in the middle of epoch `stop_at` (counted over the whole run): the epoch
    ends, is saved, and the run stops; a crash there loses that epoch. Either way the
    same command resumes the point and gives the uninterrupted run's numbers."""
    flags = dict(model=model, epoch=4, tstEpoch=1, protocol="clean")
    uninterrupted, _ = run(tiny_data_dir, tmp_path / "whole", **flags)
    cls = baselines.model_class(model)
    train_epoch, calls = cls.train_epoch, []

    def interrupted(self, epoch):
        calls.append(epoch)
        if len(calls) == stop_at + 1:
            if how == "crash":
                raise RuntimeError("crash")
            os.kill(os.getpid(), signal.SIGTERM)
        return train_epoch(self, epoch)

    monkeypatch.setattr(cls, "train_epoch", interrupted)
    error = runner.recovery.StopRequested if how == "signal" else RuntimeError
    with pytest.raises(error):
        run(tiny_data_dir, tmp_path / "cut", **flags)
    state = json.loads((tmp_path / "cut" / "tiny" / "latest_state.json").read_text())
    written = tmp_path / "cut" / "tiny" / "results.json"  # after a point, or at a stop
    finished = len(json.loads(written.read_text())["grid"]) if written.exists() else 0
    saved = stop_at - 4 * finished - (how == "crash")  # the point's last saved epoch
    assert (state["point"], state["epoch"]) == (finished, saved)
    monkeypatch.setattr(cls, "train_epoch", train_epoch)
    resumed, out = run(tiny_data_dir, tmp_path / "cut", **flags)
    assert f"Resumed grid point {finished + 1}/" in out and f"after epoch {saved}/4" in out
    assert comparable(resumed) == comparable(uninterrupted)
    per_user = [(d / "tiny" / "per_user.csv").read_text() for d in (tmp_path / "whole",
                                                                     tmp_path / "cut")]
    assert per_user[0] == per_user[1]
    assert not (tmp_path / "cut" / "tiny" / "latest").exists()


def test_a_stop_in_a_points_last_epoch_stops_before_the_next_point(
        monkeypatch, tiny_data_dir, tmp_path):
    cls = baselines.model_class("bprmf")
    train_epoch = cls.train_epoch

    def last_epoch_signal(self, epoch):
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return train_epoch(self, epoch)

    monkeypatch.setattr(cls, "train_epoch", last_epoch_signal)
    with pytest.raises(runner.recovery.StopRequested, match="before grid point 2/3"):
        run(tiny_data_dir, tmp_path, model="bprmf", epoch=4, tstEpoch=1)
    results = json.loads((tmp_path / "tiny" / "results.json").read_text())
    assert results["status"] == "stopped" and len(results["grid"]) == 1


@pytest.mark.slow
def test_sigterm_through_run_main_exits_143_and_the_same_command_resumes(tiny_data_dir,
                                                                         tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")

    def command(out_dir):
        return [sys.executable, os.path.join(ROOT, "run", "main.py"), "--model", "bprmf",
                "--data_dir", str(tiny_data_dir), "--data", "tiny", "--out_dir", str(out_dir),
                "--epoch", "100", "--tstEpoch", "25", "--protocol", "clean"]

    whole = subprocess.run(command(tmp_path / "whole"), capture_output=True, text=True, env=env)
    assert whole.returncode == 0, whole.stderr[-2000:]
    proc = subprocess.Popen(command(tmp_path / "cut"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    for line in proc.stdout:
        if "Epoch 5/100, Train" in line:
            proc.send_signal(signal.SIGTERM)
            break
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, out[-2000:]
    assert "stopped by signal 15 after epoch" in out and "run the same command again" in out
    again = subprocess.run(command(tmp_path / "cut"), capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "Resumed grid point 1/3 after epoch" in again.stdout
    results = [json.loads((d / "tiny-bprmf" / "results.json").read_text())
               for d in (tmp_path / "whole", tmp_path / "cut")]
    assert comparable(results[0]) == comparable(results[1])


BPRMF_FLAGS = dict(model="bprmf", epoch=4, tstEpoch=1)


def stop_bprmf_in_its_second_point(monkeypatch, tiny_data_dir, out_dir):
    """Runs BPR-MF (3 points of 4 epochs) into `out_dir` until SIGTERM in point 2's epoch
    2 stops it after that epoch."""
    cls = baselines.model_class("bprmf")
    train_epoch, calls = cls.train_epoch, []

    def interrupted(self, epoch):
        calls.append(epoch)
        if len(calls) == 7:                      # point 2/3, epoch 2
            os.kill(os.getpid(), signal.SIGTERM)
        return train_epoch(self, epoch)

    monkeypatch.setattr(cls, "train_epoch", interrupted)
    with pytest.raises(runner.recovery.StopRequested):
        run(tiny_data_dir, out_dir, **BPRMF_FLAGS)
    monkeypatch.setattr(cls, "train_epoch", train_epoch)


def test_a_damaged_point_state_costs_the_point_not_the_run(monkeypatch, tiny_data_dir,
                                                           tmp_path):
    """Every checkpoint of the stopped point damaged: a warning, the point trains again
    from its first epoch, the finished point is kept, and the numbers are unchanged."""
    uninterrupted, _ = run(tiny_data_dir, tmp_path / "whole", **BPRMF_FLAGS)
    stop_bprmf_in_its_second_point(monkeypatch, tiny_data_dir, tmp_path / "cut")
    latest = tmp_path / "cut" / "tiny" / "latest"
    for path in latest.iterdir():
        if path.name.startswith("ckpt-"):
            path.write_bytes(b"damaged")
    resumed, out = run(tiny_data_dir, tmp_path / "cut", **BPRMF_FLAGS)
    assert "Resumed: 1 of 3 grid points done" in out
    assert "warning: grid point 2 starts over: no checkpoint in" in out
    assert comparable(resumed) == comparable(uninterrupted)


def test_a_lost_latest_state_json_resumes_from_the_checkpoints_alone(monkeypatch, tiny_data_dir,
                                                                      tmp_path):
    """Each checkpoint carries the point's state, as SelfGNN's do: the readable copy is
    not needed to resume."""
    uninterrupted, _ = run(tiny_data_dir, tmp_path / "whole", **BPRMF_FLAGS)
    stop_bprmf_in_its_second_point(monkeypatch, tiny_data_dir, tmp_path / "cut")
    (tmp_path / "cut" / "tiny" / "latest_state.json").unlink()
    resumed, out = run(tiny_data_dir, tmp_path / "cut", **BPRMF_FLAGS)
    assert "Resumed grid point 2/3 after epoch 2/4" in out
    assert comparable(resumed) == comparable(uninterrupted)
