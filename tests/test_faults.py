"""Fault injection through `python run/main.py` in subprocesses, on the tiny data set.

Each case damages a private copy of one finished deterministic run (or of the data)
the way a week-long sweep does: requeues, resubmissions with other flags, moved
folders, damaged files, a full disk, absurd or non-finite flags. The outcome asserted
is the README's *Failure behaviour*: one `error:` line and a documented exit code, or
a recovery that loses nothing (checked against an uninterrupted run).
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # every case runs run/main.py in subprocesses

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "run", "main.py")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)


def main(data_dir, out_dir, *extra, epoch=1, cwd=None, file_limit=None, wait=True):
    """`python run/main.py --data tiny ... EXTRA`: (exit code, stdout, stderr)."""
    args = [sys.executable, MAIN, "--data", "tiny", "--data_dir", str(data_dir), "--out_dir",
            str(out_dir), "--epoch", str(epoch), "--tstEpoch", "1", "--deterministic", *extra]
    limit = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
             ) if file_limit else None
    proc = subprocess.Popen(args, cwd=cwd or ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def one_error(err):
    """The single `error:` line of stderr (and no traceback)."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def epochs(run_dir):
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    return [(e["epoch"], e["train"]["Loss"], e["test"]) for e in results["epochs"]], results


@pytest.fixture(scope="module")
def finished(tiny_data_dir, tmp_path_factory):
    """A finished one-epoch run of the tiny preset: <root>/tiny."""
    root = tmp_path_factory.mktemp("finished")
    code, out, err = main(tiny_data_dir, root)
    assert code == 0, err
    return root


@pytest.fixture(scope="module")
def two_epochs_dir(tiny_data_dir, tmp_path_factory):
    """The uninterrupted two-epoch run that every extension or recovery must equal."""
    root = tmp_path_factory.mktemp("two")
    code, _, err = main(tiny_data_dir, root, epoch=2)
    assert code == 0, err
    return root


@pytest.fixture(scope="module")
def two_epochs(two_epochs_dir):
    """Its epochs: (epoch, training loss, test metrics)."""
    return epochs(os.path.join(two_epochs_dir, "tiny"))[0]


@pytest.fixture()
def run(finished, tmp_path):
    """A private copy of the finished run: (out_dir, run folder)."""
    shutil.copytree(finished, tmp_path / "runs")
    return tmp_path / "runs", tmp_path / "runs" / "tiny"


def files(folder):
    return {os.path.relpath(os.path.join(d, f), folder): os.path.getmtime(os.path.join(d, f))
            for d, _, names in os.walk(folder) for f in names if f != "log.txt"}


def test_a_finished_run_is_not_redone_by_its_command(tiny_data_dir, run):
    out_dir, run_dir = run
    before = files(run_dir)
    code, out, err = main(tiny_data_dir, out_dir)
    assert code == 0 and "holds this run, finished (epoch 0: HR" in out
    assert files(run_dir) == before


@pytest.mark.parametrize("flags,differs", [
    (["--lr", "0.02"], "--lr 0.01 (this command: 0.02)"),
    (["--latdim", "32"], "--latdim 16 (this command: 32)"),  # not a raw shape message
    (["--hard_k", "3", "--save_path", "tiny"],
     "--model 'selfgnn' (this command: 'hardgnn') and 1 more (--hard_k 5 (this command: 3))"),
])
def test_another_configuration_in_the_folder_is_refused(tiny_data_dir, run, flags, differs):
    out_dir, run_dir = run
    before = files(run_dir)
    code, _, err = main(tiny_data_dir, out_dir, *flags)
    assert code == 2
    assert one_error(err) == (f"error: {run_dir} holds a run with {differs}; pass another "
                              f"--save_path for this configuration, or --noresume to start "
                              f"that folder over")
    assert files(run_dir) == before


def test_noresume_starts_the_folder_over(tiny_data_dir, run):
    out_dir, run_dir = run
    code, out, err = main(tiny_data_dir, out_dir, "--lr", "0.02", "--noresume")
    assert code == 0, err
    assert epochs(run_dir)[1]["flags"]["lr"] == 0.02
    with open(run_dir / "config.json") as f:
        assert json.load(f)["config"]["lr"] == 0.02


def test_hardgnn_and_selfgnn_presets_do_not_share_a_folder(tiny_data_dir, run):
    out_dir, _ = run
    code, out, err = main(tiny_data_dir, out_dir, "--model", "hardgnn", "--hard_k", "3")
    assert code == 0, err
    assert os.path.isfile(out_dir / "tiny-hardgnn" / "results.json")


def test_a_second_process_on_the_folder_is_refused(tiny_data_dir, tmp_path):
    # The first run is far too long to end on its own while the second one starts (3
    # tiny epochs once did, on an idle machine); it is stopped by SIGTERM afterwards.
    first = main(tiny_data_dir, tmp_path, epoch=10000, wait=False)
    lock_taken = tmp_path / "tiny" / "config.json"
    deadline = time.time() + 120
    while not lock_taken.exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    code, _, err = main(tiny_data_dir, tmp_path, epoch=3)
    assert first.poll() is None, "the first run ended before the second one was refused"
    assert code == 2
    assert re.search(r"is being written by another process \(pid \d+\); wait for it",
                     one_error(err))
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=300)
    assert first.returncode == 128 + signal.SIGTERM


