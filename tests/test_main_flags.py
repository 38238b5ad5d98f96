"""run/main.py's command line: --model, presets with HardGNN flags, no TensorFlow."""
import os
import re
import subprocess
import sys

import pytest
from absl import flags

from selfgnn import main_flags, params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse(argv):
    fv = flags.FlagValues()
    main_flags.define_flags(fv)
    fv(["main.py"] + params.normalize_bool_args(argv, main_flags.SPECS))
    return main_flags.from_flags(fv)


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
    (["--cl_temp", "nan"], "--cl_temp must be a finite number, got nan"),
    (["--mix_alpha", "nan"], "--mix_alpha must be a finite number, got nan"),
    (["--cl_weight", "inf"], "--cl_weight must be a finite number, got inf"),
])
def test_non_finite_hardgnn_flag_on_the_command_line(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(argv)


def test_flags_parse_without_tensorflow():
    """A bad flag is answered at once: parsing never imports TensorFlow."""
    code = ("import sys; sys.argv = ['x']; from absl import flags; from selfgnn import main_flags;"
            "main_flags.define_flags(); flags.FLAGS(['x', '--data', 'tiny', '--hard_k', '3']);"
            "main_flags.from_flags(); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_a_hardgnn_flag_with_a_baseline_is_an_error():
    with pytest.raises(ValueError, match="--hard_k is a HardGNN flag, but --model sasrec"):
        parse(["--model", "sasrec", "--hard_k", "3"])


@pytest.mark.parametrize("argv,save_path", [
    (["--data", "tiny"], "tiny"), (["--data", "tiny", "--hard_k", "3"], "tiny-hardgnn"),
    (["--data", "tiny", "--model", "bprmf"], "tiny-bprmf"),
    (["--data", "tiny", "--model", "bprmf", "--save_path", "mine"], "mine"),
])
def test_models_other_than_selfgnn_get_their_own_folder(argv, save_path):
    assert parse(argv).save_path == save_path


def test_the_baselines_preset_value_reaches_the_baselines_flag():
    assert parse(["--data", "ml-1m-sasrec", "--model", "sasrec"]).baseline_grid is False
    assert parse(["--data", "tiny", "--model", "sasrec"]).baseline_grid is True


def test_a_negative_baseline_patience_is_an_error():
    assert parse(["--model", "sasrec", "--baseline_patience", "3"]).baseline_patience == 3
    with pytest.raises(ValueError, match="--baseline_patience must be >= 0"):
        parse(["--model", "sasrec", "--baseline_patience", "-1"])
