"""BPR-MF: matrix factorisation trained with Bayesian Personalized Ranking
(Rendle, Freudenthaler, Gantner, Schmidt-Thieme, UAI 2009).

x_ui = <w_u, h_i> (section 5.1, matrix factorisation with d = 64). BPR-Opt
(section 4.1, eq. "BPR-OPT") maximises sum_{(u,i,j)} ln sigma(x_ui - x_uj) minus an
L2 prior; minimised per batch B of triples here as

    loss = mean_B softplus(-(x_ui - x_uj)) + reg * (sum over B of |w_u|^2 + |h_i|^2 + |h_j|^2) / |B|

(-ln sigma(z) = softplus(-z)). Triples: every (u, i) entry of the training matrix
once per epoch, each with one negative j drawn uniformly among the items not in u's
row, shuffled (`sample_bpr_triples`; the paper's LearnBPR draws triples with
replacement, an epoch here visits each positive once), batches of 2048, Adam (lr 1e-3,
the project's `TF1Adam` without decay) in place of the paper's SGD; Xavier-uniform
initialisation seeded by `seed`. reg is chosen on the validation item over
GRID (1e-5, 1e-4, 1e-3; the paper tunes lambda per data set); default 1e-4.

`sample_bpr_triples` and `bpr_loss` are shared with `baselines.lightgcn`, which
subclasses `BPRMF` and replaces its `embeddings`.
"""
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from baselines.base import Baseline, in_sorted
from selfgnn.layers import VariableFactory
from selfgnn.optimizer import TF1Adam


def sample_bpr_triples(train_matrix, rng):
    """(users, positives, negatives), int32 [N] each, in a random order.

    One triple per stored entry (u, i) of `train_matrix`, with a negative j drawn
    uniformly from the items not in row u, by vectorised rejection on sorted u*I+i keys.
    """
    mat = sp.csr_matrix(train_matrix > 0)
    mat.sort_indices()
    num_users, num_items = mat.shape
    counts = np.diff(mat.indptr)                                            # [U]
    full = np.flatnonzero(counts >= num_items)
    if len(full):
        raise ValueError(f"user {int(full[0])} has every item in its row: no negative to draw")
    users = np.repeat(np.arange(num_users, dtype=np.int64), counts)         # [N]
    positives = mat.indices.astype(np.int64)                                # [N]
    keys = users * num_items + positives                                    # [N] ascending
    negatives = rng.integers(0, num_items, size=len(users))                 # [N]
    redo = np.flatnonzero(in_sorted(keys, users * num_items + negatives))
    while len(redo):
        negatives[redo] = rng.integers(0, num_items, size=len(redo))
        redo = redo[in_sorted(keys, users[redo] * num_items + negatives[redo])]
    order = rng.permutation(len(users))                                     # [N]
    return tuple(a[order].astype(np.int32) for a in (users, positives, negatives))


def bpr_loss(pos_scores, neg_scores, ego, reg):
    """(BPR term, L2 term): mean softplus(-(x_ui - x_uj)) and reg * sum |e|^2 / batch.

    `pos_scores`, `neg_scores`: [B]; `ego`: the batch's embedding rows that the L2
    prior applies to (each [B, d]).
    """
    batch = tf.cast(tf.shape(pos_scores)[0], tf.float32)                   # []
    bpr = tf.reduce_mean(tf.nn.softplus(neg_scores - pos_scores))           # []
    squares = tf.add_n([tf.reduce_sum(tf.square(e)) for e in ego])          # []
    l2 = reg * squares / tf.maximum(batch, 1.0)                             # []
    return bpr, l2


class BPRMF(Baseline):
    """x_ui = <w_u, h_i>, trained on BPR-Opt (module docstring)."""

    name = "bprmf"
    DEFAULTS = {"dim": 64, "reg": 1e-4, "lr": 1e-3, "batch": 2048}
    GRID = ({"reg": 1e-5}, {"reg": 1e-4}, {"reg": 1e-3})
    EPOCHS = None
    LOSS_TERMS = ("Loss", "BPR", "Reg")

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        dim = int(self.config["dim"])
        factory = VariableFactory(self.seed)
        self.user_embedding = factory.make("user_embedding", [data.num_users, dim])  # [U, d]
        self.item_embedding = factory.make("item_embedding", [data.num_items, dim])  # [I, d]
        self.optimizer = TF1Adam([("user_embedding", self.user_embedding),
                                  ("item_embedding", self.item_embedding)],
                                 lr=self.config["lr"], decay=1.0, decay_step=1)
        ids = tf.TensorSpec([None], tf.int32)
        self._train_step = tf.function(self._step, input_signature=[ids, ids, ids],
                                       autograph=False)
        self._score = tf.function(self._scores, autograph=False,
                                  input_signature=[ids, tf.TensorSpec([None, None], tf.int32)])

    def embeddings(self):
        """User [U, d] and item [I, d] representations the scores use: here the free ones."""
        return self.user_embedding, self.item_embedding

    def losses(self, users, positives, negatives):
        """(BPR term, L2 term) of the triples (int32 [B] each)."""
        final_users, final_items = self.embeddings()                        # [U, d], [I, d]
        u = tf.gather(final_users, users)                                   # [B, d]
        pos_scores = tf.reduce_sum(u * tf.gather(final_items, positives), -1)  # [B]
        neg_scores = tf.reduce_sum(u * tf.gather(final_items, negatives), -1)  # [B]
        ego = [tf.gather(self.user_embedding, users),                       # [B, d]
               tf.gather(self.item_embedding, positives),                   # [B, d]
               tf.gather(self.item_embedding, negatives)]                   # [B, d]
        return bpr_loss(pos_scores, neg_scores, ego, self.config["reg"])

    def _step(self, users, positives, negatives):
        with tf.GradientTape() as tape:
            bpr, l2 = self.losses(users, positives, negatives)              # [], []
            loss = bpr + l2                                                 # []
        self.optimizer.apply_gradients(tape.gradient(loss, self.optimizer.targets))
        return tf.stack([loss, bpr, l2])                                    # [3]

    def _scores(self, users, candidates):
        final_users, final_items = self.embeddings()                        # [U, d], [I, d]
        u = tf.gather(final_users, users)                                   # [n, d]
        return tf.einsum("nd,ncd->nc", u, tf.gather(final_items, candidates))  # [n, C]

    def train_epoch(self, epoch):
        """One pass over freshly sampled triples; the means per triple of the loss terms."""
        users, positives, negatives = sample_bpr_triples(self.data.train_matrix, self.rng)
        size = int(self.config["batch"])
        sums = np.zeros(len(self.LOSS_TERMS))
        for start in range(0, len(users), size):
            part = slice(start, start + size)
            terms = self._train_step(users[part], positives[part], negatives[part]).numpy()
            sums += terms * len(users[part])
        return dict(zip(self.LOSS_TERMS, (sums / max(len(users), 1)).tolist()))

    def score(self, users, candidates, sequence, mask):
        return self._score(np.asarray(users, np.int32), np.asarray(candidates, np.int32)).numpy()

    def checkpoint_items(self):
        return {"user_embedding": self.user_embedding, "item_embedding": self.item_embedding,
                "optimizer": self.optimizer}
