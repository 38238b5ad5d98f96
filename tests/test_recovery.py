"""Crash safety: kill and resume, graceful stop, the non-finite guard."""
import io
import json
import math
import os
import re
import resource
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from data_prep import synthetic
from selfgnn import recovery
from tests.tiny_trainer import tiny_trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_write_json_atomic_replaces_whole_files(tmp_path):
    path = str(tmp_path / "r.json")
    recovery.write_json_atomic(path, {"a": 1})
    recovery.write_json_atomic(path, {"b": [1, 2]})
    assert json.loads(open(path).read()) == {"b": [1, 2]}
    assert os.listdir(tmp_path) == ["r.json"]


def test_latest_state_round_trip(tmp_path):
    var = tf.Variable([1.0, 2.0])
    state = recovery.LatestState(str(tmp_path), v=var)
    assert state.load() is None
    first = state.save({"epoch_done": 0}, step=3)
    var.assign([5.0, 6.0])
    second = state.save({"epoch_done": 1, "loss": float("nan")}, step=6)
    var.assign([0.0, 0.0])
    loaded = state.load()
    assert loaded["epoch_done"] == 1 and loaded["checkpoint"] == second != first
    assert math.isnan(loaded["loss"])  # the checkpoint's copy is exact; the JSON file is strict
    assert second.endswith("ckpt-6")
    np.testing.assert_array_equal(var.numpy(), [5.0, 6.0])
    assert state.prefixes() == [second, first]  # the previous one is kept for a damaged newest
    with open(state.path) as f:
        readable = json.load(f)
    assert readable == {"epoch_done": 1, "loss": None, "checkpoint": os.path.join("latest",
                                                                                  "ckpt-6")}


def saved_twice(run_dir):
    var = tf.Variable([1.0, 2.0])
    state = recovery.LatestState(run_dir, v=var)
    state.save({"epoch_done": 0}, step=3)
    var.assign([5.0, 6.0])
    state.save({"epoch_done": 1}, step=6)
    var.assign([0.0, 0.0])
    return var


def test_the_state_needs_neither_json_file_and_survives_a_move(tmp_path):
    saved_twice(str(tmp_path / "a"))
    os.remove(tmp_path / "a" / "latest_state.json")
    os.rename(tmp_path / "a", tmp_path / "b")
    var = tf.Variable([0.0, 0.0])
    loaded = recovery.LatestState(str(tmp_path / "b"), v=var).load()
    assert loaded["epoch_done"] == 1 and loaded["checkpoint"] == str(tmp_path / "b" / "latest"
                                                                    / "ckpt-6")
    np.testing.assert_array_equal(var.numpy(), [5.0, 6.0])


@pytest.mark.parametrize("damage", ["truncate_data", "delete_index", "garbage_index"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_older_one(tmp_path, damage):
    run_dir = str(tmp_path)
    saved_twice(run_dir)
    newest = tmp_path / "latest" / "ckpt-6"
    data, index = f"{newest}.data-00000-of-00001", f"{newest}.index"
    if damage == "truncate_data":
        os.truncate(data, 10)
    elif damage == "delete_index":
        os.remove(index)
    else:
        with open(index, "wb") as f:
            f.write(b"not an index")
    warnings, var = [], tf.Variable([0.0, 0.0])
    loaded = recovery.LatestState(run_dir, warn=warnings.append, v=var).load()
    assert loaded["epoch_done"] == 0
    np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])
    assert len(warnings) == 1 and warnings[0].startswith(
        f"warning: {os.path.join('latest', 'ckpt-6')} (")
    assert warnings[0].endswith(f"is damaged; resuming from the older "
                                f"{os.path.join('latest', 'ckpt-3')}")


def test_a_checkpoint_from_before_the_state_moved_in_resumes_with_its_json(tmp_path):
    """Runs started by an earlier version (state only in latest_state.json) resume."""
    var = tf.Variable([1.0, 2.0])
    old = tf.train.CheckpointManager(tf.train.Checkpoint(v=var), str(tmp_path / "latest"), 2)
    path = old.save(checkpoint_number=4)
    with open(tmp_path / "latest_state.json", "w") as f:
        json.dump({"epoch_done": 3, "checkpoint": path}, f)
    var.assign([0.0, 0.0])
    loaded = recovery.LatestState(str(tmp_path), v=var).load()
    assert loaded["epoch_done"] == 3
    np.testing.assert_array_equal(var.numpy(), [1.0, 2.0])
    with open(tmp_path / "latest_state.json", "w") as f:
        json.dump({"epoch_done": 9, "checkpoint": "elsewhere/ckpt-9"}, f)
    with pytest.raises(recovery.StateError, match="latest_state.json names elsewhere/ckpt-9"):
        recovery.LatestState(str(tmp_path), v=var).load()


