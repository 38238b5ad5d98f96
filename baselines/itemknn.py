"""ItemKNN: item-based collaborative filtering (Sarwar, Karypis, Konstan, Riedl, WWW 2001).

Section 3.1.1 (cosine-based similarity) on the binary training matrix R [U, I],
whose column i is the set U_i of users who interacted with item i:

    sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|)      (0 when U_i or U_j is empty)

Section 3.2.1 (weighted sum) for implicit feedback, without the division by
sum |sim| (with binary ratings that quotient is 1 for every candidate; the top-N
form of Deshpande and Karypis, TOIS 2004), in the sequential variant used as a
baseline by the session/sequential literature: the score of candidate c is the sum
of its similarities to the last L items of the user's history,

    score(c) = sum_{h in last L filled items of the history} sim(c, h),

a repeated history item counting once per occurrence. The default L = 200 (the
whole window of `pos_length` 200) is the closest to the paper, which sums over all
of the user's items; the grid tries shorter ones.

The diagonal sim(i, i) is set to 0 (an item is not its own neighbour): under the
original protocol the test history contains the test item itself, and with
sim(i, i) = 1 that item would be handed its own score, ranking the positive first
by construction rather than by similarity to other items.
"""
import numpy as np
import scipy.sparse as sp

from baselines.base import Baseline


def cosine_similarity(train_matrix):
    """Dense item-item cosine similarity [I, I] (float32) with a zero diagonal."""
    binary = sp.csc_matrix(train_matrix > 0, dtype=np.float32)              # [U, I]
    co = (binary.T @ binary).toarray()                                      # [I, I] |U_i ∩ U_j|
    norm = np.sqrt(np.diag(co))                                             # [I] sqrt(|U_i|)
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)     # [I]
    sim = co * inv[:, None] * inv[None, :]                                  # [I, I]
    np.fill_diagonal(sim, 0.0)
    return sim


def last_items(sequence, mask, length):
    """Row and item ids of the last `length` filled entries (mask > 0) of each history."""
    filled = np.asarray(mask) > 0                                           # [n, L]
    from_right = np.cumsum(filled[:, ::-1], axis=1)[:, ::-1]                # [n, L] filled at >= j
    rows, cols = np.nonzero(filled & (from_right <= length))                # [m], [m]
    return rows, np.asarray(sequence)[rows, cols]


class ItemKNN(Baseline):
    """score(c) = sum over the last L history items h of sim(c, h) (module docstring)."""

    name = "itemknn"
    DEFAULTS = {"L": 200}
    GRID = tuple({"L": length} for length in (1, 2, 3, 5, 10, 20, 50, 200))
    EPOCHS = 1

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        if int(self.config["L"]) < 1:
            raise ValueError(f"itemknn: L must be >= 1, got {self.config['L']}")
        self.similarity = cosine_similarity(data.train_matrix)              # [I, I]

    def train_epoch(self, epoch):
        """Nothing to train: the similarity is computed in `__init__`."""
        return {}

    def score(self, users, candidates, sequence, mask):
        candidates = np.asarray(candidates)                                 # [n, C]
        rows, items = last_items(sequence, mask, int(self.config["L"]))     # [m], [m]
        counts = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, items)),
                               shape=(len(candidates), self.data.num_items))  # [n, I]
        totals = np.asarray(counts @ self.similarity)                       # [n, I]
        return np.take_along_axis(totals, candidates, axis=1)               # [n, C]
