"""HardGNN flags: bounds, and errors as a user meets them."""
import math
import os
import re
import subprocess
import sys

import pytest

from hardgnn import params as hard_params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("argv,message", [
    (["--hard_k", "0"], "--hard_k must be >= 1"), (["--cl_weight", "-0.1"], "--cl_weight"),
    (["--cl_temp", "0"], "--cl_temp must be > 0"),
])
def test_bounds(argv, message):
    name, value = argv[0][2:], float(argv[1])
    with pytest.raises(ValueError, match=message):
        hard_params.preset_params("tiny", **{name: int(value) if name == "hard_k" else value})


@pytest.mark.slow
def test_hard_k_beyond_the_data_stops_main_with_exit_2(tiny_data_dir, tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "run", "main.py"), "--data", "tiny",
                           "--data_dir", str(tiny_data_dir), "--out_dir", str(tmp_path),
                           "--hard_k", "59"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert "--hard_k 59 is more than the" in proc.stderr and "lower --hard_k" in proc.stderr


def test_hardgnn_float_flags_reject_nan_and_infinity():
    """HardParams go through selfgnn.params.check_params too (tested there per flag)."""
    hard = [name for name, kind, _, _ in hard_params.HARD_FLAG_SPECS if kind == "float"]
    assert {"cl_weight", "cl_temp", "soft_alpha", "mix_alpha"} <= set(hard)
    for name in hard:
        for value in (math.nan, math.inf, -math.inf):
            message = re.escape(f"--{name} must be a finite number, got {value}")
            with pytest.raises(ValueError, match=message):
                hard_params.preset_params("tiny", **{name: value})


@pytest.mark.parametrize("text,message", [("0.1", "LOW,HIGH"), ("a,b", "LOW,HIGH"),
                                          ("0.2,0.1", "0 <= LOW < HIGH <= 1"),
                                          ("-0.1,0.5", "0 <= LOW < HIGH <= 1")])
def test_bad_band_is_an_error(text, message):
    with pytest.raises(ValueError, match=message):
        hard_params.parse_band(text)