def test_no_intact_checkpoint_is_one_clear_error(tmp_path):
    saved_twice(str(tmp_path))
    for name in os.listdir(tmp_path / "latest"):
        if name.endswith(".index"):
            os.remove(tmp_path / "latest" / name)
    with pytest.raises(recovery.StateError, match=r"no checkpoint in .*latest restores: "
                                                  r".*ckpt-6 .*ckpt-3 .*--noresume"):
        recovery.LatestState(str(tmp_path), v=tf.Variable([0.0, 0.0])).load()


def test_a_failed_write_is_one_error_and_leaves_the_old_file(tmp_path):
    path = str(tmp_path / "r.json")
    recovery.write_json_atomic(path, {"a": 1})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, hard))  # as a full disk: writes fail
    try:
        with pytest.raises(recovery.WriteError, match=r"cannot write .*r\.json \(File "
                                                      r"too large\); free space there"):
            recovery.write_json_atomic(path, {"a": "x" * 1000})
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    with pytest.raises(TypeError):
        recovery.write_json_atomic(path, {"a": object()})  # fails inside the dump
    assert os.listdir(tmp_path) == ["r.json"]
    assert json.loads(open(path).read()) == {"a": 1}


@pytest.mark.parametrize("error, status", [
    (recovery.StopRequested("stopped by signal 15", signal.SIGTERM), "stopped"),
    (recovery.NonFiniteError("NaN in preLoss"), "failed"),
    (recovery.WriteError("cannot write x"), "failed")])
def test_an_early_end_is_recorded_written_logged_and_raised(tmp_path, error, status):
    path, lines = str(tmp_path / "results.json"), []
    results = {"status": "running", "epochs": [1]}
    with pytest.raises(type(error)) as raised:
        with recovery.ending_recorded(results, path, lines.append):
            raise error
    assert raised.value is error
    want = {"status": status, "epochs": [1], "error": str(error)}
    assert results == want and json.loads(open(path).read()) == want
    assert lines == [str(error)]


def test_an_early_end_keeps_its_own_error_when_the_record_cannot_be_written(tmp_path):
    lines = []
    with pytest.raises(recovery.StopRequested):  # not the FileNotFoundError of the write
        with recovery.ending_recorded({}, str(tmp_path / "gone" / "results.json"), lines.append):
            raise recovery.StopRequested("stopped", signal.SIGINT)
    assert lines == [] and not os.path.exists(tmp_path / "gone")


def test_other_errors_pass_through_unrecorded(tmp_path):
    results, path = {"status": "running"}, str(tmp_path / "results.json")
    with pytest.raises(KeyError):
        with recovery.ending_recorded(results, path, print):
            raise KeyError("a bug")
    assert results == {"status": "running"} and not os.path.exists(path)


def test_results_are_strict_json():
    assert recovery.strict({"a": [1.0, float("nan")], "b": {"c": float("inf")}, "d": "x"}) == {
        "a": [1.0, None], "b": {"c": None}, "d": "x"}


def test_stop_signal_catches_sigterm_and_restores_the_handler():
    before = signal.getsignal(signal.SIGTERM)
    with recovery.StopSignal() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        assert stop.received == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.fixture(scope="module")
def slow_data(tmp_path_factory):
    """The `small` synthetic set under the name `tiny` (tiny preset: 32 steps per epoch)."""
    root = tmp_path_factory.mktemp("slow")
    synthetic.write(synthetic.generate(synthetic.PRESETS["small"]), str(root / "tiny"))
    return root


ARGS = ["--data", "tiny", "--epoch", "4", "--tstEpoch", "1", "--deterministic"]


