"""HardGNN flags: defaults, model selection, bounds, and errors as a user meets them."""
import math
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from hardgnn import params as hard_params
from selfgnn import params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(argv):
    fv = flags.FlagValues()
    hard_params.define_flags(fv)
    fv(["main.py"] + params.normalize_bool_args(argv, hard_params.ALL_SPECS))
    return hard_params.from_flags(fv)


def test_defaults_and_auto_model():
    p = parse([])
    assert (p.hard_k, p.cl_weight, p.cl_temp, p.hard_anchor, p.neg_mode, p.hard_in_rec) == (
        5, 0.1, 0.1, "sequence", "hard", False)
    assert p.model == "selfgnn" and p.temp == 1.0  # --temp keeps the original's meaning


@pytest.mark.parametrize("argv,model", [
    (["--hard_k", "3"], "hardgnn"), (["--cl_weight", "0.2"], "hardgnn"),
    (["--neg_mode", "random"], "hardgnn"), (["--hard_in_rec"], "hardgnn"),
    (["--model", "hardgnn"], "hardgnn"), (["--model", "selfgnn", "--hard_k", "3"], "selfgnn"),
    (["--data", "amazon"], "selfgnn"),
])
def test_hardgnn_when_one_of_its_flags_is_given(argv, model):
    assert parse(argv).model == model


def test_issue_command_is_hardgnn_with_amazon_preset():
    p = parse("--data amazon --hard_k 3 --cl_weight 0.1".split())
    assert (p.model, p.hard_k, p.cl_weight) == ("hardgnn", 3, 0.1)
    assert (p.graphNum, p.gnn_layer, p.att_layer, p.reg) == (5, 3, 4, 1e-2)


@pytest.mark.parametrize("argv,message", [
    (["--hard_k", "0"], "--hard_k must be >= 1"), (["--cl_weight", "-0.1"], "--cl_weight"),
    (["--cl_temp", "0"], "--cl_temp must be > 0"),
])
def test_bounds(argv, message):
    with pytest.raises(ValueError, match=message):
        parse(argv)


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


@pytest.mark.parametrize("argv,message", [
    (["--cl_temp", "nan"], "--cl_temp must be a finite number, got nan"),
    (["--mix_alpha", "nan"], "--mix_alpha must be a finite number, got nan"),
    (["--cl_weight", "inf"], "--cl_weight must be a finite number, got inf"),
])
def test_non_finite_hardgnn_flag_on_the_command_line(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(argv)


@pytest.mark.parametrize("text,message", [("0.1", "LOW,HIGH"), ("a,b", "LOW,HIGH"),
                                          ("0.2,0.1", "0 <= LOW < HIGH <= 1"),
                                          ("-0.1,0.5", "0 <= LOW < HIGH <= 1")])
def test_bad_band_is_an_error(text, message):
    with pytest.raises(ValueError, match=message):
        hard_params.parse_band(text)


def test_flags_parse_without_tensorflow():
    """A bad flag is answered at once: parsing never imports TensorFlow."""
    code = ("import sys; sys.argv = ['x']; from absl import flags; from hardgnn import params;"
            "params.define_flags(); flags.FLAGS(['x', '--data', 'tiny', '--hard_k', '3']);"
            "params.from_flags(); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
