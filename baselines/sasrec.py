"""SASRec: Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018.

The model of the paper's Section III, as the authors' TF1 code (github.com/kang205/SASRec,
`model.py`, `modules.py`) builds it:

- Embedding Layer: E^_t = M_{s_t} sqrt(d) + P_t (item table M [I+1, d], row 0 the
  padding; learned positions P [n, d]), dropout, padding positions zeroed;
- Self-Attention Block, stacked `blocks` times: the query is LN(x), the keys and values
  are x itself, as the reference code (`multihead_attention(queries=normalize(seq),
  keys=seq)`; the paper writes g(x) = x + Dropout(g(LayerNorm(x)))):
  S = softmax(Q K^T / sqrt(d/h)) V with Q = LN(x) W^Q, K = x W^K, V = x W^V, future
  keys (causality) and padding keys masked, dropout on the attention weights, residual
  onto LN(x); then the point-wise feed-forward F = ReLU(LN(x) W1 + b1) W2 + b2 with
  dropout after each layer and a residual onto LN(x); padding positions zeroed after
  each sub-layer (timeline mask);
- a final layer norm gives F_t [d];
- Prediction Layer with the shared item embedding: r_{i,t} = F_t . M_i;
- Network Training: -sum_t [log sigma(r_{o_t,t}) + log(1 - sigma(r_{j,t}))] over the
  valid positions t, one negative j per position drawn uniformly from the items not in
  the user's training sequence, divided by the number of valid positions (as the code),
  plus `l2` * ||.||^2 / 2 of the item and position tables; Adam (beta2 0.98).

Layer norms use epsilon 1e-8 over the last axis (`normalize`). Item ids are shifted by
+1 inside the model so that 0 is the padding index. The window helpers at the end are
in `baselines.windows` are shared with `baselines.gru4rec` (same next-item targets).
"""
import math

import numpy as np
import tensorflow as tf

from baselines.base import in_sorted
from baselines.windows import NextItemBaseline
from selfgnn.layers import Dense, VariableFactory

MASKED = -2.0 ** 32 + 1.0
"""Logit of a masked key (the reference's padding value)."""


class LayerNorm(tf.Module):
    """The reference's `normalize`: (x - mean) / sqrt(var + 1e-8) * gamma + beta, last axis."""

    def __init__(self, factory, name, dim):
        super().__init__(name=name)
        self.beta = factory.make(f"{name}/beta", [dim], init="zeros")
        self.gamma = factory.make(f"{name}/gamma", [dim], init="ones")

    def __call__(self, x):
        mean, variance = tf.nn.moments(x, [-1], keepdims=True)  # [..., 1]
        return (x - mean) / tf.sqrt(variance + 1e-8) * self.gamma + self.beta


class Block(tf.Module):
    """One self-attention block with the reference code's residuals and dropouts."""

    def __init__(self, factory, index, dim, heads):
        super().__init__(name=f"block{index}")
        if dim % heads:
            raise ValueError(f"SASRec: hidden {dim} is not divisible by heads {heads}")
        self.heads, self.depth = heads, dim // heads
        self.ln_attention = LayerNorm(factory, f"block{index}_ln_attention", dim)
        self.q, self.k, self.v = (Dense(factory, f"block{index}_{n}", dim, dim) for n in "qkv")
        self.ln_ffn = LayerNorm(factory, f"block{index}_ln_ffn", dim)
        self.ffn1 = Dense(factory, f"block{index}_ffn1", dim, dim)
        self.ffn2 = Dense(factory, f"block{index}_ffn2", dim, dim)

    def _split(self, y):
        """[N, T, d] -> [N, h, T, d/h]."""
        return tf.transpose(tf.reshape(y, [tf.shape(y)[0], tf.shape(y)[1], self.heads, self.depth]),
                            [0, 2, 1, 3])

    def __call__(self, x, mask, drop):
        """x [N, T, d], mask [N, T] float (1 where filled), drop: the dropout function."""
        n, t = tf.shape(x)[0], tf.shape(x)[1]
        queries = self.ln_attention(x)                                           # [N, T, d]
        q, k, v = self._split(self.q(queries)), self._split(self.k(x)), self._split(self.v(x))
        logits = tf.matmul(q, k, transpose_b=True) / math.sqrt(self.depth)       # [N, h, T, T]
        causal = tf.linalg.band_part(tf.ones([t, t], tf.bool), -1, 0)            # [T, T]
        allowed = tf.logical_and(causal, mask[:, None, None, :] > 0)             # [N, 1, T, T]
        weights = drop(tf.nn.softmax(tf.where(allowed, logits, MASKED)))         # [N, h, T, T]
        context = tf.transpose(tf.matmul(weights, v), [0, 2, 1, 3])              # [N, T, h, d/h]
        x = (tf.reshape(context, [n, t, self.heads * self.depth]) + queries) * mask[..., None]
        inputs = self.ln_ffn(x)                                                  # [N, T, d]
        hidden = drop(tf.nn.relu(self.ffn1(inputs)))                             # [N, T, d]
        return (drop(self.ffn2(hidden)) + inputs) * mask[..., None]              # [N, T, d]


