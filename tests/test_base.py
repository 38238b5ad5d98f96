"""baselines/base.py: membership in sorted keys and the base class's checks, by hand."""
import numpy as np
import pytest

from baselines.base import Baseline, in_sorted


def test_in_sorted_against_python_membership_in_any_shape():
    keys = np.array([3, 7, 8, 20])
    asked = np.array([[0, 3, 4], [8, 20, 21]])
    want = np.array([[k in {3, 7, 8, 20} for k in row] for row in asked.tolist()])
    assert np.array_equal(in_sorted(keys, asked), want)
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 1000, 300))
    asked = rng.integers(-5, 1005, (40, 25))
    assert np.array_equal(in_sorted(keys, asked), np.isin(asked, keys))


def test_in_sorted_with_no_keys_is_all_false():
    assert in_sorted(np.zeros(0, np.int64), np.array([[1, 2]])).tolist() == [[False, False]]


class Toy(Baseline):
    name = "toy"
    DEFAULTS = {"dim": 4, "lr": 0.1}


def test_config_is_defaults_updated_by_the_point_and_the_seed_fixes_the_generator():
    a, b = Toy(None, {"dim": 8}, 5), Toy(None, {"dim": 8}, 5)
    assert a.config == {"dim": 8, "lr": 0.1} and Toy.DEFAULTS == {"dim": 4, "lr": 0.1}
    assert a.rng.integers(0, 10**9) == b.rng.integers(0, 10**9)
    assert a.checkpoint_items() == {}
    with pytest.raises(NotImplementedError):
        a.train_epoch(0)
    with pytest.raises(ValueError, match=r"toy: unknown hyperparameters \['dims'\]"):
        Toy(None, {"dims": 8}, 5)
