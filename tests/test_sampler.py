"""Tests of selfgnn.sampler on tiny hand-made data."""
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from selfgnn.sampler import Sampler, TestBatch, TrainBatch, batches

NUM_ITEMS = 10
SEQUENCES = [[0, 1, 2, 3, 4], [5, 6], [7], [1, 3, 5, 7, 9, 1, 3], [2, 2, 8, 2], [9, 0, 6, 4]]
TST_INT = [4, None, None, 3, 2, None]


def params(**overrides):
    base = dict(batch=8, pos_length=4, pred_num=0, sslNum=3, graphNum=2, testSize=4,
                trnNum=6, test=True, eval_history="original")
    base.update(overrides)
    return SimpleNamespace(**base)


def train_matrix(sequences, num_items):
    rows = np.concatenate([[u] * len(s) for u, s in enumerate(sequences)]).astype(int)
    cols = np.concatenate([np.asarray(s, dtype=int) for s in sequences])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(sequences), num_items))


def csr_rows(rows, num_items):
    """CSR from per-row lists of (item, value); keeps duplicates and explicit zeros."""
    indptr = np.cumsum([0] + [len(r) for r in rows])
    indices = [i for r in rows for i, _ in r]
    data = [v for r in rows for _, v in r]
    return sp.csr_matrix((np.array(data, float), np.array(indices, int), indptr),
                         shape=(len(rows), num_items))


GRAPH0 = [[(0, 5.0), (1, 5.0), (0, 7.0), (2, 1.0), (3, 2.0)], [], [],
          [(i, 3.0) for i in (1, 2, 3, 4, 5, 6, 7, 9)], [(2, 1.0)], [(6, 0.0), (9, 4.0)]]
GRAPH1 = [[(4, 1.0)], [(5, 0.0), (6, 0.0), (7, 0.0)], [], [(8, 2.0)], [], []]


def default_test_dict():
    negatives = [[5, 6, 7, 8], [0, 1, 2, 3], [0, 1, 2, 3], [0, 2, 4, 6], [0, 1, 3, 4], [1, 2, 3, 5]]
    return {u + 1: [i + 1 for i in negs] for u, negs in enumerate(negatives)}


def make_sampler(seed=0, sequences=SEQUENCES, tst_int=TST_INT, num_items=NUM_ITEMS,
                 train_mat=None, sub_mats=None, test_dict=None, **overrides):
    seqs = [np.asarray(s, dtype=np.int64) for s in sequences]
    if train_mat is None:
        train_mat = train_matrix(sequences, num_items)
    if sub_mats is None:
        sub_mats = [csr_rows(GRAPH0, num_items), csr_rows(GRAPH1, num_items)]
    if test_dict is None:
        test_dict = default_test_dict()
    return Sampler(seqs, train_mat, sub_mats, tst_int, test_dict, params(**overrides),
                   np.random.default_rng(seed))


ALL_USERS = np.arange(len(SEQUENCES))


def pair_counts(users, sequences=SEQUENCES):
    return np.array([min(40, max(len(sequences[u]) - 1, 0)) for u in users])


@pytest.mark.parametrize("users", [ALL_USERS, ALL_USERS[::-1], np.array([3, 0]), np.array([2])])
def test_pair_layout(users):
    b = make_sampler().train_batch(users)
    samp = pair_counts(users)
    half = samp.sum()
    assert len(b.uids) == len(b.iids) == len(b.u_locs) == 2 * half
    np.testing.assert_array_equal(b.uids[:half], np.repeat(users, samp))
    np.testing.assert_array_equal(b.uids[half:], b.uids[:half])
    np.testing.assert_array_equal(b.u_locs[:half], np.repeat(np.arange(len(users)), samp))
    np.testing.assert_array_equal(b.u_locs[half:], b.u_locs[:half])
    np.testing.assert_array_equal(users[b.u_locs], b.uids)
    for arr in (b.uids, b.iids, b.u_locs, b.sequence):
        assert arr.dtype == np.int32
    assert b.mask.dtype == np.float32 and b.sequence.shape == b.mask.shape == (8, 4)


