"""hardgnn.negatives: uniform unseen draws, DNS selection, PPR scores and bands vs NumPy."""
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from hardgnn import negatives


def test_uniform_unseen_never_draws_a_seen_item_and_reaches_every_other():
    seen = np.zeros((2, 6), bool)
    seen[0, [0, 1, 2]] = True
    seen[1, [5]] = True
    rng = tf.random.Generator.from_seed(0)
    rows = tf.constant([0, 1, 1])
    draws = np.concatenate([negatives.uniform_unseen(rng, rows, tf.constant(seen), [3, 50], 6)
                            for _ in range(4)], axis=1)
    assert set(draws[0]) == {3, 4, 5}
    assert set(draws[1]) == set(draws[2]) == {0, 1, 2, 3, 4}
    counts = np.bincount(draws[1:].ravel(), minlength=6)[:5]  # 400 draws over 5 items
    assert counts.min() > 50  # uniform: 80 each expected


def test_dns_select_takes_the_best_scoring_item_of_each_pool():
    pool = tf.constant([[4, 7, 9], [1, 2, 3]])
    scores = tf.constant([[0.1, 2.0, -1.0], [5.0, 0.0, 4.9]])
    np.testing.assert_array_equal(negatives.dns_select(scores, pool), [7, 1])


@pytest.mark.parametrize("items,band,ranks", [(1000, (0.02, 0.1), (20, 100)),
                                              (30821, (0.02, 0.1), (616, 3082)),
                                              (10, (0.0, 0.01), (0, 1)),
                                              (10, (0.99, 1.0), (9, 10))])
def test_band_ranks(items, band, ranks):
    assert negatives.band_ranks(items, band) == ranks


def random_graph(seed=0, users=7, items=11):
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < 0.3).astype(float)
    dense[np.arange(users), rng.integers(0, items, users)] = 1  # every user has an item
    return sp.csr_matrix(dense), dense


def test_ppr_item_scores_equal_a_truncated_walk_over_the_whole_graph():
    mat, dense = random_graph()
    users, items = dense.shape
    adj = np.zeros((users + items, users + items))
    adj[:users, users:], adj[users:, :users] = dense, dense.T
    deg = adj.sum(1, keepdims=True)
    step = np.divide(adj, deg, out=np.zeros_like(adj), where=deg > 0)  # row-stochastic
    r, hops = negatives.PPR_RESTART, negatives.PPR_HOPS
    expected = []
    for u in range(users):
        x = np.eye(users + items)[u]
        total = np.zeros(users + items)
        for t in range(2 * hops):  # walks of length t; odd lengths end on items
            total += r * (1 - r) ** t * x
            x = x @ step
        expected.append(total[users:])
    got = negatives.ppr_item_scores(mat, np.arange(users))
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-10, atol=1e-14)


def test_ppr_bands_are_the_ranked_unseen_items():
    mat, dense = random_graph(1, users=5, items=40)
    band = (0.1, 0.3)
    got = negatives.ppr_bands(mat, band, block=2)  # blocks of 2 users: 3 blocks
    first, last = negatives.band_ranks(40, band)
    scores = negatives.ppr_item_scores(mat, np.arange(5))
    for u in range(5):
        unseen = [i for i in np.argsort(-scores[u], kind="stable") if dense[u, i] == 0]
        np.testing.assert_array_equal(got[u], unseen[first:last])
        assert not dense[u, got[u]].any()