def test_lost_json_files_resume_from_latest(tiny_data_dir, run, two_epochs):
    out_dir, run_dir = run
    for name in ("results.json", "latest_state.json"):
        os.remove(run_dir / name)
    code, out, err = main(tiny_data_dir, out_dir, epoch=2)
    assert code == 0, err
    assert re.search(r"Resumed from \S+ckpt-\d+: epoch 1\n", out)
    assert epochs(run_dir)[0] == two_epochs


def test_a_moved_folder_resumes_from_another_working_directory(tiny_data_dir, run, two_epochs,
                                                               tmp_path):
    _, run_dir = run
    shutil.move(str(run_dir), str(tmp_path / "elsewhere" / "tiny"))
    os.makedirs(tmp_path / "cwd")
    code, out, err = main(tiny_data_dir, "../elsewhere", epoch=2, cwd=tmp_path / "cwd")
    assert code == 0, err
    assert epochs(tmp_path / "elsewhere" / "tiny")[0] == two_epochs


@pytest.mark.parametrize("damage", ["truncate_data", "delete_index"])
def test_a_damaged_latest_checkpoint_falls_back_to_the_older_one(tiny_data_dir, tmp_path,
                                                                 two_epochs_dir, two_epochs,
                                                                 damage):
    shutil.copytree(two_epochs_dir, tmp_path / "runs")  # latest/ holds epochs 0 and 1
    run_dir = tmp_path / "runs" / "tiny"
    os.remove(run_dir / "results.json")  # as if killed after epoch 1's checkpoint
    newest = sorted(p for p in os.listdir(run_dir / "latest") if p.endswith(".index"))[-1]
    prefix = run_dir / "latest" / newest[:-len(".index")]
    if damage == "truncate_data":
        os.truncate(f"{prefix}.data-00000-of-00001", 100)
    else:
        os.remove(f"{prefix}.index")
    code, out, err = main(tiny_data_dir, tmp_path / "runs", epoch=2)
    assert code == 0, err
    assert f"warning: latest/{prefix.name} (" in out and "is damaged; resuming from the older" in out
    assert epochs(run_dir)[0] == two_epochs


def test_damaged_json_files_resume_with_a_warning_naming_them(tiny_data_dir, run, two_epochs):
    out_dir, run_dir = run
    for name in ("results.json", "latest_state.json"):
        os.truncate(run_dir / name, 100)
    code, out, err = main(tiny_data_dir, out_dir, epoch=2)
    assert code == 0, err
    assert "results.json: cannot be read (" in err + out
    assert epochs(run_dir)[0] == two_epochs


def test_a_full_disk_fails_cleanly_and_the_rerun_loses_nothing(tiny_data_dir, run, two_epochs):
    out_dir, run_dir = run
    code, out, err = main(tiny_data_dir, out_dir, epoch=2, file_limit=100_000)  # ckpts: 200 KB
    assert code == 3
    assert re.match(r"error: cannot write \S+ \(.*\); free space there or pass another "
                    r"--out_dir, then run the same command again", one_error(err))
    with open(run_dir / "results.json") as f:
        results = json.load(f)
    assert results["status"] == "failed" and "cannot write" in results["error"]
    leftovers = [p for p in files(run_dir) if ".tmp" in p or "_temp" in p]
    assert leftovers == []
    code, out, err = main(tiny_data_dir, out_dir, epoch=2)
    assert code == 0, err
    assert epochs(run_dir)[0] == two_epochs


def test_non_finite_stop_names_the_knobs_and_no_missing_path(tiny_data_dir, tmp_path):
    code, _, err = main(tiny_data_dir, tmp_path, "--lr", "1e30")
    assert code == 1
    line = one_error(err)
    assert "no epoch had finished, so no state was saved" in line
    assert "lower --lr (now 1e+30)" in line and "--nan_policy skip_batch" in line


def test_skip_batch_beyond_max_skipped_fails_with_strict_json(tiny_data_dir, tmp_path):
    code, out, err = main(tiny_data_dir, tmp_path, "--lr", "1e30", "--nan_policy", "skip_batch",
                          epoch=2)
    assert code == 1
    assert re.search(r"warning: skipped \d+ of \d+ steps of epoch 0", out)
    assert re.search(r"error: skipped \d+ of \d+ steps \(\d+%\), more than --max_skipped 0.1",
                     one_error(err))

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    with open(tmp_path / "tiny" / "results.json") as f:
        results = json.loads(f.read(), parse_constant=no_constants)
    assert results["status"] == "failed"


@pytest.mark.parametrize("flags,message", [  # non-finite floats, --save_path ..: test_params
    (["--batch", "100000000", "--trnNum", "1000000000"], "lower --batch"),
    (["--load_model", "nothing"], "--load_model nothing: no saved model"),
])
def test_bad_sizes_and_failed_loads_are_one_error_and_write_nothing(tiny_data_dir, tmp_path, flags, message):
    code, _, err = main(tiny_data_dir, tmp_path / "runs", *flags)
    assert code == 2 and message in one_error(err)
    assert not os.path.exists(tmp_path / "runs")


def test_a_garbage_tf1_checkpoint_is_one_error_and_writes_nothing(tiny_data_dir, tmp_path):
    garbage = tmp_path / "model"
    for suffix in (".index", ".data-00000-of-00001"):
        with open(f"{garbage}{suffix}", "wb") as f:
            f.write(b"garbage" * 10)
    code, _, err = main(tiny_data_dir, tmp_path / "runs", "--load_tf1_checkpoint", str(garbage))
    assert code == 2
    assert one_error(err).startswith(f"error: {garbage}: not a readable TF checkpoint (")
    assert not os.path.exists(tmp_path / "runs")
