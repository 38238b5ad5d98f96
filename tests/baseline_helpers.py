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
