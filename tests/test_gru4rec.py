"""Behaviour of the GRU4Rec baseline (baselines.gru4rec): the GRU against NumPy with fixed
weights, padding, training and evaluation on the tiny data set."""

import numpy as np
import pytest
import tensorflow as tf

from baselines import model_class
from baselines.gru4rec import GRU4Rec
from tests.baseline_helpers import padded_histories, tiny_protocol_data

SMALL = {"hidden": 8, "maxlen": 20}


@pytest.fixture(scope="module")
def data(tiny_data_dir):
    return tiny_protocol_data(tiny_data_dir, "clean")


@pytest.fixture(scope="module")
def trained(data):
    model = GRU4Rec(data, dict(SMALL, lr=1e-2, dropout=0.25), seed=3)
    for ep in range(2):
        model.train_epoch(ep)
    return model


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_gru(emb, w, u, b, ids):
    """The paper's GRU equations step by step, the state kept on padded (id 0) steps."""
    d = emb.shape[1]
    h = np.zeros((ids.shape[0], d))
    out = []
    for t in range(ids.shape[1]):
        x = emb[ids[:, t]]
        z = sigmoid(x @ w[:, :d] + h @ u[:, :d] + b[:d])
        r = sigmoid(x @ w[:, d:2 * d] + h @ u[:, d:2 * d] + b[d:2 * d])
        cand = np.tanh(x @ w[:, 2 * d:] + (r * h) @ u[:, 2 * d:] + b[2 * d:])
        new = (1 - z) * h + z * cand
        h = np.where(ids[:, t:t + 1] > 0, new, h)
        out.append(h)
    return np.stack(out, 1)


def test_registry_and_unknown_keys(data):
    assert model_class("gru4rec") is GRU4Rec
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        GRU4Rec(data, {"blocks": 2}, seed=0)


def test_gru_matches_numpy_with_fixed_weights(data):
    model = GRU4Rec(data, SMALL, seed=0)
    rng = np.random.default_rng(0)
    net, d = model.net, SMALL["hidden"]
    weights = {"item_emb": rng.normal(size=(data.num_items + 1, d)),
               "input_kernel": rng.normal(scale=0.5, size=(d, 3 * d)),
               "recurrent_kernel": rng.normal(scale=0.5, size=(d, 3 * d)),
               "bias": rng.normal(scale=0.1, size=3 * d)}
    for name, value in weights.items():
        getattr(net, name).assign(value.astype(np.float32))
    ids = rng.integers(1, data.num_items + 1, size=(4, 6))
    ids[1, :2] = 0                                                   # left padding
    ids[2, 3] = 0                                                    # a hole mid-sequence
    ids[3, :] = 0                                                    # empty history
    expected = numpy_gru(*(v.astype(np.float32).astype(np.float64) for v in weights.values()), ids)
    np.testing.assert_allclose(net.states(tf.constant(ids, tf.int32)).numpy(), expected,
                               rtol=1e-4, atol=1e-5)
    assert not expected[3].any()


def test_left_padding_does_not_change_the_state(trained, data):
    history = np.random.default_rng(1).integers(1, data.num_items + 1, size=(2, 5))
    short = trained.net.states(tf.constant(history, tf.int32)).numpy()[:, -1]
    padded = np.pad(history, [(0, 0), (15, 0)])
    np.testing.assert_allclose(trained.net.states(tf.constant(padded, tf.int32)).numpy()[:, -1],
                               short, rtol=1e-5, atol=1e-6)


def test_padding_ids_do_not_change_scores(trained, data):
    users, cand, seq, noisy, mask = padded_histories(np.random.default_rng(2), data,
                                                     [0, 1, 7, data.pos_length], 6)
    scores = trained.score(users, cand, seq, mask)
    assert scores.shape == (4, 6) and np.isfinite(scores).all()
    assert not scores[0].any()                                       # empty history: h = 0
    np.testing.assert_array_equal(trained.score(users, cand, noisy, mask), scores)


def test_training_lowers_the_loss(data):
    model = GRU4Rec(data, dict(SMALL, lr=1e-2, batch=16), seed=5)
    losses = [model.train_epoch(ep)["Loss"] for ep in range(6)]
    assert all(np.isfinite(losses))
    assert losses[0] == pytest.approx(np.log(data.num_items), abs=0.1)  # near-uniform start
    assert np.mean(losses[-2:]) < losses[0] - 0.1


def test_end_to_end_evaluation(trained, data):
    for target in ("before_test", "test"):
        metrics, ranks = data.evaluate(trained.score, target)
        assert 0.0 <= metrics["HR"] <= 1.0 and 0.0 <= metrics["NDCG"] <= 1.0
        assert len(ranks) == len(data.test_users)


def test_checkpoint_round_trip(trained, data, tmp_path):
    path = tf.train.Checkpoint(**trained.checkpoint_items()).write(str(tmp_path / "ckpt"))
    fresh = GRU4Rec(data, dict(SMALL, lr=1e-2, dropout=0.25), seed=99)
    tf.train.Checkpoint(**fresh.checkpoint_items()).read(path).assert_consumed()
    rng = np.random.default_rng(3)
    seq = rng.integers(0, data.num_items, (3, data.pos_length)).astype(np.int32)
    mask = np.ones_like(seq, np.float32)
    cand = rng.integers(0, data.num_items, (3, 5)).astype(np.int32)
    users = np.arange(3, dtype=np.int32)
    np.testing.assert_array_equal(fresh.score(users, cand, seq, mask),
                                  trained.score(users, cand, seq, mask))
