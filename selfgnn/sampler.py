"""Vectorised numpy port of the SelfGNN batch samplers (``HKUDS/SelfGNN``).

Reproduces the original ``trainEpoch`` user permutation, ``sampleTrainBatch``,
``sampleSslBatch`` and ``sampleTestBatch``.  All randomness comes from the
``np.random.Generator`` handed to :class:`Sampler`; no TensorFlow is imported.
"""
from typing import Iterator, NamedTuple

import numpy as np

from selfgnn.ragged import (negative_table, nonzero_csr, pad_rows, right_aligned,
                            right_aligned_without)

HISTORY_CUT = {"test": 0, "last": 1, "before_test": 2}
"""Evaluation target -> items cut from the end of the sequence to form the history."""

TRAIN_SAMPLE_CAP = 40
"""Per-user pair cap hard-coded in the original ``trainEpoch`` (not ``sampNum``)."""


def training_cut(tst, protocol="original"):
    """Items cut from the end of each user's sequence to form its training sequence [U].

    1 for every user (the original's `posset = sequence[u][:-1]`); under
    `--protocol clean` 2 for a test user (`tst >= 0`), so that its validation item
    `sequence[u][-2]` is never a training target nor in a training history.
    """
    cut = np.ones(len(tst), np.int64)
    if protocol == "clean":
        cut[np.asarray(tst) >= 0] = 2
    return cut


class TrainBatch(NamedTuple):
    """Inputs of one training step (original ``sampleTrainBatch`` + ``sampleSslBatch``)."""

    uids: np.ndarray
    iids: np.ndarray
    u_locs: np.ndarray
    sequence: np.ndarray
    mask: np.ndarray
    ssl_uids: tuple
    ssl_iids: tuple


class TestBatch(NamedTuple):
    """Inputs of one evaluation step (original ``sampleTestBatch``)."""

    __test__ = False

    users: np.ndarray
    candidates: np.ndarray
    positives: np.ndarray
    sequence: np.ndarray
    mask: np.ndarray
    num_valid: int


