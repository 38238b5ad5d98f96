"""Small helpers shared by the baseline tests (not a test module)."""
import os
import types

import numpy as np
import scipy.sparse as sp

from baselines.protocol import ProtocolData
from selfgnn.data_handler import load_dataset
from selfgnn.params import preset_params


def fake_data(rows, pos_length=4):
    """A ProtocolData stand-in for the binary matrix `rows` (list of 0/1 lists)."""
    dense = np.asarray(rows, np.float32)                                    # [U, I]
    return types.SimpleNamespace(
        num_users=dense.shape[0], num_items=dense.shape[1], pos_length=pos_length,
        train_sequences=[np.flatnonzero(r).astype(np.int64) for r in dense],
        train_matrix=sp.csr_matrix(dense))


def tiny_protocol_data(root, protocol):
    """ProtocolData of the `tiny` synthetic set (tests/conftest.py) under `protocol`."""
    p = preset_params("tiny", protocol=protocol)
    return ProtocolData(load_dataset(os.path.join(root, "tiny"), p.graphNum, p.testSize), p)


def assert_unit_metrics(metrics):
    assert {"HR", "NDCG"} <= set(metrics)
    for name, value in metrics.items():
        assert 0.0 <= value <= 1.0, (name, value)


def assert_trains_and_evaluates(cls, root, protocol, config, epochs=6, drop=0.02):
    """`cls(config)` on the tiny set under `protocol`: the loss falls by `drop` over
    `epochs` epochs and the validation metrics are in [0, 1]."""
    data = tiny_protocol_data(root, protocol)
    model = cls(data, config, seed=0)
    losses = [model.train_epoch(ep)["Loss"] for ep in range(epochs)]
    assert losses[-1] < losses[0] - drop, losses
    metrics, _ = data.evaluate(model.score, "before_test")
    assert_unit_metrics(metrics)


def padded_histories(rng, data, fills, num_candidates):
    """(users, candidates, sequence, noisy, mask): right-aligned histories with `fills`
    items per row; `noisy` has random ids where the mask is 0."""
    n, length = len(fills), data.pos_length
    mask = np.zeros((n, length), np.float32)
    for row, filled in enumerate(fills):
        mask[row, length - filled:] = 1.0
    seq = np.where(mask > 0, rng.integers(0, data.num_items, (n, length)), 0).astype(np.int32)
    noisy = np.where(mask > 0, seq, rng.integers(0, data.num_items, (n, length))).astype(np.int32)
    cand = rng.integers(0, data.num_items, (n, num_candidates)).astype(np.int32)
    return np.arange(n, dtype=np.int32), cand, seq, noisy, mask
