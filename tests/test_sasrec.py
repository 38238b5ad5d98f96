"""Behaviour of the SASRec baseline (baselines.sasrec) on small inputs and the tiny data set."""

import numpy as np
import pytest
import tensorflow as tf

from baselines import model_class
from baselines.sasrec import SASRec
from tests.baseline_helpers import padded_histories, tiny_protocol_data

SMALL = {"hidden": 8, "maxlen": 20, "heads": 2}


@pytest.fixture(scope="module")
def data(tiny_data_dir):
    return tiny_protocol_data(tiny_data_dir, "original")


@pytest.fixture(scope="module")
def trained(data):
    """A small model after two epochs (shared by the read-only tests)."""
    model = SASRec(data, dict(SMALL, lr=1e-2), seed=3)
    for ep in range(2):
        model.train_epoch(ep)
    return model


def test_registry_and_unknown_keys(data):
    assert model_class("sasrec") is SASRec
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        SASRec(data, {"hiden": 8}, seed=0)


def test_attention_is_causal(data):
    """Changing the item at position t changes no output before t (inference: no dropout)."""
    model = SASRec(data, SMALL, seed=0)
    ids = np.random.default_rng(0).integers(1, data.num_items + 1, size=(3, 20)).astype(np.int32)
    ids[0, :6] = 0                                                   # some left padding
    changed = ids.copy()
    changed[:, 12] = changed[:, 12] % data.num_items + 1
    before, after = model.net(ids).numpy(), model.net(changed).numpy()
    np.testing.assert_allclose(before[:, :12], after[:, :12], rtol=1e-6, atol=1e-6)
    assert np.abs(before[:, 12:] - after[:, 12:]).max() > 1e-4


def test_padding_ids_do_not_change_scores(trained, data):
    users, cand, seq, noisy, mask = padded_histories(np.random.default_rng(1), data,
                                                     [0, 3, 10, data.pos_length], 7)
    scores = trained.score(users, cand, seq, mask)
    assert scores.shape == (4, 7) and np.isfinite(scores).all()
    np.testing.assert_allclose(trained.score(users, cand, noisy, mask), scores, rtol=1e-6)


def test_padding_is_invisible(trained, data):
    """With padding keys masked, dropping the padded columns changes no output, even
    though the trained dense biases give the padding positions non-zero keys."""
    ids = np.random.default_rng(4).integers(1, data.num_items + 1, size=(2, 20)).astype(np.int32)
    ids[:, :14] = 0
    full = trained.net(ids).numpy()
    np.testing.assert_allclose(trained.net(ids[:, 14:]).numpy(), full[:, 14:], rtol=1e-5,
                               atol=1e-5)


@pytest.mark.slow
def test_training_lowers_the_loss_and_is_seeded(data):
    losses = []
    for _ in range(2):
        model = SASRec(data, dict(SMALL, lr=1e-2), seed=5)
        losses.append([model.train_epoch(ep)["Loss"] for ep in range(6)])
    assert losses[0] == losses[1]                                    # same seed, same run
    assert all(np.isfinite(losses[0]))
    assert np.mean(losses[0][-2:]) < losses[0][0] - 0.05


def test_negatives_are_never_training_items(trained, data):
    rows = np.arange(len(trained.users))
    for _ in range(5):
        valid = trained.targets[rows] > 0
        negatives = trained.sample_negatives(trained.users[rows], valid)
        assert ((negatives > 0) == valid).all()
        for row, u in enumerate(trained.users[rows]):
            drawn = negatives[row][valid[row]] - 1
            assert drawn.min() >= 0 and drawn.max() < data.num_items
            assert not np.isin(drawn, data.train_sequences[u]).any()


def test_end_to_end_evaluation(trained, data):
    metrics, ranks = data.evaluate(trained.score, "before_test")
    for name in ("HR", "NDCG"):
        assert 0.0 <= metrics[name] <= 1.0
    assert len(ranks) == len(data.test_users)


def test_checkpoint_round_trip(trained, data, tmp_path):
    path = tf.train.Checkpoint(**trained.checkpoint_items()).write(str(tmp_path / "ckpt"))
    fresh = SASRec(data, dict(SMALL, lr=1e-2), seed=99)
    tf.train.Checkpoint(**fresh.checkpoint_items()).read(path).assert_consumed()
    rng = np.random.default_rng(2)
    seq = rng.integers(0, data.num_items, (5, data.pos_length)).astype(np.int32)
    mask = np.ones_like(seq, np.float32)
    cand = rng.integers(0, data.num_items, (5, 9)).astype(np.int32)
    users = np.arange(5, dtype=np.int32)
    np.testing.assert_array_equal(fresh.score(users, cand, seq, mask),
                                  trained.score(users, cand, seq, mask))
    assert int(fresh.optimizer.step) == int(trained.optimizer.step) > 0
