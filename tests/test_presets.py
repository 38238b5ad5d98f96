"""The --data presets: every key a flag of run/main.py, every value passing its checks.

That the presets reproduce the shell scripts through the command line is tested in
`test_params.py` (`test_presets_reproduce_the_shell_scripts`).
"""
import pytest

from selfgnn import main_flags, params
from selfgnn.presets import PRESETS


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
