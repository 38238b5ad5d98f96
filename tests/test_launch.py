"""selfgnn/launch.py: local runs with their progress lines, and the SLURM script."""
import os
import sys

import pytest

from selfgnn import launch


def test_progress_lines_by_hand():
    # fresh runs of 300, 600, 900 and 600 s: 600 s a run, 6 left at 2 a time -> 0.5 h
    assert launch.progress("a", 0, 192, 4, 10, [300, 600, 900, 600], 2) == (
        "a finished in 3.2 min; 4/10 done, 6 left, about 0.5 h more at the pace so far")
    assert launch.progress("b", 0, 600, 1, 5, [600], 2) == (
        "b finished in 10.0 min; 1/5 done, 4 left, about 0.3 h more at the pace so far")
    # no run has ended well from a fresh start: no time left is guessed
    assert launch.progress("c", 3, 60, 1, 5, [], 2) == (
        "c FAILED (exit code 3) in 1.0 min; 1/5 done, 4 left")
    assert launch.progress("d", 0, 60, 2, 5, [], 2, resumed=True) == (
        "d finished in 1.0 min (resumed); 2/5 done, 3 left")
    assert launch.progress("e", 0, 30, 5, 5, [900], 2) == "e finished in 0.5 min; 5/5 done"


def test_resumes_sees_an_earlier_attempts_state(tmp_path):
    assert not launch.resumes(str(tmp_path / "never"))
    (tmp_path / "between_points").mkdir()
    (tmp_path / "between_points" / "results.json").write_text('{"status": "stopped"}')
    (tmp_path / "mid_epoch" / "latest").mkdir(parents=True)
    assert launch.resumes(str(tmp_path / "between_points"))
    assert launch.resumes(str(tmp_path / "mid_epoch"))


@pytest.fixture
def fake_main(tmp_path, monkeypatch):
    """A stand-in for run/main.py: prints its flag file and exits with the code in it."""
    script = tmp_path / "fake_main.py"
    script.write_text("import sys\npath = sys.argv[1].split('=', 1)[1]\n"
                      "print('flag file', path)\nsys.exit(int(open(path).read()))\n")
    monkeypatch.setattr(launch, "MAIN", str(script))


def test_run_local_runs_each_flag_file_and_reports_as_runs_end(tmp_path, fake_main):
    todo = [(name, launch.write_flag_file(str(tmp_path / "flags" / f"{name}.flags"), [code]))
            for name, code in (("ok", "0"), ("bad", "3"), ("ok2", "0"))]
    lines = []
    codes = launch.run_local(todo, str(tmp_path), 2, say=lines.append)
    assert codes == {"ok": 0, "bad": 3, "ok2": 0}
    assert sorted(line.split(" (log")[0] for line in lines if line.startswith("started")) == [
        "started bad", "started ok", "started ok2"]
    ended = [line for line in lines if not line.startswith("started")]
    assert [line.split(" in ")[0] for line in sorted(ended)] == [
        "bad FAILED (exit code 3)", "ok finished", "ok2 finished"]
    assert sorted(line.split("; ")[1].split(" done")[0] for line in ended) == ["1/3", "2/3", "3/3"]
    flag_file = tmp_path / "flags" / "bad.flags"
    log = (tmp_path / "logs" / "bad.log").read_text().splitlines()
    assert log[0].startswith("== ") and log[0].endswith(f"run/main.py --flagfile={flag_file}")
    assert log[1:] == [f"flag file {flag_file}"]
    (tmp_path / "runs" / "bad" / "latest").mkdir(parents=True)  # as a stopped run leaves
    launch.run_local(todo[1:2], str(tmp_path), 1, say=lines.append)  # a second attempt
    again = (tmp_path / "logs" / "bad.log").read_text().splitlines()
    assert again[:2] == log and again[2].startswith("== ") and len(again) == 4
    assert lines[-1].startswith("bad FAILED (exit code 3) in ") and lines[-1].endswith(
        " min (resumed); 1/1 done")


def test_launch_exits_1_when_a_run_fails_and_names_it(tmp_path, fake_main, capsys):
    todo = [("bad", launch.write_flag_file(str(tmp_path / "bad.flags"), ["2"]))]
    assert launch.launch(todo, str(tmp_path), "local", 1) == 1
    out = capsys.readouterr().out
    assert "bad FAILED (exit code 2)" in out and "bad: exit code 2" in out
    assert launch.launch([], str(tmp_path), "local", 1) == 0


def test_slurm_script_has_one_task_per_flag_file(tmp_path):
    todo = [("a", "x/a.flags"), ("b", "x/b.flags")]
    text = launch.slurm_script(todo, str(tmp_path), 1, "gpu", 1, "2:00:00")
    assert "#SBATCH --array=0-1%1" in text and "#SBATCH --partition=gpu" in text
    assert f"FLAGFILES=({os.path.abspath('x/a.flags')} {os.path.abspath('x/b.flags')})" in text
    assert text.rstrip().endswith(f'{sys.executable} {launch.MAIN} '
                                  '--flagfile="${FLAGFILES[$SLURM_ARRAY_TASK_ID]}"')
    assert os.path.isdir(tmp_path / "logs")


def test_runs_folder_is_absolute_under_the_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert launch.runs_folder("rel") == str(tmp_path / "rel" / "runs")
    assert launch.runs_folder(str(tmp_path / "abs")) == str(tmp_path / "abs" / "runs")
