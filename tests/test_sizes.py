"""bench/sizes.py: the paper-shaped sizes, the scale series and its growth exponents."""
import json
import os
import subprocess
import sys

import pytest

from data_prep import synthetic
from tests import scripts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sizes = scripts.load("bench/sizes.py", "bench_sizes")


def test_fit_exponent_recovers_a_power_law():
    x = [1000, 2000, 4000, 8000]
    assert sizes.fit_exponent(x, [3.0 * v ** 1.5 for v in x]) == pytest.approx(1.5)
    assert sizes.fit_exponent(x, [7.0] * 4) == pytest.approx(0.0, abs=1e-12)
    assert sizes.fit_exponent([5], [1.0]) != sizes.fit_exponent([5], [1.0])  # NaN


def test_runs_of_all_is_the_four_shapes_then_the_amazonlike_series():
    assert sizes.runs_of("all", [0.5, 2.0]) == [
        ("amazonlike", "amazonlike", None), ("gowallalike", "gowallalike", None),
        ("movielenslike", "movielenslike", None), ("yelplike", "yelplike", None),
        ("amazonlike x0.5", "amazonlike", 0.5), ("amazonlike x2", "amazonlike", 2.0)]
    assert sizes.runs_of("small", [1.0]) == [("small x1", "small", 1.0)]


def test_data_flags_scale_users_items_and_test_users():
    out, flags = sizes.data_flags("amazonlike", 2.0, "D", synthetic.PRESETS)
    assert out == os.path.join("D", "amazonlike-x2")
    assert flags[-3:] == ["--users=22398", "--items=61642", "--test_users=20000"]
    assert sizes.data_flags("amazonlike", None, "D", synthetic.PRESETS) == (
        os.path.join("D", "amazonlike"), ["--preset", "amazonlike", "--out",
                                          os.path.join("D", "amazonlike")])
    _, flags = sizes.data_flags("tiny", 0.25, "D", synthetic.PRESETS)  # 20 users, 10 test
    assert flags[-3:] == ["--users=20", "--items=15", "--test_users=10"]


def result(label, factor, interactions, step_s, rss):
    model = dict(model="SelfGNN", step_s=step_s, epoch_s=20 * step_s, test_pass_s=1.0,
                 epoch_over_floor=2.0)
    return dict(label=label, factor=factor, peak_rss_gib=rss, models=[model], data=dict(
        users=100, items=200, interactions=interactions, graphs=5))


def test_summary_fits_the_series_only_and_the_table_shows_every_run():
    runs = [result("gowallalike", None, 10 ** 6, 9.0, 9.0),
            result("amazonlike x1", 1.0, 1000, 1.0, 2.0),
            result("amazonlike x4", 4.0, 4000, 4.0, 8.0)]
    summary = sizes.summarize(runs)
    assert summary["exponents"]["SelfGNN"] == pytest.approx(
        {"step_s": 1.0, "epoch_s": 1.0, "test_pass_s": 0.0, "peak_rss_gib": 1.0}, abs=1e-9)
    text = sizes.markdown(summary)
    assert ("| gowallalike | 100 | 200 | 1,000,000 | 5 | SelfGNN | 9.000 | 180.0 | 1.00 | 2.0 "
            "| 9.00 |") in text
    assert "| SelfGNN | 1.00 | 1.00 | 0.00 | 1.00 |" in text
    assert "exponent" not in sizes.markdown(sizes.summarize(runs[:1]))


@pytest.mark.slow
def test_scale_series_end_to_end(tmp_path):
    """`bench/run.py --size tiny --scale 0.5,1`: two processes, one table, the exponents."""
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, os.path.join(ROOT, "bench", "run.py"), "--size", "tiny", "--scale",
         "0.5,1", "--steps", "2", "--warmup", "1", "--repeats", "1", "--out",
         str(tmp_path / "out"), "--data_dir", str(tmp_path / "data")],
        capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "out" / "sizes.json").read_text())
    assert [r["label"] for r in summary["runs"]] == ["tiny x0.5", "tiny x1"]
    assert [r["data"]["users"] for r in summary["runs"]] == [40, 80]
    assert set(summary["exponents"]) == {"SelfGNN", "HardGNN K=3"}
    assert "Growth exponent" in (tmp_path / "out" / "sizes.md").read_text()


def test_bad_scale_is_an_error():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "run.py"), "--scale",
                           "2,zero"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "--scale: 'zero' is not a positive factor" in proc.stderr