def batches(users: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Yield consecutive slices of ``size`` users, the last one possibly shorter.

    Reproduces the ``batIds = sfIds[st:ed]`` loop of the original ``trainEpoch``
    and ``testEpoch``.
    """
    if size <= 0:
        raise ValueError(f"batch size must be positive, got {size}")
    for start in range(0, len(users), size):
        yield users[start:start + size]


class Sampler:
    """Draws SelfGNN training, SSL and test batches for one dataset.

    ``params`` needs ``batch``, ``pos_length``, ``pred_num``, ``sslNum``,
    ``graphNum``, ``testSize``, ``trnNum``, ``test`` and ``eval_history``.
    ``test`` and ``eval_history`` are read when a test batch is drawn, the
    others once here.
    """

    def __init__(self, sequences, train_mat, sub_mats, tst_int, test_dict, params, rng):
        self._params = params
        self._rng = rng
        self._num_users, self._num_items = train_mat.shape
        if len(sequences) != self._num_users or len(tst_int) != self._num_users:
            raise ValueError("sequences, tst_int and train_mat must cover the same users")
        self._batch = int(params.batch)
        self._length = int(params.pos_length)
        self._pred_num = int(params.pred_num)
        self._ssl_num = int(params.sslNum)
        self._trn_num = int(params.trnNum)
        self._test_size = int(params.testSize)
        graph_num = int(params.graphNum)
        if graph_num > len(sub_mats):
            raise ValueError(f"graphNum={graph_num} but only {len(sub_mats)} sub_mats given")

        seq_len = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=self._num_users)
        self._seq_len = seq_len
        self._seq_start = np.concatenate([[0], np.cumsum(seq_len)[:-1]]).astype(np.int64)
        self._seq_flat = np.concatenate([np.zeros(0, np.int64)]
                                        + [np.asarray(s, dtype=np.int64) for s in sequences])
        self._tst = np.array([-1 if t is None else int(t) for t in tst_int], dtype=np.int64)
        self._cut = training_cut(self._tst, getattr(params, "protocol", "original"))

        train = nonzero_csr(train_mat)
        rows = np.repeat(np.arange(self._num_users, dtype=np.int64), np.diff(train.indptr))
        self._train_keys = rows * self._num_items + train.indices
        self._sub_mats = tuple(nonzero_csr(m) for m in sub_mats[:graph_num])
        self._neg_table, self._neg_count = negative_table(test_dict, self._num_users,
                                                          self._test_size - 1)

    @property
    def training_cuts(self) -> np.ndarray:
        """Items cut from the end of each user's sequence for training [U] (`training_cut`)."""
        return self._cut

    @property
    def rng(self) -> np.random.Generator:
        """The generator every draw comes from (its state is saved to resume a run)."""
        return self._rng

    def epoch_users(self) -> np.ndarray:
        """Training users of one epoch: ``permutation(U)[:trnNum]`` (original ``trainEpoch``)."""
        return self._rng.permutation(self._num_users)[:self._trn_num].astype(np.int32)

    batches = staticmethod(batches)

    def test_users(self) -> np.ndarray:
        """Users with a test item, ascending (original ``tstUsrs``)."""
        return np.flatnonzero(self._tst >= 0).astype(np.int32)

    def _check_users(self, users) -> np.ndarray:
        """Validated int64 user ids; at most ``batch`` of them (the original's fixed batch)."""
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if len(users) > self._batch:
            raise ValueError(f"{len(users)} users exceed the batch size {self._batch}")
        if len(users) and (users.min() < 0 or users.max() >= self._num_users):
            raise ValueError(f"user ids must lie in [0, {self._num_users})")
        return users

    def _padded_history(self, start, length):
        """Right-aligned ``[B, L]`` int32 history and float32 mask, padded to ``batch`` rows."""
        window, valid = right_aligned(self._seq_flat, start, length, self._length)
        return pad_rows(window, self._batch), pad_rows(valid, self._batch, np.float32)

    def _in_train(self, owners, items):
        """Whether ``train_mat[owners, items] != 0`` (searchsorted on sorted ``u*I+i`` keys)."""
        if not len(self._train_keys):
            return np.zeros(len(owners), dtype=bool)
        keys = owners * self._num_items + items
        pos = np.minimum(np.searchsorted(self._train_keys, keys), len(self._train_keys) - 1)
        return self._train_keys[pos] == keys

    def _last_items(self, users):
        """``sequences[u][-1]`` for users with non-empty sequences."""
        return self._seq_flat[self._seq_start[users] + self._seq_len[users] - 1]

    def _is_excluded(self, owners, items):
        """Original ``negSamp`` rejection: item in the training row, last item or test item."""
        last = self._last_items(owners)
        return self._in_train(owners, items) | (items == last) | (items == self._tst[owners])

    def _check_negatives_exist(self, users):
        """Raise if a user has no item left to sample (the original would loop forever)."""
        n_train = (np.searchsorted(self._train_keys, (users + 1) * self._num_items)
                   - np.searchsorted(self._train_keys, users * self._num_items))
        last = self._last_items(users)
        tst = self._tst[users]
        last_extra = ~self._in_train(users, last)
        tst_extra = (tst >= 0) & (tst != last) & ~self._in_train(users, np.maximum(tst, 0))
        bad = np.flatnonzero(n_train + last_extra + tst_extra >= self._num_items)
        if len(bad):
            raise ValueError(f"user {int(users[bad[0]])} has no eligible negative item")

    def _sample_negatives(self, owners):
        """One uniform negative per entry of ``owners``, drawn by vectorised rejection.

        Reproduces the original ``negSamp``: independent uniform draws from
        ``[0, I)`` rejecting training items, the last item and the test item.
        """
        items = self._rng.integers(0, self._num_items, size=len(owners))
        redo = np.flatnonzero(self._is_excluded(owners, items))
        while len(redo):
            items[redo] = self._rng.integers(0, self._num_items, size=len(redo))
            redo = redo[self._is_excluded(owners[redo], items[redo])]
        return items

    def _ssl_pairs(self, users):
        """Per-graph SSL (uid, iid) lists (original ``sampleSslBatch``).

        For graph k and user u, ``s = min(sslNum, n_k // 2)`` where ``n_k`` is
        the number of distinct nonzero items of u in graph k; ``2s`` items are
        drawn uniformly with replacement, the first ``s`` are positives and the
        last ``s`` negatives, written interleaved ``pos0, neg0, pos1, neg1, ...``.
        """
        ssl_uids, ssl_iids = [], []
        for mat in self._sub_mats:
            start = mat.indptr[users]
            count = mat.indptr[users + 1] - start
            half = np.minimum(self._ssl_num, count // 2)
            total = 2 * half
            owner = np.repeat(np.arange(len(users)), total)
            seg_start = np.cumsum(total) - total
            pos_in_seg = np.arange(len(owner)) - seg_start[owner]
            offsets = self._rng.integers(0, np.maximum(count, 1)[owner])
            draw_of_slot = pos_in_seg // 2 + (pos_in_seg % 2) * half[owner]
            drawn = mat.indices[start[owner] + offsets]
            items = drawn[seg_start[owner] + draw_of_slot]
            ssl_uids.append(users[owner].astype(np.int32))
            ssl_iids.append(items.astype(np.int32))
        return tuple(ssl_uids), tuple(ssl_iids)

    def train_batch(self, users) -> TrainBatch:
        """Training pairs, histories and SSL pairs (original ``sampleTrainBatch`` + ``sampleSslBatch``).

        For each user, ``posset = sequence[:-1]`` (``[:-2]`` for a test user under
        ``--protocol clean``, :func:`training_cut`) and ``samp = min(40, len(posset))``;
        the target ``posset[-choose]`` with ``choose ~ U{1..max(min(pred_num+1, n-3), 1)}``
        is paired ``samp`` times with itself and with ``samp`` sampled negatives;
        the history ``posset[:-choose]`` is right-aligned into ``[B, L]``.  All
        positive pairs come first, then all negative pairs in the same order.
        Users with ``samp == 0`` contribute no pairs and an all-zero history; an
        empty history (where the original crashes) also gives an all-zero row.
        """
        users = self._check_users(users)
        n = np.maximum(self._seq_len[users] - self._cut[users], 0)
        samp = np.minimum(TRAIN_SAMPLE_CAP, n)
        active = np.flatnonzero(samp > 0)
        self._check_negatives_exist(users[active])

        choose = np.zeros(len(users), dtype=np.int64)
        high = np.maximum(np.minimum(self._pred_num + 1, n[active] - 3), 1)
        choose[active] = self._rng.integers(1, high + 1)
        start = self._seq_start[users]
        targets = self._seq_flat[start[active] + n[active] - choose[active]]

        rows = np.repeat(active, samp[active])
        owners = users[rows]
        negatives = self._sample_negatives(owners)
        sequence, mask = self._padded_history(start, n - choose)
        ssl_uids, ssl_iids = self._ssl_pairs(users)
        return TrainBatch(
            uids=np.concatenate([owners, owners]).astype(np.int32),
            iids=np.concatenate([np.repeat(targets, samp[active]), negatives]).astype(np.int32),
            u_locs=np.concatenate([rows, rows]).astype(np.int32),
            sequence=sequence,
            mask=mask,
            ssl_uids=ssl_uids,
            ssl_iids=ssl_iids,
        )

    def _test_positives(self, users, target):
        """The positive of each user for `target` (original ``sampleTestBatch`` + validation).

        'test': ``tst_int[u]``; 'last': ``sequences[u][-1]`` (the original's
        ``--test False``); 'before_test': ``sequences[u][-2]``, the item before the
        test item (a validation target that never looks at the test item).
        """
        if target == "test":
            positives = self._tst[users]
            missing = np.flatnonzero(positives < 0)
            if len(missing):
                raise ValueError(f"user {int(users[missing[0]])} has no test item")
            return positives
        back = HISTORY_CUT[target]
        short = np.flatnonzero(self._seq_len[users] < back)
        if len(short):
            raise ValueError(f"user {int(users[short[0]])} has fewer than {back} items in its "
                             f"sequence: no '{target}' evaluation target")
        return self._seq_flat[self._seq_start[users] + self._seq_len[users] - back]

    def _test_candidates(self, users, positives):
        """``test_dict[u + 1][:testSize - 1] - 1`` followed by the positive, one row per user."""
        count = self._neg_count[users]
        bad = np.flatnonzero(count < self._test_size - 1)
        if len(bad):
            u = int(users[bad[0]])
            if count[bad[0]] < 0:
                raise ValueError(f"user {u} (key {u + 1}) is missing from test_dict")
            raise ValueError(f"user {u} has {int(count[bad[0]])} test negatives, "
                             f"needs {self._test_size - 1}")
        return np.concatenate([self._neg_table[users], positives[:, None]], axis=1)

    def test_batch(self, users, target=None) -> TestBatch:
        """Candidates, positives and histories of test users (original ``sampleTestBatch``).

        With ``params.test`` the positive is ``tst_int[u]`` and the history the
        whole ``sequences[u]`` (test item included, as in the original);
        otherwise the positive is ``sequences[u][-1]`` and the history
        ``sequences[u][:-1]``.  ``eval_history='exclude_target'`` removes the
        last occurrence of the positive from the history.  Candidates are the
        first ``testSize - 1`` 0-based negatives followed by the positive.
        ``target`` ('test', 'last', 'before_test') overrides the flags; with
        'before_test' the positive is ``sequences[u][-2]`` and the history
        ``sequences[u][:-2]``.
        """
        users = self._check_users(users)
        if target is None:
            target = "test" if self._params.test else getattr(self._params, "val_item", "last")
        if target not in HISTORY_CUT:
            raise ValueError(f"unknown evaluation target {target!r}")
        eval_history = getattr(self._params, "eval_history", "original")
        if eval_history not in ("original", "exclude_target"):
            raise ValueError(f"unknown eval_history {eval_history!r}")
        positives = self._test_positives(users, target)
        candidates = self._test_candidates(users, positives)

        start = self._seq_start[users]
        length = np.maximum(self._seq_len[users] - HISTORY_CUT[target], 0)
        if eval_history == "exclude_target":
            window, valid = right_aligned_without(self._seq_flat, start, length, self._length,
                                                  positives)                  # [B, L] each
        else:
            window, valid = right_aligned(self._seq_flat, start, length, self._length)
        sequence, mask = pad_rows(window, self._batch), pad_rows(valid, self._batch, np.float32)

        return TestBatch(
            users=pad_rows(users, self._batch),
            candidates=pad_rows(candidates, self._batch),
            positives=pad_rows(positives, self._batch),
            sequence=sequence,
            mask=mask,
            num_valid=len(users),
        )