class SASRecNet(tf.Module):
    """The network: ids [N, n] (shifted, 0 = padding) -> F [N, n, d].

    n <= maxlen; the last column always gets the last position embedding (the window
    is right-aligned), so dropping columns of padding changes no output.
    """

    def __init__(self, num_items, config, seed):
        super().__init__(name="sasrec")
        factory = VariableFactory(seed)
        d, self.rate = config["hidden"], float(config["dropout"])
        self.item_emb = factory.make("item_emb", [num_items + 1, d])             # [I+1, d]
        self.pos_emb = factory.make("pos_emb", [config["maxlen"], d])           # [n, d]
        self.blocks = [Block(factory, b, d, config["heads"]) for b in range(config["blocks"])]
        self.ln_final = LayerNorm(factory, "ln_final", d)
        self.generator = tf.random.Generator.from_seed(seed)

    def _dropout(self, x):
        seed = self.generator.make_seeds(1)[:, 0]                                # [2]
        return tf.nn.experimental.stateless_dropout(x, self.rate, seed)

    def __call__(self, ids, training=False):
        drop = self._dropout if training and self.rate > 0 else (lambda x: x)
        mask = tf.cast(ids > 0, tf.float32)                                      # [N, n]
        d, width = self.item_emb.shape[1], tf.shape(ids)[1]
        positions = self.pos_emb[self.pos_emb.shape[0] - width:]                 # [n, d]
        x = tf.gather(self.item_emb, ids) * math.sqrt(d) + positions             # [N, n, d]
        x = drop(x) * mask[..., None]                                            # [N, n, d]
        for block in self.blocks:
            x = block(x, mask, drop)                                             # [N, n, d]
        return self.ln_final(x)                                                  # [N, n, d]


class SASRec(NextItemBaseline):
    """SASRec trained with the paper's binary cross-entropy on the training sequences."""

    name = "sasrec"
    DEFAULTS = {"maxlen": 200, "hidden": 50, "blocks": 2, "heads": 1, "dropout": 0.2,
                "lr": 1e-3, "beta1": 0.9, "beta2": 0.98, "batch": 128, "l2": 0.0}
    GRID = ({}, {"dropout": 0.5})  # the paper: 0.2 on the dense ML-1M, 0.5 on the sparse sets

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        self._keys = training_pair_keys(data.train_matrix)                      # sorted u * I + i
        self._train_step = tf.function(self._step, input_signature=[self.ids_spec] * 3,
                                       autograph=False)

    def make_net(self, config):
        return SASRecNet(self.data.num_items, config, self.seed)

    def _step(self, inputs, positives, negatives):
        """One Adam step of the loss on shifted ids [B, n]; returns the loss."""
        with tf.GradientTape() as tape:
            out = self.net(inputs, training=True)                                # [B, n, d]
            pos = tf.reduce_sum(out * tf.gather(self.net.item_emb, positives), -1)  # [B, n]
            neg = tf.reduce_sum(out * tf.gather(self.net.item_emb, negatives), -1)  # [B, n]
            valid = tf.cast(positives > 0, tf.float32)                           # [B, n]
            bce = tf.nn.softplus(-pos) + tf.nn.softplus(neg)                     # [B, n]
            loss = tf.reduce_sum(bce * valid) / tf.reduce_sum(valid)
            loss += self.config["l2"] * (tf.nn.l2_loss(self.net.item_emb)
                                         + tf.nn.l2_loss(self.net.pos_emb))
        self.optimizer.apply_gradients(tape.gradient(loss, self.optimizer.targets))
        return loss

    def _candidate_scores(self, ids, candidates):
        """r_{i,n} = F_n . M_i of candidates [N, C] (0-based) after the history ids [N, n]."""
        last = self.net(ids)[:, -1]                                              # [N, d]
        emb = tf.gather(self.net.item_emb, candidates + 1)                       # [N, C, d]
        return tf.einsum("nd,ncd->nc", last, emb)                                # [N, C]

    def sample_negatives(self, users, valid):
        """Shifted ids [B, n]: uniform over items not in each user's training sequence
        where `valid` [B, n], 0 elsewhere."""
        return sample_unseen(self.rng, self._keys, self.data.num_items, users, valid)

    def train_epoch(self, epoch):
        losses = []
        for rows, inputs, positives in self.batches():                          # [B, w] each
            negatives = self.sample_negatives(self.users[rows], positives > 0)   # [B, w]
            losses.append(float(self._train_step(inputs, positives, negatives)))
        return {"Loss": float(np.mean(losses))}


def training_pair_keys(train_matrix):
    """Sorted u * I + i of the stored (user, item) pairs of a csr [U, I]."""
    mat = train_matrix.tocsr()
    rows = np.repeat(np.arange(mat.shape[0], dtype=np.int64), np.diff(mat.indptr))
    keys = np.unique(rows * mat.shape[1] + mat.indices)
    counts = np.bincount(rows, minlength=mat.shape[0])
    if counts.size and counts.max() >= mat.shape[1]:
        raise ValueError(f"user {int(counts.argmax())} has every item in training: "
                         f"no negative can be drawn for it")
    return keys


def sample_unseen(rng, keys, num_items, users, valid):
    """Shifted ids [B, n] uniform over items i with u * I + i not in `keys`, where `valid`."""
    base = np.asarray(users, np.int64)[:, None] * num_items                      # [B, 1]
    items = rng.integers(0, num_items, size=valid.shape)                         # [B, n]
    redo = valid.copy()
    while True:
        redo &= in_sorted(keys, base + items)                                    # [B, n]
        if not redo.any():
            break
        items[redo] = rng.integers(0, num_items, size=int(redo.sum()))
    return np.where(valid, items + 1, 0).astype(np.int32)
