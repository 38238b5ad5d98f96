"""Vectorised HR@k / NDCG@k of the original SelfGNN ``calcRes`` and ``testEpoch``.

The original sorts each row's ``(score, item)`` list in descending score order
with Python's stable sort, the positive being listed LAST, then looks the
positive up among the first ``k`` entries.  On ties the positive therefore
ranks after every tied negative; :func:`positive_ranks` reproduces that rank
without sorting.
"""
import numpy as np

MISS_RANK = np.iinfo(np.int64).max
"""Rank given to rows containing a NaN score: a miss for every k."""

DEFAULT_KS = (5, 10, 20)


def positive_ranks(scores) -> np.ndarray:
    """0-based rank of the positive (last column) in each row of ``scores`` [n, C].

    Equals the number of negatives scoring ``>=`` the positive, i.e. the index
    of the positive after the original's stable descending sort.  Rows with a
    NaN anywhere (where the original's sort order is undefined) get
    :data:`MISS_RANK` and so count as misses.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"scores must be [n, C] with C >= 1, got shape {scores.shape}")
    ranks = np.sum(scores[:, :-1] >= scores[:, -1:], axis=1).astype(np.int64)
    return np.where(np.isnan(scores).any(axis=1), MISS_RANK, ranks)


def hit_ndcg(ranks, k: int) -> tuple:
    """Summed hits and NDCG at ``k`` (original ``calcRes`` accumulation).

    ``hits`` counts ranks below ``k``; ``ndcg`` sums ``1 / log2(rank + 2)``
    over those hits.  Both are sums; divide by the number of users for means.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    hit_ranks = ranks[ranks < k]
    return int(hit_ranks.size), float(np.sum(1.0 / np.log2(hit_ranks + 2.0)))


class MetricAccumulator:
    """Accumulates HR/NDCG sums over test batches (original ``testEpoch``).

    ``result()`` reports means at ``shoot`` (keys ``HR``, ``NDCG``) and at
    5, 10 and 20 (keys ``HR5``, ``NDCG5``, ...).
    """

    def __init__(self, shoot: int = 10):
        self._shoot = int(shoot)
        self._ks = tuple(sorted(set(DEFAULT_KS) | {self._shoot}))
        self._hits = dict.fromkeys(self._ks, 0)
        self._ndcg = dict.fromkeys(self._ks, 0.0)
        self._num_users = 0
        self._ranks = []

    def add(self, scores) -> tuple:
        """Add the scores [n, C] of ``n`` real test users (positive in the last column).

        Returns this batch's (hits, ndcg) sums at ``shoot``, which the original
        prints in its per-batch progress line.
        """
        ranks = positive_ranks(scores)
        for k in self._ks:
            hits, ndcg = hit_ndcg(ranks, k)
            self._hits[k] += hits
            self._ndcg[k] += ndcg
        self._num_users += len(ranks)
        self._ranks.append(ranks)
        return hit_ndcg(ranks, self._shoot)

    def ranks(self) -> np.ndarray:
        """The 0-based rank of every added user's positive, in the order added."""
        return np.concatenate(self._ranks) if self._ranks else np.zeros(0, np.int64)

    @property
    def num_users(self) -> int:
        """Number of users added so far."""
        return self._num_users

    def result(self) -> dict:
        """Mean HR/NDCG over all added users; ValueError if none were added."""
        if self._num_users == 0:
            raise ValueError("no users were added to the metric accumulator")
        n = float(self._num_users)
        out = {"HR": self._hits[self._shoot] / n, "NDCG": self._ndcg[self._shoot] / n}
        for k in DEFAULT_KS:
            out[f"HR{k}"] = self._hits[k] / n
            out[f"NDCG{k}"] = self._ndcg[k] / n
        return out


def per_user(ranks, ks=DEFAULT_KS) -> dict:
    """Each user's HR@k (0/1) and NDCG@k (``1 / log2(rank + 2)`` on a hit) for k in ``ks``.

    The means over users of these columns are the accumulator's results; they are
    what a paired test between two models compares user by user.
    """
    ranks = np.asarray(ranks, dtype=np.int64)
    out = {}
    for k in ks:
        hit = ranks < k
        out[f"HR{k}"] = hit.astype(np.float64)
        out[f"NDCG{k}"] = np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 0) + 2.0), 0.0)
    return out
