"""run/archive.py: the record of finished runs, copied as a user runs it."""
import json
import os
import subprocess
import sys

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
    from selfgnn import launch
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