@pytest.mark.parametrize("seed", range(3))
def test_target_is_second_last_item_when_pred_num_zero(seed):
    b = make_sampler(seed).train_batch(ALL_USERS)
    samp = pair_counts(ALL_USERS)
    expected = np.concatenate([SEQUENCES[u][-2:-1] * samp[u] for u in ALL_USERS])
    np.testing.assert_array_equal(b.iids[:samp.sum()], expected)


@pytest.mark.parametrize("seed", range(2))
def test_clean_protocol_holds_the_validation_item_out_of_test_users_training(seed):
    b = make_sampler(seed, protocol="clean").train_batch(ALL_USERS)
    tested = [t is not None for t in TST_INT]
    cut = [2 if t else 1 for t in tested]           # sequence[:-2] for test users
    samp = np.array([min(40, max(len(s) - c, 0)) for s, c in zip(SEQUENCES, cut)])
    expected = np.concatenate([SEQUENCES[u][-c - 1:-c] * samp[u] if samp[u] else []
                               for u, c in zip(ALL_USERS, cut)])
    np.testing.assert_array_equal(b.iids[:samp.sum()], expected)
    # user 0 (test user, 5 items): target sequence[-3] = 2, history [0, 1] right-aligned
    np.testing.assert_array_equal(b.sequence[0], [0, 0, 0, 1])
    np.testing.assert_array_equal(b.mask[0], [0, 0, 1, 1])


def test_choose_window_and_history_with_pred_num():
    seq = list(range(20))
    sampler = make_sampler(sequences=[seq, [20, 21, 22, 23, 24]], tst_int=[None, None],
                           num_items=50, sub_mats=[], graphNum=0, pos_length=30, pred_num=5,
                           test_dict={})
    seen = set()
    for _ in range(400):
        b = sampler.train_batch(np.array([0, 1]))
        choose = 19 - b.iids[0]
        seen.add(int(choose))
        assert b.mask[0].sum() == 19 - choose
        np.testing.assert_array_equal(b.sequence[0, 30 - (19 - choose):], seq[:19 - choose])
        assert b.iids[19] == 23
    assert seen == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("seed", range(3))
def test_negatives_exclusions_and_uniformity(seed):
    sequences = [[0, 1, 2, 3, 4], [5, 6, 5, 6], list(range(12)) * 4]
    rows = [[(i, 1.0) for i in s] for s in sequences]
    rows[1] += [(15, 1.0), (16, 0.0)]
    sampler = make_sampler(seed, sequences=sequences, tst_int=[4, 9, None], num_items=20,
                           train_mat=csr_rows(rows, 20), sub_mats=[], graphNum=0, test_dict={})
    counts = np.zeros((3, 20), dtype=int)
    for _ in range(1000):
        b = sampler.train_batch(np.arange(3))
        half = len(b.uids) // 2
        np.add.at(counts, (b.uids[half:], b.iids[half:]), 1)
    excluded = [set(range(5)), {5, 6, 9, 15}, set(range(12))]
    for u, bad in enumerate(excluded):
        eligible = sorted(set(range(20)) - bad)
        assert counts[u, sorted(bad)].sum() == 0
        expected = counts[u].sum() / len(eligible)
        assert counts[u, eligible].min() > 0.6 * expected
        assert counts[u, eligible].max() < 1.4 * expected


def test_history_right_aligned_and_truncated():
    b = make_sampler().train_batch(ALL_USERS)
    np.testing.assert_array_equal(b.sequence[0], [0, 0, 1, 2])
    np.testing.assert_array_equal(b.mask[0], [0, 1, 1, 1])
    np.testing.assert_array_equal(b.sequence[3], [3, 5, 7, 9])
    np.testing.assert_array_equal(b.mask[3], [1, 1, 1, 1])
    np.testing.assert_array_equal(b.sequence[4], [0, 0, 2, 2])
    np.testing.assert_array_equal(b.sequence[5], [0, 0, 9, 0])
    np.testing.assert_array_equal(b.mask[5], [0, 0, 1, 1])


