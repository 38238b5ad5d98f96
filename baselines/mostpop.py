"""MostPop: every user gets the same ranking, items ordered by training popularity.

The non-personalised reference of the recommendation literature (e.g. the
`MostPopular` baseline of Cremonesi, Koren and Turrin, RecSys 2010): the score
of item i is |U_i|, the number of training users who interacted with it (the
column sums of the binary training matrix). Fitted in one pass.
"""
import numpy as np

from baselines.base import Baseline


class MostPop(Baseline):
    """score(u, i) = |U_i| = sum_u R[u, i], the same for every user."""

    name = "mostpop"
    DEFAULTS = {}
    GRID = ({},)
    EPOCHS = 1

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        binary = data.train_matrix > 0                                       # [U, I] bool
        self.popularity = np.asarray(binary.sum(axis=0), np.float64).ravel()  # [I]

    def train_epoch(self, epoch):
        """Nothing to train: the counts are taken in `__init__`."""
        return {}

    def score(self, users, candidates, sequence, mask):
        return self.popularity[np.asarray(candidates)]                       # [n, C]
