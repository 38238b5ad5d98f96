"""Next-item training windows shared by the sequential baselines (SASRec, GRU4Rec).

Each user's training sequence s gives the input s[:-1] and the targets s[1:], the last
`maxlen` of each, right-aligned with item ids shifted by +1 (0 = padding). Batches are
drawn by length-bucketed shuffling and cut to their longest row (`trim_padding`): with
right-aligned windows, masked padding and the last column always at the last position,
dropping all-padding columns changes no output (tested), and a batch of short histories
costs what its histories need instead of `maxlen` steps. The SASRec code draws random
users instead; on ML-1M the buckets slowed convergence per epoch (README).
`NextItemBaseline` is what SASRec and GRU4Rec share.
"""
import numpy as np
import tensorflow as tf

from baselines.base import Baseline
from selfgnn.optimizer import TF1Adam


def next_item_windows(sequences, maxlen):
    """Users with >= 2 items [U'], inputs s[:-1] and targets s[1:] [U', maxlen]: the
    last `maxlen` of each, right-aligned, ids shifted by +1 (0 = padding)."""
    users = np.array([u for u, s in enumerate(sequences) if len(s) >= 2], np.int64)
    inputs = np.zeros([len(users), maxlen], np.int32)
    targets = np.zeros([len(users), maxlen], np.int32)
    for row, u in enumerate(users):
        s = np.asarray(sequences[u], np.int64) + 1
        tail = s[-(maxlen + 1):]
        inputs[row, maxlen - len(tail) + 1:] = tail[:-1]
        targets[row, maxlen - len(tail) + 1:] = tail[1:]
    return users, inputs, targets


def epoch_batches(rng, targets, size, pool=8):
    """Every row of `targets` [R, n] once, in batches of `size` rows of similar length.

    Rows are shuffled, cut into pools of `pool * size` rows, sorted by their number of
    targets within each pool (so batches stay random mixtures across epochs), cut into
    batches, and the batches are shuffled.
    """
    lengths = np.count_nonzero(targets, axis=1)                                  # [R]
    order = rng.permutation(len(lengths))
    batches = []
    for start in range(0, len(order), pool * size):
        chunk = order[start:start + pool * size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def trim_padding(*windows):
    """The right-aligned windows [B, n] cut to their last w columns, w the longest row of
    the first one (at least 1)."""
    width = max(int(np.count_nonzero(windows[0], axis=1).max(initial=0)), 1)
    return tuple(np.ascontiguousarray(x[:, -width:]) for x in windows)


def history_window(sequence, mask, maxlen):
    """Right-aligned histories [N, L] (0-based, `mask` 1.0 where filled) -> the last
    `maxlen` columns [N, maxlen], shifted by +1, 0 where unfilled (left-padded if L < maxlen)."""
    ids = np.where(np.asarray(mask) > 0, np.asarray(sequence, np.int64) + 1, 0)  # [N, L]
    ids = ids[:, -maxlen:]
    return np.pad(ids, [(0, 0), (maxlen - ids.shape[1], 0)]).astype(np.int32)


class NextItemBaseline(Baseline):
    """A sequential baseline: a network `self.net` over shifted ids [N, <= maxlen], its
    next-item windows, Adam over its variables, and scoring from the history window.

    Subclasses return the network from `make_net(config)` and define `train_epoch` and
    `_candidate_scores(ids [N, w], candidates [N, C]) -> [N, C]`.
    """

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        c = self.config
        self.net = self.make_net(c)
        variables = sorted(self.net.trainable_variables, key=lambda v: v.name)
        self.optimizer = TF1Adam([(v.name.split(":")[0], v) for v in variables], c["lr"], 1.0, 1,
                                 beta1=c.get("beta1", 0.9), beta2=c.get("beta2", 0.999))
        self.users, self.inputs, self.targets = next_item_windows(data.train_sequences,
                                                                  c["maxlen"])
        self.ids_spec = tf.TensorSpec([None, None], tf.int32)  # [B, <= maxlen]: trim_padding
        self._score = tf.function(self._candidate_scores, autograph=False, input_signature=[
            self.ids_spec, tf.TensorSpec([None, None], tf.int32)])

    def make_net(self, config):
        raise NotImplementedError

    def batches(self):
        """This epoch's batches: (rows, inputs [B, w], targets [B, w])."""
        for rows in epoch_batches(self.rng, self.targets, self.config["batch"]):
            yield (rows,) + trim_padding(self.inputs[rows], self.targets[rows])

    def score(self, users, candidates, sequence, mask):
        ids, = trim_padding(history_window(sequence, mask, self.config["maxlen"]))
        return self._score(ids, np.asarray(candidates, np.int32)).numpy()

    def checkpoint_items(self):
        return {"model": self.net, "optimizer": self.optimizer}