def test_empty_history_short_sequences_and_padding():
    b = make_sampler().train_batch(np.array([1, 2]))
    assert not b.sequence.any() and not b.mask.any()
    np.testing.assert_array_equal(b.uids, [1, 1])
    np.testing.assert_array_equal(b.iids[:1], [5])
    b = make_sampler().train_batch(ALL_USERS)
    assert not b.sequence[6:].any() and not b.mask[6:].any()
    assert not b.sequence[1].any() and not b.sequence[2].any()


def test_forty_pair_cap():
    sequences = [list(range(60)), [60, 61, 62]]
    b = make_sampler(sequences=sequences, tst_int=[None, None], num_items=100, sub_mats=[],
                     graphNum=0, test_dict={}).train_batch(np.array([0, 1]))
    assert len(b.uids) == 2 * (40 + 2)
    assert (b.iids[:40] == 58).all()


def test_too_many_users_rejected():
    with pytest.raises(ValueError):
        make_sampler(batch=2).train_batch(np.array([0, 1, 3]))


def test_ssl_pairs_counts_interleaving_and_support():
    users = np.array([5, 4, 3, 2, 1, 0])
    b = make_sampler().train_batch(users)
    assert len(b.ssl_uids) == len(b.ssl_iids) == 2
    uids, iids = b.ssl_uids[0], b.ssl_iids[0]
    np.testing.assert_array_equal(uids, [3] * 6 + [0] * 4)
    np.testing.assert_array_equal(uids[0::2], uids[1::2])
    support = {u: {i for i, v in row if v != 0} for u, row in enumerate(GRAPH0)}
    assert all(int(i) in support[int(u)] for u, i in zip(uids, iids))
    assert b.ssl_uids[1].dtype == b.ssl_iids[1].dtype == np.int32
    assert len(b.ssl_uids[1]) == len(b.ssl_iids[1]) == 0


def test_ssl_covers_all_items_and_respects_ssl_num():
    sampler = make_sampler(sslNum=1, graphNum=1)
    seen = {0: set(), 3: set()}
    for _ in range(200):
        b = sampler.train_batch(ALL_USERS)
        assert len(b.ssl_uids) == 1
        np.testing.assert_array_equal(b.ssl_uids[0], [0, 0, 3, 3])
        for u, i in zip(b.ssl_uids[0], b.ssl_iids[0]):
            seen[int(u)].add(int(i))
    assert seen == {0: {0, 1, 2, 3}, 3: {1, 2, 3, 4, 5, 6, 7, 9}}


