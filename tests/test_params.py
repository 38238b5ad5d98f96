"""Flags: the original's names and defaults, presets, flag files, bounds."""
import math
import re

import pytest
from absl import flags

from selfgnn import params

# Params.py of the original, read by hand: name -> default.
ORIGINAL_DEFAULTS = dict(
    lr=1e-3, batch=512, testbatch=64, reg=1e-5, epoch=100, graphNum=8, decay=0.96,
    save_path="tem", latdim=64, ssldim=32, rank=4, memosize=2, sampNum=40, testSize=100,
    sslNum=20, query_vector_dim=64, num_attention_heads=16, hyperNum=128, gnn_layer=2,
    trnNum=10000, load_model=None, shoot=10, data="yelp", target="buy", deep_layer=0, mult=100,
    keepRate=0.5, slot=1, graphSampleN=15000, divSize=10000, tstEpoch=3, subUsrSize=10,
    subUsrDcy=0.9, leaky=0.5, hyperReg=1e-4, temp=1, ssl_reg=1e-4, percent=0.0, pos_length=200,
    att_size=12000, att_layer=4, pred_num=5, nfs=False, test=True, ssl=True)
# uid: the original's 0 prints one score bare in every test batch; the port's default is
# -1 (off) and --uid N prints it labelled (a deviation, README).


def parse(argv):
    fv = flags.FlagValues()
    params.define_flags(fv)
    fv(["main.py"] + params.normalize_bool_args(argv))
    return params.from_flags(fv)


def test_every_original_flag_with_its_default():
    p = parse([])
    for name, default in ORIGINAL_DEFAULTS.items():
        assert getattr(p, name) == default, name
    assert p.decay_step == 10000 // 512


@pytest.mark.parametrize("data,expected", [
    ("amazon", dict(reg=1e-2, lr=1e-3, ssl_reg=1e-6, epoch=150, sslNum=80, graphNum=5,
                    pred_num=0, gnn_layer=3, att_layer=4, testSize=1000, save_path="amazon")),
    ("gowalla", dict(lr=2e-3, sslNum=40, graphNum=3, gnn_layer=2, att_layer=1, ssldim=48,
                     pred_num=5, save_path="gowalla")),
    ("movielens", dict(sslNum=90, graphNum=6, gnn_layer=2, att_layer=3, ssldim=48, temp=1,
                       save_path="movie6")),
    ("yelp", dict(ssl_reg=1e-7, graphNum=12, gnn_layer=3, att_layer=2, sslNum=40, lr=1e-3,
                  save_path="yelp12")),
])
def test_presets_reproduce_the_shell_scripts(data, expected):
    p = parse([f"--data={data}"])
    for name, value in expected.items():
        assert getattr(p, name) == value, name


def test_explicit_flag_beats_preset_and_flagfile_counts_as_explicit(tmp_path):
    assert parse(["--data=amazon", "--graphNum=3"]).graphNum == 3
    flagfile = tmp_path / "run.flags"
    flagfile.write_text("--data=amazon\n--sslNum=7\n")
    p = parse([f"--flagfile={flagfile}"])
    assert (p.sslNum, p.graphNum, p.data) == (7, 5, "amazon")


@pytest.mark.parametrize("argv,expected", [
    (["--test", "True"], True), (["--test", "False"], False), (["--test=false"], False),
    (["--notest"], False), (["--ssl", "0"], False),
])
def test_boolean_flags_accept_the_scripts_spelling(argv, expected):
    p = parse(argv)
    assert (p.test if "test" in argv[0] else p.ssl) is expected


def test_original_amazon_script_parses_unchanged():
    script = ("--data amazon --reg 1e-2 --lr 1e-3 --temp 0.1 --ssl_reg 1e-6 --save_path amazon "
              "--epoch 150 --batch 512 --sslNum 80 --graphNum 5 --pred_num 0 --gnn_layer 3 "
              "--test True --att_layer 4 --testSize 1000 --keepRate 0.5 --sampNum 40 "
              "--pos_length 200")
    assert parse(script.split()) == params.preset_params("amazon")


@pytest.mark.parametrize("override,message", [
    (dict(keepRate=0.0), "keepRate"), (dict(keepRate=1.5), "keepRate"),
    (dict(lr=0.0), "--lr"), (dict(reg=-1.0), "--reg"), (dict(batch=0), "--batch"),
    (dict(latdim=30), "divisible"), (dict(trnNum=100), "trnNum"), (dict(testSize=1), "testSize"),
    (dict(graphNum=0), "graphNum"), (dict(gnn_layer=-1), "gnn_layer"),
    (dict(decay=1.5), "decay"), (dict(save_path="a/b"), "save_path"),
    (dict(epoch="3"), "expected int"),
])
def test_out_of_range_values_are_rejected_with_the_flag_name(override, message):
    with pytest.raises(ValueError, match=message):
        params.preset_params("yelp", **override)


def test_eval_history_is_an_enum():
    with pytest.raises(flags.IllegalFlagValueError):
        parse(["--eval_history=last"])
    assert parse(["--eval_history=exclude_target"]).eval_history == "exclude_target"


FLOAT_FLAGS = [name for name, kind, _, _ in params.FLAG_SPECS if kind == "float"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("name", FLOAT_FLAGS)
def test_every_float_flag_rejects_nan_and_infinity(name, value):
    message = f"--{name} must be a finite number, got {value}"
    with pytest.raises(ValueError, match=re.escape(message)):
        params.preset_params("tiny", **{name: value})


@pytest.mark.parametrize("argv,message", [
    (["--leaky", "nan"], "--leaky must be a finite number, got nan"),
    (["--lr", "inf"], "--lr must be a finite number, got inf"),
    (["--ssl_reg=-inf"], "--ssl_reg must be a finite number, got -inf"),
])
def test_non_finite_float_on_the_command_line(argv, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(argv)


@pytest.mark.parametrize("save_path", ["", ".", "..", "a/b", "../x", "a\\b", "..\\up"])
def test_save_path_must_stay_inside_out_dir(save_path):
    with pytest.raises(ValueError) as err:
        params.preset_params("tiny", save_path=save_path)
    message = str(err.value)
    assert message.startswith(f"--save_path {save_path!r} is not a folder name inside --out_dir")
    assert "such as amazon" in message


@pytest.mark.parametrize("save_path", ["amazon", "run.1", "my-run_2"])
def test_plain_save_path_names_are_accepted(save_path):
    assert params.preset_params("tiny", save_path=save_path).save_path == save_path


def test_uid_is_off_by_default_unlike_the_original():
    assert parse([]).uid == -1 and parse(["--uid", "0"]).uid == 0


def test_preset_applies_a_paper_preset_to_another_data_name():
    p = parse(["--data", "mine", "--preset", "amazon", "--lr", "0.002"])
    want = params.PRESETS["amazon"]
    assert (p.data, p.save_path, p.graphNum, p.gnn_layer, p.lr) == (
        "mine", "mine", want["graphNum"], want["gnn_layer"], 0.002)
    assert parse(["--data", "mine", "--preset", "amazon", "--save_path", "x"]).save_path == "x"
    with pytest.raises(ValueError, match="--preset nope: no such preset; choose one of amazon"):
        parse(["--data", "mine", "--preset", "nope"])
