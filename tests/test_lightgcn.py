"""LightGCN's propagation against dense NumPy, its loss, checkpoint and training."""
import numpy as np
import pytest
import tensorflow as tf

from baselines.bprmf import sample_bpr_triples
from baselines.lightgcn import LightGCN, normalized_adjacency
from tests.test_bprmf import numpy_bpr
from tests.baseline_helpers import assert_trains_and_evaluates, fake_data, tiny_protocol_data

HAND = [[1, 1, 0, 0],
        [0, 1, 1, 0],
        [1, 1, 1, 0],
        [0, 0, 0, 0]]   # user 3 and item 3 have no edge


def dense_normalized_adjacency(rows):
    """D^-1/2 A D^-1/2 with A = [[0, R], [R^T, 0]] ((U+I) x (U+I)); 0 rows for isolated nodes."""
    r = np.asarray(rows, np.float64)
    u, i = r.shape
    a = np.zeros((u + i, u + i))
    a[:u, u:], a[u:, :u] = r, r.T
    degree = a.sum(1)
    inv = np.divide(1.0, np.sqrt(degree), out=np.zeros_like(degree), where=degree > 0)
    return inv[:, None] * a * inv[None, :]


def dense_mean_propagation(rows, layers):
    """M = mean_{k=0..K} A_hat^k (eqs. 3-4 as one matrix)."""
    a_hat = dense_normalized_adjacency(rows)
    powers = [np.eye(len(a_hat))]
    for _ in range(layers):
        powers.append(a_hat @ powers[-1])
    return np.mean(powers, 0)


def model_with_weights(rows, layers, seed=0, **config):
    data = fake_data(rows)
    model = LightGCN(data, dict({"dim": 3, "layers": layers}, **config), seed)
    ego = np.random.default_rng(seed).normal(size=(data.num_users + data.num_items, 3))
    model.user_embedding.assign(ego[:data.num_users].astype(np.float32))
    model.item_embedding.assign(ego[data.num_users:].astype(np.float32))
    return model, ego


def test_normalized_adjacency_equals_dense():
    adjacency = tf.sparse.to_dense(normalized_adjacency(fake_data(HAND).train_matrix)).numpy()
    np.testing.assert_allclose(adjacency, dense_normalized_adjacency(HAND), rtol=1e-6)
    assert adjacency[0, 4 + 1] == pytest.approx(1 / np.sqrt(2 * 3))   # |N_u0| 2, |N_i1| 3


@pytest.mark.parametrize("layers", [0, 1, 3])
def test_propagation_and_its_gradient_equal_dense_numpy(layers):
    model, ego = model_with_weights(HAND, layers)
    weights = np.random.default_rng(9).normal(size=ego.shape)
    with tf.GradientTape() as tape:
        users, items = model.embeddings()
        objective = tf.reduce_sum(tf.concat([users, items], 0) * weights)
    grads = tape.gradient(objective, [model.user_embedding, model.item_embedding])
    mean = dense_mean_propagation(HAND, layers)
    np.testing.assert_allclose(tf.concat([users, items], 0).numpy(), mean @ ego, atol=1e-6)
    np.testing.assert_allclose(tf.concat(grads, 0).numpy(), mean.T @ weights, atol=1e-5)


def test_scores_are_dot_products_of_the_final_embeddings():
    model, ego = model_with_weights(HAND, 2)
    final = dense_mean_propagation(HAND, 2) @ ego
    users, candidates = np.array([1, 3], np.int32), np.array([[0, 3, 2], [1, 1, 0]], np.int32)
    want = np.einsum("nd,ncd->nc", final[users], final[4 + candidates])
    np.testing.assert_allclose(model.score(users, candidates, None, None), want, atol=1e-6)


def test_first_epoch_loss_uses_final_scores_and_ego_l2():
    """One batch: BPR on the propagated embeddings, L2 on the layer-0 rows of the batch."""
    model, ego = model_with_weights(HAND, 2, seed=4, reg=0.1, batch=64)
    final = dense_mean_propagation(HAND, 2) @ ego
    users, pos, neg = sample_bpr_triples(model.data.train_matrix, np.random.default_rng(4))
    pos, neg = pos + 4, neg + 4                                  # rows of items in [U+I, d]
    bpr, l2 = numpy_bpr(final[users], final[pos], final[neg], [ego[users], ego[pos], ego[neg]],
                        0.1)
    out = model.train_epoch(0)
    np.testing.assert_allclose([out["Loss"], out["BPR"], out["Reg"]], [bpr + l2, bpr, l2],
                               rtol=1e-5)


def test_checkpoint_round_trip_gives_the_same_scores(tiny_data_dir, tmp_path):
    data = tiny_protocol_data(tiny_data_dir, "original")
    trained = LightGCN(data, {"layers": 2, "dim": 16}, seed=0)
    trained.train_epoch(0)
    path = tf.train.Checkpoint(**trained.checkpoint_items()).save(str(tmp_path / "ckpt"))
    users = data.test_users[:8]
    candidates = np.tile(np.arange(data.num_items, dtype=np.int32), (8, 1))
    before = trained.score(users, candidates, None, None)
    restored = LightGCN(data, {"layers": 2, "dim": 16}, seed=1)
    assert not np.allclose(restored.score(users, candidates, None, None), before)
    tf.train.Checkpoint(**restored.checkpoint_items()).restore(path).assert_consumed()
    np.testing.assert_array_equal(restored.score(users, candidates, None, None), before)
    assert int(restored.optimizer.step.numpy()) == int(trained.optimizer.step.numpy()) > 0
    for a, b in zip(trained.optimizer.m, restored.optimizer.m):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_interface():
    assert [p["layers"] for p in LightGCN.GRID] == [2, 3] and LightGCN.EPOCHS is None
    assert LightGCN.DEFAULTS == {"dim": 64, "layers": 3, "reg": 1e-4, "lr": 1e-3, "batch": 2048}
    with pytest.raises(ValueError, match="layers must be"):
        LightGCN(fake_data(HAND), {"layers": -1}, 0)


@pytest.mark.parametrize("protocol", ["original", "clean"])
def test_trains_and_evaluates_on_tiny(tiny_data_dir, protocol):
    assert_trains_and_evaluates(LightGCN, tiny_data_dir, protocol, {"lr": 1e-2, "batch": 256})