def test_test_batch_default():
    b = make_sampler().test_batch(np.array([0, 3, 4]))
    assert isinstance(b, TestBatch) and b.num_valid == 3
    np.testing.assert_array_equal(b.users, [0, 3, 4, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(b.positives, [4, 3, 2, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(b.candidates[:3], [[5, 6, 7, 4], [0, 2, 4, 3], [0, 1, 3, 2]])
    assert not b.candidates[3:].any()
    np.testing.assert_array_equal(b.sequence[:3], [[1, 2, 3, 4], [7, 9, 1, 3], [2, 2, 8, 2]])
    np.testing.assert_array_equal(b.mask[:3], np.ones((3, 4)))
    assert not b.sequence[3:].any() and not b.mask[3:].any()
    for arr in (b.users, b.candidates, b.positives, b.sequence):
        assert arr.dtype == np.int32


def test_test_batch_exclude_target_and_validation_mode():
    b = make_sampler(eval_history="exclude_target").test_batch(np.array([0, 4]))
    np.testing.assert_array_equal(b.sequence[:2], [[0, 1, 2, 3], [0, 2, 2, 8]])
    np.testing.assert_array_equal(b.mask[1], [0, 1, 1, 1])
    b = make_sampler(test=False).test_batch(np.array([3, 4, 1]))
    np.testing.assert_array_equal(b.positives[:3], [3, 2, 6])
    np.testing.assert_array_equal(b.candidates[2], [0, 1, 2, 6])
    np.testing.assert_array_equal(b.sequence[:3], [[5, 7, 9, 1], [0, 2, 2, 8], [0, 0, 0, 5]])
    b = make_sampler(test=False, eval_history="exclude_target").test_batch(np.array([3, 4, 1]))
    np.testing.assert_array_equal(b.sequence[:3], [[5, 7, 9, 1], [0, 0, 2, 8], [0, 0, 0, 5]])
    np.testing.assert_array_equal(b.mask[:3].sum(axis=1), [4, 2, 1])


def reference_history(seq, positive, test_mode, exclude, length):
    hist = list(seq) if test_mode else list(seq[:-1])
    if exclude and positive in hist:
        del hist[len(hist) - 1 - hist[::-1].index(positive)]
    row, mask = np.zeros(length, int), np.zeros(length)
    kept = hist[-length:] if hist else []
    if kept:
        row[-len(kept):], mask[-len(kept):] = kept, 1.0
    return row, mask


@pytest.mark.parametrize("test_mode", [True, False])
@pytest.mark.parametrize("eval_history", ["original", "exclude_target"])
def test_test_history_matches_reference(test_mode, eval_history):
    rng = np.random.default_rng(7)
    sequences = [list(rng.integers(0, 4, size=n)) for n in rng.integers(1, 12, size=40)]
    tst = [s[-1] for s in sequences]
    test_dict = {u + 1: [5, 6, 7] for u in range(40)}
    b = make_sampler(sequences=sequences, tst_int=tst, num_items=8, sub_mats=[], graphNum=0,
                     test_dict=test_dict, batch=40, pos_length=5, test=test_mode,
                     eval_history=eval_history).test_batch(np.arange(40))
    for u, seq in enumerate(sequences):
        row, mask = reference_history(seq, seq[-1], test_mode, eval_history != "original", 5)
        np.testing.assert_array_equal(b.sequence[u], row)
        np.testing.assert_array_equal(b.mask[u], mask)


@pytest.mark.parametrize("test_dict, match", [
    ({1: [6, 7, 8], 4: [1, 3, 5]}, "user 4"),
    ({1: [6, 7, 8], 4: [1, 3, 5], 5: [1, 2]}, "user 4"),
])
def test_test_batch_errors(test_dict, match):
    sampler = make_sampler(test_dict=test_dict)
    sampler.test_batch(np.array([0, 3]))
    with pytest.raises(ValueError, match=match):
        sampler.test_batch(np.array([0, 3, 4]))


def test_no_eligible_negative_raises():
    sampler = make_sampler(sequences=[[0, 1, 2], [0, 1]], tst_int=[2, None], num_items=3,
                           sub_mats=[], graphNum=0, test_dict={})
    sampler.train_batch(np.array([1]))
    with pytest.raises(ValueError, match="user 0"):
        sampler.train_batch(np.array([1, 0]))


def test_determinism():
    a, b = make_sampler(seed=11), make_sampler(seed=11)
    np.testing.assert_array_equal(a.epoch_users(), b.epoch_users())
    for _ in range(3):
        ba, bb = a.train_batch(ALL_USERS), b.train_batch(ALL_USERS)
        assert isinstance(ba, TrainBatch)
        for x, y in zip(ba, bb):
            if isinstance(x, tuple):
                for xa, ya in zip(x, y):
                    np.testing.assert_array_equal(xa, ya)
            else:
                np.testing.assert_array_equal(x, y)


def test_epoch_users_batches_and_test_users():
    sampler = make_sampler(trnNum=4)
    users = sampler.epoch_users()
    assert len(users) == 4 and len(set(users.tolist())) == 4 and users.max() < 6
    chunks = list(batches(np.arange(7), 3))
    assert [c.tolist() for c in chunks] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [c.tolist() for c in sampler.batches(np.arange(4), 4)] == [[0, 1, 2, 3]]
    np.testing.assert_array_equal(sampler.test_users(), [0, 3, 4])
