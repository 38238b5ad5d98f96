"""MostPop against hand-counted popularity, and end to end under both protocols."""
import numpy as np
import pytest

from baselines.mostpop import MostPop
from tests.baseline_helpers import assert_unit_metrics, fake_data, tiny_protocol_data


HAND = [[1, 0, 1, 0],
        [1, 1, 0, 0],
        [1, 0, 0, 0]]  # column sums: 3, 1, 1, 0


def test_scores_are_the_hand_counted_column_sums_for_every_user():
    model = MostPop(fake_data(HAND), {}, 0)
    users = np.array([0, 2], np.int32)
    candidates = np.array([[3, 0, 1], [2, 2, 0]], np.int32)
    sequence = np.array([[0, 0, 0, 2], [1, 3, 0, 1]], np.int32)
    mask = np.array([[0, 0, 0, 1], [1, 1, 1, 1]], np.float32)
    scores = model.score(users, candidates, sequence, mask)
    np.testing.assert_array_equal(scores, [[0, 3, 1], [1, 1, 3]])
    np.testing.assert_array_equal(model.score(users[::-1], candidates, sequence[::-1], mask),
                                  scores)  # the user and history play no part


def test_one_pass_interface():
    model = MostPop(fake_data(HAND), {}, 0)
    assert MostPop.EPOCHS == 1 and MostPop.GRID == ({},)
    assert model.train_epoch(0) == {} and model.checkpoint_items() == {}
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        MostPop(fake_data(HAND), {"L": 3}, 0)


@pytest.mark.parametrize("protocol", ["original", "clean"])
def test_end_to_end_on_tiny(tiny_data_dir, protocol):
    data = tiny_protocol_data(tiny_data_dir, protocol)
    model = MostPop(data, {}, 0)
    np.testing.assert_array_equal(model.popularity, np.asarray(data.train_matrix.sum(0)).ravel())
    metrics, ranks = data.evaluate(model.score, "before_test")
    assert_unit_metrics(metrics)
    assert len(ranks) == len(data.test_users)
