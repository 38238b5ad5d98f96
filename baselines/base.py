"""The interface every reference baseline implements (one small class, one job each).

A baseline is built from the protocol's training data (`baselines.protocol.ProtocolData`)
and one hyperparameter point, trains epoch by epoch, and scores candidates. The
runner (`baselines.runner`) owns everything else: the grid, evaluation, selection,
logs, run folder, `results.json` and resume, exactly as the SelfGNN trainer does.
"""
import numpy as np


def in_sorted(sorted_keys, keys):
    """Whether each entry of `keys` (any shape) is in the sorted 1-D array `sorted_keys`.

    The baselines' negative samplers reject a drawn item i of user u when u * I + i is
    among the sorted keys of the training pairs.
    """
    keys = np.asarray(keys)
    if not len(sorted_keys):
        return np.zeros(keys.shape, bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)  # keys' shape
    return sorted_keys[pos] == keys


class Baseline:
    """Base class: subclasses set the class attributes and override the two hooks.

    Class attributes:
    - `name`: the `--model` value;
    - `DEFAULTS`: every hyperparameter with its default (the source paper's values);
    - `GRID`: the points tried, each a dict overriding `DEFAULTS`; the runner keeps the
      one with the best validation NDCG (`--baseline_grid`; `--nobaseline_grid` uses
      `DEFAULTS` alone);
    - `EPOCHS`: None to train `--epoch` epochs, or a fixed count (1 for the models that
      are fitted in one pass: MostPop, ItemKNN).
    """

    name = "baseline"
    DEFAULTS = {}
    GRID = ({},)
    EPOCHS = None

    def __init__(self, data, config, seed):
        """`data`: ProtocolData; `config`: DEFAULTS updated by one grid point; `seed`: int."""
        unknown = set(config) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"{self.name}: unknown hyperparameters {sorted(unknown)}")
        self.data = data
        self.config = dict(self.DEFAULTS, **config)
        self.seed = int(seed)
        self.rng = np.random.default_rng(seed)

    def train_epoch(self, epoch):
        """One pass over the training data; returns its mean loss terms (floats by name)."""
        raise NotImplementedError

    def score(self, users, candidates, sequence, mask):
        """Scores [n, C] of `candidates` [n, C] for `users` [n] with histories `sequence`
        [n, L] (right-aligned item ids) and `mask` [n, L] (1.0 where filled)."""
        raise NotImplementedError

    def checkpoint_items(self):
        """Objects a `tf.train.Checkpoint` saves to resume mid-training (none by default)."""
        return {}
