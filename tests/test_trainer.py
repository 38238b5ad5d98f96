"""The training loop end to end on tiny synthetic data, as a user runs it."""
import io
import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from data_prep import synthetic
from selfgnn import data_handler, params, trainer
from selfgnn.model import PlainSelfGNN, SelfGNN
from tests.tiny_trainer import tiny_trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"Epoch (\d+)/(\d+), (Train|Test|max): (.*?)\s*$")


def run_main(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, os.path.join(ROOT, "run", "main.py"), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def parse_lines(stdout):
    out = []
    for line in stdout.splitlines():
        m = LINE.search(line)
        if m:
            values = dict(kv.split(" = ") for kv in m.group(4).split(", "))
            out.append((int(m.group(1)), m.group(3), {k: float(v) for k, v in values.items()}))
    return out


@pytest.mark.slow
def test_main_prints_the_metrics_it_writes(tiny_data_dir, tmp_path):
    out_dir = tmp_path / "runs"
    proc = run_main("--data_dir", str(tiny_data_dir), "--data", "tiny", "--epoch", "3",
                    "--tstEpoch", "1", "--out_dir", str(out_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = parse_lines(proc.stdout)
    assert [(ep, name) for ep, name, _ in lines] == [
        (0, "Train"), (0, "Test"), (1, "Train"), (1, "Test"), (2, "Train"), (2, "Test"),
        (3, "Test"), (lines[-1][0], "max")]
    run_dir = out_dir / "tiny"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "finished" and results["flags"]["graphNum"] == 3
    for ep, name, values in lines[:6]:
        logged = results["epochs"][ep]["train" if name == "Train" else "test"]
        keys = ("Loss", "preLoss") if name == "Train" else ("HR", "NDCG")
        assert values == {k: round(logged[k], 4) for k in keys}
    assert lines[6][2] == {k: round(results["final_test"][k], 4) for k in ("HR", "NDCG")}
    best = results["best"]
    assert lines[7][0] == best["epoch"]
    assert lines[7][2] == {k: round(best[k], 4) for k in ("HR", "NDCG")}
    assert best["NDCG"] == max(e["test"]["NDCG"] for e in results["epochs"])
    assert (run_dir / "best" / "checkpoint").exists()
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(run_dir / "tensorboard"))
    with open(run_dir / "history.his", "rb") as f:
        history = pickle.load(f)
    assert history["TestNDCG"][-1] == pytest.approx(best["NDCG"])
    assert "Epoch 0/3, Train" in (run_dir / "log.txt").read_text()
    per_user = np.genfromtxt(run_dir / "per_user.csv", delimiter=",", names=True)
    assert len(per_user) == results["data"]["test_users"]
    assert set(per_user["epoch"]) == {best["epoch"]}
    assert per_user["NDCG10"].mean() == pytest.approx(best["NDCG10"])


@pytest.mark.slow
def test_clean_protocol_chooses_on_validation_and_tests_without_the_test_item(tiny_data_dir,
                                                                            tmp_path):
    proc = run_main("--data_dir", str(tiny_data_dir), "--data", "tiny", "--epoch", "3",
                    "--tstEpoch", "1", "--out_dir", str(tmp_path), "--protocol", "clean")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epoch 0/3, Valid: HR = " in proc.stdout
    results = json.loads((tmp_path / "tiny" / "results.json").read_text())
    flags = results["flags"]
    assert (flags["protocol"], flags["select_on"], flags["eval_history"]) == (
        "clean", "validation", "exclude_target")
    tested = [e for e in results["epochs"] if e["test"]]
    chosen = max(tested, key=lambda e: e["valid"]["NDCG"])
    assert results["best"]["epoch"] == chosen["epoch"]
    assert results["best"]["NDCG"] == chosen["test"]["NDCG"]


@pytest.mark.parametrize("args,message", [
    (["--data", "tiny", "--keepRate", "0"], "keepRate"),
    (["--data", "nowhere"], "file not found"),
    (["--data", "tiny", "--graphNum", "9"], "--graphNum 9 but the file holds 3"),
])
@pytest.mark.slow
def test_main_rejects_bad_input_with_exit_code_2(tiny_data_dir, tmp_path, args, message):
    proc = run_main("--data_dir", str(tiny_data_dir), "--out_dir", str(tmp_path), *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_same_seed_same_metrics_and_no_retracing(tiny_data_dir, tmp_path):
    runs = []
    for i in range(2):
        t = tiny_trainer(tiny_data_dir, tmp_path / str(i), epoch=2, tstEpoch=1)
        runs.append(t.run())
        # 80 users in batches of 32: batches of 32, 32 and 16 users, one trace.
        assert t.train_step.experimental_get_tracing_count() == 1
        assert t.test_scores.experimental_get_tracing_count() == 1
    strip = [[{k: v for k, v in e.items() if k != "seconds"} for e in r["epochs"]] for r in runs]
    assert strip[0] == strip[1]
    assert runs[0]["final_test"] == runs[1]["final_test"]
    other = tiny_trainer(tiny_data_dir, tmp_path / "other", epoch=1, seed=5).run()
    assert other["epochs"][0]["train"] != runs[0]["epochs"][0]["train"]



@pytest.mark.slow
def test_fast_kernels_give_the_metrics_of_the_plain_path(tiny_data_dir, tmp_path):
    """SelfGNN's kernels against the plain unsorted-segment-sum path (PlainSelfGNN), same seed."""
    runs = {cls.FAST_KERNELS: tiny_trainer(tiny_data_dir, tmp_path / cls.__name__, model_cls=cls,
                                           epoch=3, tstEpoch=1).run()
            for cls in (SelfGNN, PlainSelfGNN)}
    fast, plain = runs[True], runs[False]
    for a, b in zip(fast["epochs"], plain["epochs"]):
        assert a["test"] == b["test"]  # HR and NDCG, every epoch
        for key, value in a["train"].items():
            assert value == pytest.approx(b["train"][key], rel=1e-4), key
    assert fast["best"] == plain["best"]


@pytest.mark.parametrize("flag", ["jit_compile", "mixed_precision"])
@pytest.mark.slow
def test_gpu_options_train_on_cpu_and_stay_close_to_float32(tiny_data_dir, tmp_path, flag):
    # keepRate 1: XLA draws the dropout masks with its own random bits.
    base = tiny_trainer(tiny_data_dir, tmp_path / "base", epoch=1, keepRate=1.0)
    other = tiny_trainer(tiny_data_dir, tmp_path / flag, epoch=1, keepRate=1.0, **{flag: True})
    losses = [t.train_step(t.sampler.train_batch(t.sampler.epoch_users()[:32]))
              for t in (base, other)]  # the same seed: the same users and samples
    tolerance = 1e-5 if flag == "jit_compile" else 2e-2  # bfloat16 keeps 8 mantissa bits
    for key in ("Loss", "preLoss", "sslLoss"):
        assert float(losses[1][key]) == pytest.approx(float(losses[0][key]), rel=tolerance), key
    if flag == "mixed_precision":  # a whole run (XLA compiles slowly on CPU: one step only)
        result = other.run()
        assert result["status"] == "finished"
        assert 0.0 < result["final_test"]["HR"] <= 1.0

@pytest.mark.slow
def test_users_with_one_or_two_interactions_train(tmp_path):
    data = synthetic.generate(synthetic.PRESETS["tiny"])
    for u in range(6):  # lengths 1 and 2: no pair, or a target with an empty history
        data["sequence"][u] = data["sequence"][u][: 1 + u % 2]
        if data["tst_int"][u] is not None:
            data["tst_int"][u] = data["sequence"][u][-1]
            negatives = set(data["test_dict"][u + 1])
            if data["tst_int"][u] + 1 in negatives:
                data["test_dict"][u + 1] = [i for i in range(1, 61)
                                            if i - 1 not in data["sequence"][u]][:99]
    synthetic.write(data, str(tmp_path / "data" / "tiny"))
    results = tiny_trainer(tmp_path / "data", tmp_path / "runs", epoch=1, tstEpoch=1).run()
    assert np.isfinite(results["epochs"][0]["train"]["Loss"])
    assert 0.0 <= results["final_test"]["HR"] <= 1.0


@pytest.mark.slow
def test_a_run_on_a_paper_data_set_prints_and_records_the_published_numbers(tiny_data_dir,
                                                                            tmp_path):
    """Tiny synthetic data under the name `amazon`: the block follows the `max` line."""
    root = tmp_path / "data"
    root.mkdir()
    os.symlink(tiny_data_dir / "tiny", root / "amazon")
    p = params.preset_params("tiny", data_dir=str(root), out_dir=str(tmp_path), epoch=2,
                             tstEpoch=1).replace(data="amazon")
    data = data_handler.load_dataset(str(root / "amazon"), p.graphNum, p.testSize)
    out = io.StringIO()
    result = trainer.Trainer(p, data, logger=trainer.Logger(out)).run()
    lines = out.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if ", max: " in line)
    assert lines[at + 1].startswith("Published numbers for amazon beside this run (best epoch")
    assert lines[at + 2] == ("| metric | this run | SelfGNN (paper) | diff | SelfGNN (HardGNN "
                             "report rerun) | diff | HardGNN (report) | diff |")
    best = result["best"]
    hr10 = f"| HR@10 | {best['HR10']:.4f} | 0.391 | {best['HR10'] - 0.391:+.4f} | 0.371 | "
    assert lines[at + 4].startswith(hr10)
    comparison = result["published_comparison"]
    assert comparison["ours"]["NDCG20"] == best["NDCG20"]
    assert [r["model"] for r in comparison["published"]] == ["SelfGNN", "SelfGNN-rerun",
                                                             "HardGNN"]
    assert comparison["published"][0]["diff"]["HR20"] == pytest.approx(best["HR20"] - 0.487)
    with open(tmp_path / "tiny" / "results.json") as f:
        assert json.load(f)["published_comparison"] == comparison


@pytest.mark.slow
def test_no_block_for_other_data_sets(tiny_data_dir, tmp_path):
    out = io.StringIO()
    result = tiny_trainer(tiny_data_dir, tmp_path, out=out, epoch=1).run()
    assert "Published numbers" not in out.getvalue()
    assert "published_comparison" not in result


@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["--hard_k", "3", "--cl_weight", "0.1"]])
def test_paper_sequence_branch_trains_and_tests_from_the_command_line(tiny_data_dir, tmp_path,
                                                                      extra):
    proc = run_main("--data_dir", str(tiny_data_dir), "--data", "tiny", "--epoch", "2",
                    "--out_dir", str(tmp_path), "--sequence_branch", "paper", *extra)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(next(tmp_path.glob("*/results.json")).read_text())
    assert results["flags"]["sequence_branch"] == "paper" and results["status"] == "finished"
    assert 0.0 < results["final_test"]["HR"] <= 1.0

