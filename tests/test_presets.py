"""The --data presets: the original's shell scripts, and every key a real flag."""
import pytest

from selfgnn import main_flags, params
from selfgnn.presets import PRESETS


# Read by hand from the original's shell scripts; flags they leave out keep Params.py's
# defaults (gowalla's pred_num 5, movielens' temp 1).
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
    p = params.preset_params(data)
    for name, value in expected.items():
        assert getattr(p, name) == value, name


def test_every_preset_key_is_a_flag_of_run_main():
    names = {name for name, _, _, _ in main_flags.SPECS}
    for data, values in PRESETS.items():
        assert set(values) <= names, (data, sorted(set(values) - names))


@pytest.mark.parametrize("data", sorted(PRESETS))
def test_every_preset_passes_the_flag_checks_with_its_values(data):
    p = params.preset_params(data, params_class=main_flags.RunParams)
    for name, value in PRESETS[data].items():
        assert getattr(p, name) == value, name


def test_movielens_sets_share_movielens_sh_values_but_not_their_folder():
    for data in ("ml-100k", "ml-1m"):
        assert {k: v for k, v in PRESETS[data].items() if k != "save_path"} == {
            k: v for k, v in PRESETS["movielens"].items() if k != "save_path"}
        assert PRESETS[data]["save_path"] == data
    assert PRESETS["movielens"]["save_path"] == "movie6"
