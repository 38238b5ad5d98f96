"""ItemKNN's cosine similarities and last-L scores against hand computations."""
import math

import numpy as np
import pytest

from baselines.itemknn import ItemKNN, cosine_similarity
from tests.baseline_helpers import assert_unit_metrics, fake_data, tiny_protocol_data

# U_0 = {0, 1, 3}, U_1 = {0, 1, 2}, U_2 = {1, 2}, U_3 = {} (no user).
HAND = [[1, 1, 0, 0],
        [1, 1, 1, 0],
        [0, 1, 1, 0],
        [1, 0, 0, 0]]
R6 = 1 / math.sqrt(6)
# sim(0, 1) = 2 / sqrt(3 * 3), sim(0, 2) = 1 / sqrt(3 * 2), sim(1, 2) = 2 / sqrt(3 * 2)
SIM = np.array([[0, 2 / 3, R6, 0],
                [2 / 3, 0, 2 * R6, 0],
                [R6, 2 * R6, 0, 0],
                [0, 0, 0, 0]])              # item 3 has no user: 0; the diagonal is 0


def test_cosine_similarity_by_hand():
    np.testing.assert_allclose(cosine_similarity(fake_data(HAND).train_matrix), SIM, rtol=1e-6)


# History (right-aligned, first slot padding with item id 0): 2, 0, 1 (1 the most recent).
SEQUENCE = np.array([[0, 2, 0, 1], [0, 1, 1, 1], [0, 0, 0, 0]], np.int32)
MASK = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0]], np.float32)
CANDIDATES = np.tile(np.arange(4, dtype=np.int32), (3, 1))


@pytest.mark.parametrize("length,first_row", [
    (1, SIM[:, 1]),                                 # last item only: 1 (its own score 0)
    (2, SIM[:, 1] + SIM[:, 0]),                     # 0 and 1
    (3, SIM[:, 1] + SIM[:, 0] + SIM[:, 2]),         # the whole history
    (200, SIM[:, 1] + SIM[:, 0] + SIM[:, 2]),       # the padded slot (item 0) is not counted
])
def test_scores_sum_the_similarities_to_the_last_l_filled_items(length, first_row):
    model = ItemKNN(fake_data(HAND), {"L": length}, 0)
    scores = model.score(np.arange(3, dtype=np.int32), CANDIDATES, SEQUENCE, MASK)
    np.testing.assert_allclose(scores[0], first_row, rtol=1e-6)
    repeats = min(length, 2)                        # row 1: item 1 twice, each occurrence counts
    np.testing.assert_allclose(scores[1], repeats * SIM[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(scores[2], 0.0)   # empty history


def test_candidate_order_and_repeats_follow_the_candidates():
    model = ItemKNN(fake_data(HAND), {"L": 1}, 0)
    scores = model.score(np.zeros(1, np.int32), np.array([[2, 0, 2, 1]], np.int32),
                         SEQUENCE[:1], MASK[:1])
    np.testing.assert_allclose(scores, [[2 * R6, 2 / 3, 2 * R6, 0]], rtol=1e-6)


def test_interface():
    assert ItemKNN.EPOCHS == 1
    assert [p["L"] for p in ItemKNN.GRID] == [1, 2, 3, 5, 10, 20, 50, 200]
    assert ItemKNN(fake_data(HAND), {}, 0).train_epoch(0) == {}
    with pytest.raises(ValueError, match="L must be"):
        ItemKNN(fake_data(HAND), {"L": 0}, 0)


def brute_force(sim, sequence, mask, candidates, length):
    """score(c) = sum over the last `length` filled history slots h of sim[c, h], by loops."""
    out = np.zeros(candidates.shape)
    for r in range(len(candidates)):
        history = [int(s) for s, m in zip(sequence[r], mask[r]) if m > 0][-length:]
        for c, item in enumerate(candidates[r]):
            out[r, c] = sum(sim[item, h] for h in history)
    return out


@pytest.mark.parametrize("protocol", ["original", "clean"])
def test_end_to_end_on_tiny_equals_the_loop_version(tiny_data_dir, protocol):
    data = tiny_protocol_data(tiny_data_dir, protocol)
    model = ItemKNN(data, {"L": 3}, 0)
    seen = []

    def checked(users, candidates, sequence, mask):
        scores = model.score(users, candidates, sequence, mask)
        np.testing.assert_allclose(
            scores, brute_force(model.similarity, sequence, mask, candidates, 3), atol=1e-5)
        seen.append(len(users))
        return scores

    metrics, _ = data.evaluate(checked, "before_test")
    assert_unit_metrics(metrics)
    assert sum(seen) == len(data.test_users)
