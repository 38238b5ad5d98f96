"""Tests of selfgnn.metrics against hand-computed values and the original algorithm."""
import numpy as np
import pytest

from selfgnn import metrics
from selfgnn.metrics import MISS_RANK, MetricAccumulator, hit_ndcg, positive_ranks


def original_hit_ndcg(scores, k):
    """Direct re-implementation of the original ``calcRes`` loop."""
    hits, ndcg = 0, 0.0
    for row in scores:
        items = list(range(len(row)))
        pos_item = items[-1]
        ranked = sorted(zip(row, items), key=lambda x: x[0], reverse=True)
        shoot = [item for _, item in ranked[:k]]
        if pos_item in shoot:
            hits += 1
            ndcg += 1.0 / np.log2(shoot.index(pos_item) + 2)
    return hits, ndcg


@pytest.mark.parametrize("scores, expected", [
    ([[0.1, 0.5, 0.3]], [1]),
    ([[0.5, 0.5, 0.5]], [2]),
    ([[0.9, 0.1, 0.2, 1.0]], [0]),
    ([[3.0, 2.0, 1.0]], [2]),
    ([[1.0, 2.0, 2.0, 2.0]], [2]),
    ([[7.0]], [0]),
    ([[0.1, 0.5, 0.3], [0.5, 0.5, 0.5]], [1, 2]),
])
def test_positive_ranks_hand_computed(scores, expected):
    np.testing.assert_array_equal(positive_ranks(np.array(scores)), expected)


@pytest.mark.parametrize("k, hits, ndcg", [
    (1, 0, 0.0),
    (2, 1, 1.0 / np.log2(3)),
    (5, 1, 1.0 / np.log2(3)),
])
def test_hit_ndcg_single_row(k, hits, ndcg):
    got_hits, got_ndcg = hit_ndcg(positive_ranks(np.array([[0.1, 0.5, 0.3]])), k)
    assert got_hits == hits
    assert got_ndcg == pytest.approx(ndcg)


def test_hit_ndcg_sums_over_rows():
    ranks = np.array([0, 1, 4, 5, 30])
    hits, ndcg = hit_ndcg(ranks, 5)
    assert hits == 3
    assert ndcg == pytest.approx(1.0 + 1.0 / np.log2(3) + 1.0 / np.log2(6))
    assert hit_ndcg(np.array([], dtype=np.int64), 5) == (0, 0.0)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_matches_original_sort_with_ties(seed, k):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, size=(60, 25)).astype(np.float32)
    hits, ndcg = hit_ndcg(positive_ranks(scores), k)
    ref_hits, ref_ndcg = original_hit_ndcg(scores.tolist(), k)
    assert hits == ref_hits
    assert ndcg == pytest.approx(ref_ndcg, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("nan_col", [0, 2, -1])
def test_nan_row_counts_as_miss(nan_col):
    scores = np.array([[0.1, 0.2, 0.9], [0.1, 0.2, 0.9]])
    scores[0, nan_col] = np.nan
    ranks = positive_ranks(scores)
    assert ranks[0] == MISS_RANK
    assert ranks[1] == 0
    assert hit_ndcg(ranks, 20) == (1, 1.0)


def test_accumulator_two_adds_equal_one_concatenated():
    rng = np.random.default_rng(3)
    first = rng.integers(0, 4, size=(17, 30)).astype(np.float64)
    second = rng.normal(size=(9, 30))
    split, joint = MetricAccumulator(shoot=7), MetricAccumulator(shoot=7)
    split.add(first)
    split.add(second)
    joint.add(np.concatenate([first, second]))
    assert split.num_users == joint.num_users == 26
    a, b = split.result(), joint.result()
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key])


def test_accumulator_keys_and_means():
    acc = MetricAccumulator()
    acc.add(np.array([[0.1, 0.5, 0.3], [0.9, 0.1, 0.2]]))
    res = acc.result()
    assert set(res) == {"HR", "NDCG", "HR5", "NDCG5", "HR10", "NDCG10", "HR20", "NDCG20"}
    assert res["HR"] == res["HR10"] == res["HR5"] == pytest.approx(1.0)
    assert res["NDCG5"] == pytest.approx((1.0 / np.log2(3) + 1.0 / np.log2(3)) / 2)
    assert all(isinstance(v, float) for v in res.values())


def test_accumulator_shoot_changes_headline_metric():
    acc = MetricAccumulator(shoot=1)
    acc.add(np.array([[0.1, 0.5, 0.3], [0.0, 0.1, 0.2]]))
    res = acc.result()
    assert res["HR"] == pytest.approx(0.5)
    assert res["NDCG"] == pytest.approx(0.5)
    assert res["HR5"] == pytest.approx(1.0)


def test_accumulator_empty_raises():
    with pytest.raises(ValueError):
        MetricAccumulator().result()


def test_per_user_columns_and_accumulated_ranks():
    acc = metrics.MetricAccumulator(10)
    acc.add(np.array([[0.9, 0.1, 0.5], [0.0, 0.0, 1.0]]))  # positive last: ranks 1 and 0
    acc.add(np.array([[2.0, 2.0, 2.0]]))                     # ties rank after: rank 2
    np.testing.assert_array_equal(acc.ranks(), [1, 0, 2])
    cols = metrics.per_user(acc.ranks(), ks=(1, 10))
    np.testing.assert_array_equal(cols["HR1"], [0, 1, 0])
    np.testing.assert_allclose(cols["NDCG10"], [1 / np.log2(3), 1.0, 0.5])
    assert cols["NDCG10"].mean() == pytest.approx(acc.result()["NDCG"])
    miss = metrics.per_user([metrics.MISS_RANK], ks=(10,))
    assert miss["HR10"][0] == 0.0 and miss["NDCG10"][0] == 0.0
