"""baselines/protocol.py: what a baseline trains on and how it is scored, per protocol."""
import os

import numpy as np
import pytest

from baselines.protocol import ProtocolData
from selfgnn import data_handler, params, sampler


@pytest.fixture(scope="module")
def tiny(tiny_data_dir):
    p = params.preset_params("tiny", data_dir=str(tiny_data_dir))
    return data_handler.load_dataset(os.path.join(str(tiny_data_dir), "tiny"), p.graphNum,
                                     p.testSize)


def protocol_data(dataset, protocol):
    return ProtocolData(dataset, params.preset_params("tiny", protocol=protocol))


@pytest.mark.parametrize("protocol,test_cut", [("original", 1), ("clean", 2)])
def test_training_sequences_and_matrix(tiny, protocol, test_cut):
    data = protocol_data(tiny, protocol)
    tested = set(tiny.test_users.tolist())
    for u, seq in enumerate(tiny.sequences):
        cut = test_cut if u in tested else 1
        np.testing.assert_array_equal(data.train_sequences[u], seq[:len(seq) - cut])
        row = data.train_matrix[u].toarray().ravel()
        assert set(np.flatnonzero(row)) == set(seq[:len(seq) - cut].tolist())
        assert set(row[row != 0]) <= {1.0}


def test_a_perfect_and_a_constant_scorer(tiny):
    data = protocol_data(tiny, "original")
    best, ranks = data.evaluate(lambda u, c, s, m: (np.arange(c.shape[1])[None, :]
                                                    * np.ones((len(u), 1))), "test")
    assert best["HR"] == best["NDCG"] == 1.0 and not ranks.any()
    # every candidate tied: the original's stable sort puts the positive (last) after all
    tied, ranks = data.evaluate(lambda u, c, s, m: np.zeros(c.shape), "test")
    assert tied["HR20"] == 0.0 and (ranks == params.preset_params("tiny").testSize - 1).all()
    with pytest.raises(ValueError, match="shape"):
        data.evaluate(lambda u, c, s, m: np.zeros((len(u), 2)), "test")


@pytest.mark.parametrize("protocol", ["original", "clean"])
def test_candidates_and_histories_are_selfgnns(tiny, protocol):
    p = params.preset_params("tiny", protocol=protocol)
    data = ProtocolData(tiny, p)
    reference = sampler.Sampler(tiny.sequences, tiny.train_mat, tiny.sub_mats, tiny.tst_int,
                                tiny.test_dict, p, np.random.default_rng(5))
    seen = []
    data.evaluate(lambda u, c, s, m: seen.append((u, c, s, m)) or np.zeros(c.shape), "test")
    users = np.concatenate([u for u, _, _, _ in seen])
    assert users.tolist() == tiny.test_users.tolist()
    for (u, c, s, m), bat in zip(seen, sampler.batches(tiny.test_users, p.batch)):
        tb = reference.test_batch(bat)
        np.testing.assert_array_equal(c, tb.candidates[:len(u)])
        np.testing.assert_array_equal(s, tb.sequence[:len(u)])
        for row, mask, user in zip(s, m, u):
            assert row[mask > 0].tolist() == expected_history(
                tiny.sequences[user].tolist(), tiny.tst_int[user], protocol, p.pos_length)


def expected_history(seq, test_item, protocol, length):
    """The whole sequence (original) or without the test item's last occurrence (clean)."""
    if protocol == "clean":
        last = len(seq) - 1 - seq[::-1].index(test_item)
        seq = seq[:last] + seq[last + 1:]
    return seq[-length:]
