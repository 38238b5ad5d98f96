"""One configuration and one process per run folder: inspect, claim, commit, release."""
import json
import os

import pytest

from selfgnn import main_flags, recovery, run_folder


def make(**overrides):
    return main_flags.preset_params("tiny", **overrides)


def write_run(run_dir, p, status="finished", epoch=None):
    os.makedirs(run_dir, exist_ok=True)
    flags = {name: getattr(p, name) for name, *_ in p.specs}
    if epoch is not None:
        flags["epoch"] = epoch
    recovery.write_json_atomic(os.path.join(run_dir, "results.json"), {
        "flags": flags, "status": status, "best": {"HR": 0.5, "NDCG": 0.25, "epoch": 2}})


def test_config_leaves_out_what_may_change_and_fingerprints_it():
    p = make()
    config = run_folder.config_of(p)
    assert "lr" in config and "hard_k" in config
    for name in run_folder.MAY_CHANGE + ("epoch",):
        assert name not in config
    assert "epoch" in run_folder.config_of(make(model="bprmf"))  # a baseline cannot be extended
    assert run_folder.fingerprint(config) == run_folder.fingerprint(dict(reversed(config.items())))
    assert run_folder.fingerprint(config) != run_folder.fingerprint(run_folder.config_of(
        make(lr=0.5)))


def test_inspect_new_resume_finished_start_over(tmp_path):
    run_dir = str(tmp_path / "r")
    p = make(epoch=3)
    assert run_folder.inspect(run_dir, p) == "new"
    os.makedirs(run_dir)
    open(os.path.join(run_dir, "log.txt"), "w").close()
    assert run_folder.inspect(run_dir, p) == "new"  # a log alone is not a run
    write_run(run_dir, p, status="running")
    assert run_folder.inspect(run_dir, p) == "resume"
    write_run(run_dir, p, status="finished")
    assert run_folder.inspect(run_dir, p) == "finished"
    assert run_folder.inspect(run_dir, p.replace(epoch=2)) == "finished"
    assert run_folder.inspect(run_dir, p.replace(epoch=5)) == "resume"  # extended
    assert run_folder.inspect(run_dir, p.replace(resume=False)) == "start_over"
    assert run_folder.inspect(run_dir, p.replace(nan_policy="skip_batch", uid=-1)) == "finished"


def test_another_configuration_is_refused_naming_both_values(tmp_path):
    run_dir = str(tmp_path / "r")
    write_run(run_dir, make(), status="running")
    with pytest.raises(run_folder.FolderConflict) as e:
        run_folder.inspect(run_dir, make(lr=0.002))
    assert str(e.value) == (f"{run_dir} holds a run with --lr 0.01 (this command: 0.002); pass "
                            f"another --save_path for this configuration, or --noresume to "
                            f"start that folder over")
    with pytest.raises(run_folder.FolderConflict, match=r"--model 'selfgnn' \(this command: "
                                                        r"'hardgnn'\) and 2 more"):
        run_folder.inspect(run_dir, make(model="hardgnn", lr=0.002, latdim=8))
    assert run_folder.inspect(run_dir, make(lr=0.002, resume=False)) == "start_over"


def test_config_json_wins_and_a_damaged_one_is_named(tmp_path):
    run_dir = str(tmp_path / "r")
    write_run(run_dir, make(lr=0.5), status="running")
    with run_folder.claim(run_dir, make()) as c:
        c.commit(start_over=False)
    assert run_folder.inspect(run_dir, make()) == "resume"  # config.json says lr 0.01
    with open(os.path.join(run_dir, run_folder.CONFIG), "w") as f:
        f.write('{"config": {"lr"')
    warnings = []
    with pytest.raises(run_folder.FolderConflict, match="--lr 0.5"):
        run_folder.inspect(run_dir, make(), warn=warnings.append)
    assert "config.json: cannot be read" in warnings[0]


def test_a_damaged_results_file_resumes_with_a_warning(tmp_path):
    run_dir = str(tmp_path / "r")
    os.makedirs(run_dir)
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        f.write('{"status": "runn')
    warnings = []
    assert run_folder.inspect(run_dir, make(), warn=warnings.append) == "resume"
    assert "results.json: cannot be read" in warnings[-1] and "latest checkpoint" in warnings[-1]
    assert recovery.run_status(run_dir) == "unreadable"


def test_finished_message_names_the_results(tmp_path):
    run_dir = str(tmp_path / "r")
    write_run(run_dir, make())
    assert run_folder.finished_message(run_dir) == (
        f"{run_dir} holds this run, finished (epoch 2: HR 0.5000, NDCG 0.2500); its results "
        f"are in {run_dir}/results.json. Pass --noresume to run it again")


def test_claim_excludes_a_second_holder_and_names_its_pid(tmp_path):
    run_dir = str(tmp_path / "r")
    with run_folder.claim(run_dir, make()) as c:
        c.commit(start_over=False)
        with pytest.raises(run_folder.FolderConflict,
                           match=rf"being written by another process \(pid {os.getpid()}\)"):
            with run_folder.claim(run_dir, make()):
                pass
        assert os.path.exists(os.path.join(run_dir, run_folder.LOCK))
    with run_folder.claim(run_dir, make()):  # released on exit
        pass


def test_release_before_commit_removes_what_the_claim_made(tmp_path):
    run_dir = str(tmp_path / "a" / "b")
    with pytest.raises(RuntimeError):
        with run_folder.claim(run_dir, make()):
            raise RuntimeError("the model failed to load")
    assert os.listdir(tmp_path) == []


def test_commit_writes_the_config_and_start_over_removes_a_previous_run(tmp_path):
    run_dir = str(tmp_path / "r")
    write_run(run_dir, make(lr=0.5))
    for name in ("best", "latest", "tensorboard"):
        os.makedirs(os.path.join(run_dir, name))
    for name in ("per_user.csv", "history.his", "log.txt", "notes.txt"):
        open(os.path.join(run_dir, name), "w").close()
    with run_folder.claim(run_dir, make(resume=False)) as c:
        c.commit(start_over=True)
    assert sorted(os.listdir(run_dir)) == [".lock", "config.json", "log.txt", "notes.txt"]
    with open(os.path.join(run_dir, "config.json")) as f:
        stored = json.load(f)
    assert stored["config"]["lr"] == 0.01
    assert stored["fingerprint"] == run_folder.fingerprint(stored["config"])
