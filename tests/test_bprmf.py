"""BPR-MF: the negative sampler, the loss against NumPy, training and scoring."""
import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from baselines.bprmf import BPRMF, bpr_loss, sample_bpr_triples
from tests.baseline_helpers import assert_trains_and_evaluates, fake_data

HAND = [[1, 1, 1, 1, 0],   # one free item (4): every negative of user 0 is 4
        [0, 1, 0, 0, 0],
        [1, 0, 1, 0, 1]]


def numpy_bpr(user_rows, pos_rows, neg_rows, ego, reg):
    """(BPR, L2) of the batch: mean -log sigmoid(x_ui - x_uj), reg * sum |e|^2 / B."""
    diff = np.sum(user_rows * pos_rows, 1) - np.sum(user_rows * neg_rows, 1)
    bpr = np.mean(np.log1p(np.exp(-diff)))
    return bpr, reg * sum(np.sum(e ** 2) for e in ego) / len(diff)


def test_triples_cover_every_entry_once_with_negatives_outside_the_row():
    data = fake_data(HAND)
    users, pos, neg = sample_bpr_triples(data.train_matrix, np.random.default_rng(3))
    dense = np.asarray(HAND)
    assert users.dtype == pos.dtype == neg.dtype == np.int32
    assert sorted(zip(users.tolist(), pos.tolist())) == sorted(zip(*np.nonzero(dense)))
    assert not dense[users, neg].any()
    np.testing.assert_array_equal(neg[users == 0], 4)
    again = sample_bpr_triples(data.train_matrix, np.random.default_rng(3))
    for a, b in zip((users, pos, neg), again):
        np.testing.assert_array_equal(a, b)


def test_negatives_are_uniform_over_the_free_items():
    mat = sp.csr_matrix((np.ones(4000, np.float32), (np.arange(4000), np.zeros(4000, int))),
                        shape=(4000, 5))
    _, _, neg = sample_bpr_triples(mat, np.random.default_rng(0))
    counts = np.bincount(neg, minlength=5)
    assert counts[0] == 0
    assert np.all(np.abs(counts[1:] - 1000) < 120)   # 4 sigma of Binomial(4000, 1/4)


def test_a_full_row_is_an_error():
    with pytest.raises(ValueError, match="user 1 has every item"):
        sample_bpr_triples(sp.csr_matrix(np.array([[1, 0], [1, 1]], np.float32)),
                           np.random.default_rng(0))


def test_bpr_loss_equals_numpy():
    rng = np.random.default_rng(1)
    u, i, j = (rng.normal(size=(6, 4)).astype(np.float32) for _ in range(3))
    bpr, l2 = bpr_loss(tf.reduce_sum(u * i, 1), tf.reduce_sum(u * j, 1), [u, i, j], 0.01)
    want = numpy_bpr(u, i, j, [u, i, j], 0.01)
    np.testing.assert_allclose([bpr.numpy(), l2.numpy()], want, rtol=1e-5)


def test_first_epoch_loss_on_fixed_weights_equals_numpy():
    """One batch: the reported loss is that of the weights before the update."""
    data = fake_data(HAND)
    model = BPRMF(data, {"dim": 3, "reg": 0.05, "batch": 64}, seed=7)
    rng = np.random.default_rng(0)
    w, h = rng.normal(size=(3, 3)), rng.normal(size=(5, 3))
    model.user_embedding.assign(w.astype(np.float32))
    model.item_embedding.assign(h.astype(np.float32))
    users, pos, neg = sample_bpr_triples(data.train_matrix, np.random.default_rng(7))
    bpr, l2 = numpy_bpr(w[users], h[pos], h[neg], [w[users], h[pos], h[neg]], 0.05)
    out = model.train_epoch(0)
    np.testing.assert_allclose([out["Loss"], out["BPR"], out["Reg"]], [bpr + l2, bpr, l2],
                               rtol=1e-5)
    assert not np.allclose(model.user_embedding.numpy(), w)   # one Adam step was taken
    assert int(model.optimizer.step.numpy()) == 1


def test_scores_are_dot_products():
    model = BPRMF(fake_data(HAND), {"dim": 4}, seed=0)
    w, h = model.user_embedding.numpy(), model.item_embedding.numpy()
    users, candidates = np.array([2, 0], np.int32), np.array([[4, 0, 1], [3, 3, 2]], np.int32)
    scores = model.score(users, candidates, None, None)
    np.testing.assert_allclose(scores, np.einsum("nd,ncd->nc", w[users], h[candidates]),
                               rtol=1e-5)


def test_interface_and_seeded_initialisation():
    a, b = (BPRMF(fake_data(HAND), {}, seed=5) for _ in range(2))
    assert a.user_embedding.shape == (3, 64) and a.item_embedding.shape == (5, 64)
    np.testing.assert_array_equal(a.item_embedding.numpy(), b.item_embedding.numpy())
    assert [p["reg"] for p in BPRMF.GRID] == [1e-5, 1e-4, 1e-3] and BPRMF.EPOCHS is None
    assert set(a.checkpoint_items()) == {"user_embedding", "item_embedding", "optimizer"}


@pytest.mark.parametrize("protocol", ["original", "clean"])
def test_trains_and_evaluates_on_tiny(tiny_data_dir, protocol):
    assert_trains_and_evaluates(BPRMF, tiny_data_dir, protocol, {"lr": 1e-2, "batch": 256})
