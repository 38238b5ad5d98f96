"""run/archive.py: the record of finished runs, copied as a user runs it."""
import io
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

import baselines
from baselines import runner
from selfgnn import launch, logs, main_flags
from tests import scripts

archive = scripts.load("run/archive.py", "archive_script")


def make_run(root, name, status, per_user="user,rank\n0,3\n"):
    """A run folder with results.json of `status`, per_user.csv, log.txt and what a run
    also writes (a checkpoint folder, events), as the trainer leaves it."""
    folder = root / name
    (folder / "latest").mkdir(parents=True)
    (folder / "latest" / "ckpt-1.index").write_bytes(b"\0" * 64)
    (folder / "results.json").write_text(json.dumps({"status": status, "best": {"HR10": 0.5}}))
    if per_user is not None:
        (folder / "per_user.csv").write_text(per_user)
    (folder / "log.txt").write_text("Start\n")
    (folder / "config.json").write_text("{}")
    return folder


def test_copies_the_record_of_finished_runs_only(tmp_path, capsys):
    runs, dest = tmp_path / "runs", tmp_path / "dest"
    make_run(runs, "a-seed100", "finished")
    make_run(runs, "b-seed100", "running")
    make_run(runs, "c-seed100", "finished", per_user=None)
    assert archive.main([str(runs), str(dest)]) == 0
    assert sorted(os.listdir(dest)) == ["a-seed100", "c-seed100"]
    assert sorted(os.listdir(dest / "a-seed100")) == ["log.txt", "per_user.csv", "results.json"]
    assert sorted(os.listdir(dest / "c-seed100")) == ["log.txt", "results.json"]
    assert (dest / "a-seed100" / "per_user.csv").read_text() == "user,rank\n0,3\n"
    out = capsys.readouterr().out
    assert "b-seed100: unfinished, left out" in out
    assert "a-seed100: archived (results.json, per_user.csv, log.txt)" in out
    assert "2 archived, 1 unfinished, left out" in out


def test_second_pass_changes_nothing_and_a_differing_run_is_refused(tmp_path, capsys):
    runs, dest = tmp_path / "runs", tmp_path / "dest"
    make_run(runs, "a-seed100", "finished")
    assert archive.main([str(runs), str(dest)]) == 0
    assert archive.main([str(runs), str(dest)]) == 0
    assert "a-seed100: already archived" in capsys.readouterr().out
    (runs / "a-seed100" / "per_user.csv").write_text("user,rank\n0,4\n")
    assert archive.main([str(runs), str(dest)]) == 2
    assert "holds a-seed100 with different files" in capsys.readouterr().err
    assert (dest / "a-seed100" / "per_user.csv").read_text() == "user,rank\n0,3\n"
    assert archive.main([str(runs), str(dest), "--replace"]) == 0
    assert (dest / "a-seed100" / "per_user.csv").read_text() == "user,rank\n0,4\n"
    assert "a-seed100: replaced" in capsys.readouterr().out


def test_replace_drops_a_record_file_the_run_no_longer_has(tmp_path):
    runs, dest = tmp_path / "runs", tmp_path / "dest"
    make_run(runs, "a-seed100", "finished")
    assert archive.main([str(runs), str(dest)]) == 0
    os.remove(runs / "a-seed100" / "per_user.csv")
    assert archive.main([str(runs), str(dest), "--replace"]) == 0
    assert sorted(os.listdir(dest / "a-seed100")) == ["log.txt", "results.json"]


def test_archived_runs_are_finished_runs_for_compare(tmp_path):
    """Copied back into a runs folder, a record counts as finished: compare.py skips it."""
    runs, dest = tmp_path / "runs", tmp_path / "dest"
    make_run(runs, "a-seed100", "finished")
    archive.main([str(runs), str(dest)])
    assert launch.unfinished([("a-seed100", "f"), ("b-seed100", "g")], str(dest)) == [
        ("b-seed100", "g")]


def test_command_line_errors(tmp_path):
    env = dict(os.environ, PYTHONPATH=scripts.ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    path = os.path.join(scripts.ROOT, "run", "archive.py")

    def cli(*args):
        return subprocess.run([sys.executable, path, *map(str, args)], capture_output=True,
                              text=True, env=env, timeout=120)

    one = cli(tmp_path)
    assert one.returncode == 2 and "expected two folders (RUNS DEST), got 1" in one.stderr
    missing = cli(tmp_path / "nope", tmp_path / "dest")
    assert missing.returncode == 2 and "nope: not a folder" in missing.stderr
    empty = cli(tmp_path, tmp_path / "dest")
    assert empty.returncode == 2 and "no results.json under" in empty.stderr
    assert not (tmp_path / "dest").exists()


def test_kept_grid_points_resume_to_the_uninterrupted_numbers(monkeypatch, tiny_data_dir,
                                                               tmp_path):
    """A BPR-MF run stopped in its second grid point: its first point, kept with
    --unfinished and copied into an empty folder, makes the same command train only the
    points left and end with the uninterrupted run's numbers."""
    def run(out_dir):
        p = main_flags.preset_params("tiny", data_dir=str(tiny_data_dir), out_dir=str(out_dir),
                                      model="bprmf", epoch=2, tstEpoch=1, protocol="clean")
        return runner.run(p, logger=logs.Logger(io.StringIO()))

    whole = run(tmp_path / "whole")
    cls = baselines.model_class("bprmf")
    train_epoch, calls = cls.train_epoch, []

    def stop_in_the_second_point(self, epoch):
        calls.append(epoch)
        if len(calls) == 3:  # point 2, epoch 0
            os.kill(os.getpid(), signal.SIGTERM)
        return train_epoch(self, epoch)

    monkeypatch.setattr(cls, "train_epoch", stop_in_the_second_point)
    with pytest.raises(runner.recovery.StopRequested, match="grid point 2/3"):
        run(tmp_path / "stopped")
    monkeypatch.setattr(cls, "train_epoch", train_epoch)
    kept = tmp_path / "kept"
    assert archive.main([str(tmp_path / "stopped"), str(tmp_path / "dest"),
                         "--unfinished", str(kept)]) == 0
    assert sorted(os.listdir(kept / "tiny")) == ["config.json", "grid", "log.txt",
                                                 "results.json"]
    assert os.listdir(kept / "tiny" / "grid") == ["point0_ranks.npy"]
    assert not (tmp_path / "dest").exists()
    shutil.copytree(kept / "tiny", tmp_path / "again" / "tiny")
    again = run(tmp_path / "again")
    assert again["status"] == "finished"
    for key in ("best", "chosen", "final_test"):
        assert again[key] == whole[key], key
    for a, b in zip(again["grid"], whole["grid"]):
        for ea, eb in zip(a["epochs"], b["epochs"]):
            assert (ea["train"], ea["valid"], ea["test"]) == (eb["train"], eb["valid"], eb["test"])
    assert ((tmp_path / "again" / "tiny" / "per_user.csv").read_text()
            == (tmp_path / "whole" / "tiny" / "per_user.csv").read_text())
    assert "Resumed: 1 of 3 grid points done" in (tmp_path / "again" / "tiny" / "log.txt").read_text()
    assert archive.main([str(tmp_path / "again"), str(tmp_path / "dest"),
                         "--unfinished", str(kept)]) == 0
    assert not (kept / "tiny").exists() and (tmp_path / "dest" / "tiny" / "per_user.csv").exists()