def start(data_dir, out_dir):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "run", "main.py"), *ARGS,
                             "--data_dir", str(data_dir), "--out_dir", str(out_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def wait_for(proc, text):
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if text in line:
            return lines
    raise AssertionError(f"{text!r} never printed:\n{''.join(lines)[-3000:]}")


def comparable(results):
    return ([{k: v for k, v in e.items() if k != "seconds"} for e in results["epochs"]],
            results["final_test"], results["best"])


def finish(data_dir, out_dir):
    proc = start(data_dir, out_dir)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    with open(os.path.join(out_dir, "tiny", "results.json")) as f:
        return out, json.load(f)


@pytest.fixture(scope="module")
def uninterrupted(slow_data, tmp_path_factory):
    return finish(slow_data, tmp_path_factory.mktemp("whole"))[1]


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(slow_data, uninterrupted,
                                                                   tmp_path):
    proc = start(slow_data, tmp_path)
    wait_for(proc, "Epoch 1/4, Test")
    time.sleep(0.3)  # inside epoch 2
    proc.kill()
    proc.wait()
    with open(tmp_path / "tiny" / "results.json") as f:
        assert json.load(f)["status"] == "running"
    out, resumed = finish(slow_data, tmp_path)
    assert "Resumed from" in out
    assert comparable(resumed) == comparable(uninterrupted)


@pytest.mark.slow
def test_sigterm_stops_after_the_step_and_resumes_mid_epoch(slow_data, uninterrupted, tmp_path):
    proc = start(slow_data, tmp_path)
    wait_for(proc, "Epoch 0/4, Test")
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, out[-3000:]
    assert "run the same command again to resume" in out
    with open(tmp_path / "tiny" / "latest_state.json") as f:
        state = json.load(f)
    with open(tmp_path / "tiny" / "results.json") as f:
        assert json.load(f)["status"] == "stopped"
    out, resumed = finish(slow_data, tmp_path)
    if state["mid_epoch"]:
        assert f"step {state['mid_epoch']['step']}" in out
    assert comparable(resumed) == comparable(uninterrupted)


@pytest.mark.slow
def test_non_finite_loss_stops_and_keeps_the_last_good_state(tiny_data_dir, tmp_path):
    t = tiny_trainer(tiny_data_dir, tmp_path, lr=1e30, epoch=3, tstEpoch=1)
    with pytest.raises(recovery.NonFiniteError, match=r"non-finite .* at epoch \d+, step \d+"):
        t.run()
    with open(tmp_path / "tiny" / "results.json") as f:
        results = json.load(f)
    assert results["status"] == "failed" and "non-finite" in results["error"]
    # lr 1e30 makes the first update huge (finite) and the next loss overflow: that
    # step's update is not applied, so every weight is still finite.
    assert all(np.all(np.isfinite(v.numpy())) for _, v in t.model.tf1_variables())


@pytest.mark.slow
def test_skip_batch_policy_keeps_training_and_warns(tiny_data_dir, tmp_path):
    out = io.StringIO()
    results = tiny_trainer(tiny_data_dir, tmp_path, out=out, lr=1e30, epoch=2, tstEpoch=1,
                           nan_policy="skip_batch", max_skipped=1.0).run()
    assert results["status"] == "finished"
    skipped = [e["train"].get("skipped_steps", 0) for e in results["epochs"]]
    assert sum(skipped) > 0
    warned = [int(m.group(1)) for m in re.finditer(r"warning: skipped (\d+) of \d+ steps of "
                                                   r"epoch \d+", out.getvalue())]
    assert warned == [n for n in skipped if n]


@pytest.mark.slow
def test_a_finished_run_is_kept_and_noresume_starts_it_over(tiny_data_dir, tmp_path):
    first = tiny_trainer(tiny_data_dir, tmp_path, epoch=1, tstEpoch=1).run()
    again = tiny_trainer(tiny_data_dir, tmp_path, epoch=1, tstEpoch=1)
    kept = again.run()
    assert kept["best"] == first["best"] and kept["status"] == "finished"
    assert int(again.optimizer.step.numpy()) == 0  # not trained again
    over = tiny_trainer(tiny_data_dir, tmp_path, epoch=1, tstEpoch=1, resume=False)
    over._save_latest = lambda *args, **kwargs: None  # as if killed before its first save
    results = over.run()
    assert not os.path.exists(tmp_path / "tiny" / "latest_state.json")
    assert not os.path.exists(tmp_path / "tiny" / "latest")  # nothing left to resume wrongly
    assert [e["epoch"] for e in results["epochs"]] == [0]


@pytest.mark.slow
def test_a_non_finite_logged_term_also_blocks_the_update(tiny_data_dir, tmp_path):
    """The error says the update was not applied: true even when only a logged term is bad."""
    from selfgnn.model import SelfGNN

    class ProbeModel(SelfGNN):
        def loss_terms(self, outputs, batch):
            return dict(super().loss_terms(outputs, batch), probe=tf.constant(np.inf))

    t = tiny_trainer(tiny_data_dir, tmp_path, ProbeModel, epoch=1)
    before = {n: v.numpy().copy() for n, v in t.model.tf1_variables()}
    with pytest.raises(recovery.NonFiniteError, match="non-finite probe at epoch 0, step 0"):
        t.run()
    for name, var in t.model.tf1_variables():
        np.testing.assert_array_equal(var.numpy(), before[name], err_msg=name)
    assert int(t.optimizer.step.numpy()) == 0


def test_results_files_finds_every_run_in_sorted_folder_order(tmp_path):
    for folder in ("b", "a/x", "a", "c/best"):
        os.makedirs(tmp_path / folder, exist_ok=True)
    for folder in ("b", "a/x", "a"):
        (tmp_path / folder / "results.json").write_text("{}")
    assert recovery.results_files(str(tmp_path)) == [
        str(tmp_path / "a" / "results.json"), str(tmp_path / "a" / "x" / "results.json"),
        str(tmp_path / "b" / "results.json")]
    assert recovery.results_files(str(tmp_path / "c")) == []


def test_remove_latest_removes_the_state_and_tolerates_its_absence(tmp_path):
    (tmp_path / "latest").mkdir()
    (tmp_path / "latest" / "ckpt-1.index").write_bytes(b"x")
    (tmp_path / "latest_state.json").write_text("{}")
    (tmp_path / "results.json").write_text("{}")
    recovery.remove_latest(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
    recovery.remove_latest(str(tmp_path))
