"""GRU4Rec: Hidasi, Karatzoglou, Baltrunas & Tikk, "Session-based Recommendations with
Recurrent Neural Networks", ICLR 2016, adapted to user sequences as is standard.

The paper's network with one GRU layer:

- input: the item embedding x_t = E_{s_t} (E [I+1, d], row 0 the padding; the paper
  feeds 1-of-N item vectors, with an embedding layer as its option);
- the paper's GRU equations, with biases:
  z_t = sigma(x_t W_z + h_{t-1} U_z + b_z),  r_t = sigma(x_t W_r + h_{t-1} U_r + b_r),
  h^_t = tanh(x_t W_h + (r_t * h_{t-1}) U_h + b_h),  h_t = (1 - z_t) h_{t-1} + z_t h^_t,
  h_0 = 0; a padded step keeps the state (h_t = m_t h_t + (1 - m_t) h_{t-1}), so left
  padding changes nothing;
- dropout on the GRU output h_t (training only);
- output: the score of item i is h_t . E_i (the input embedding shared as output weights);
- loss: the cross-entropy of a softmax over all items for the next item (the paper's
  cross-entropy loss, which it compares with its ranking losses BPR and TOP1; here the
  softmax is full, not over in-batch samples), averaged over the valid positions; Adam.

Adaptation to user sequences (the usual one in sequential-recommendation comparisons): no
session-parallel mini-batches; each training user is one sequence, input s[:-1] and targets
s[1:] (the last `maxlen`), right-aligned and batched as for `baselines.sasrec`
(`baselines.windows`). A user is scored by the state after the last item of the history.

Grid: the paper tunes dropout per data set; the points are no dropout and 0.25.
"""
import numpy as np
import tensorflow as tf

from baselines.windows import NextItemBaseline
from selfgnn.layers import VariableFactory


class GRU4RecNet(tf.Module):
    """Embedding, one GRU layer and the shared output: ids [N, T] (shifted, 0 = padding)."""

    def __init__(self, num_items, config, seed):
        super().__init__(name="gru4rec")
        factory = VariableFactory(seed)
        d, self.rate = config["hidden"], float(config["dropout"])
        self.item_emb = factory.make("item_emb", [num_items + 1, d])            # [I+1, d]
        self.input_kernel = factory.make("gru/input_kernel", [d, 3 * d])        # [d, 3d] W_{z,r,h}
        self.recurrent_kernel = factory.make("gru/recurrent_kernel", [d, 3 * d])  # [d, 3d]
        self.bias = factory.make("gru/bias", [3 * d], init="zeros")             # [3d]
        self.generator = tf.random.Generator.from_seed(seed)

    def states(self, ids):
        """h_t [N, T, d] of ids [N, T]; padded steps keep the state."""
        d = self.item_emb.shape[1]
        mask = tf.cast(ids > 0, tf.float32)                                     # [N, T]
        x = tf.gather(self.item_emb, ids)                                       # [N, T, d]
        projected = tf.tensordot(x, self.input_kernel, 1) + self.bias           # [N, T, 3d]
        u_zr, u_h = self.recurrent_kernel[:, :2 * d], self.recurrent_kernel[:, 2 * d:]

        def step(h, inputs):
            xw, m = inputs                                                      # [N, 3d], [N, 1]
            z, r = tf.split(tf.sigmoid(xw[:, :2 * d] + tf.matmul(h, u_zr)), 2, 1)  # [N, d] each
            candidate = tf.tanh(xw[:, 2 * d:] + tf.matmul(r * h, u_h))          # [N, d]
            new = (1.0 - z) * h + z * candidate                                 # [N, d]
            return m * new + (1.0 - m) * h                                      # [N, d]

        h0 = tf.zeros([tf.shape(ids)[0], d])                                    # [N, d]
        elems = (tf.transpose(projected, [1, 0, 2]), tf.transpose(mask)[..., None])
        return tf.transpose(tf.scan(step, elems, initializer=h0), [1, 0, 2])    # [N, T, d]

    def dropout(self, h):
        """Training-time dropout of the GRU output."""
        if self.rate <= 0:
            return h
        seed = self.generator.make_seeds(1)[:, 0]                               # [2]
        return tf.nn.experimental.stateless_dropout(h, self.rate, seed)


class GRU4Rec(NextItemBaseline):
    """GRU4Rec with the full-softmax cross-entropy loss on next-item targets."""

    name = "gru4rec"
    DEFAULTS = {"maxlen": 200, "hidden": 64, "dropout": 0.0, "lr": 1e-3, "batch": 128}
    GRID = ({}, {"dropout": 0.25})

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        self._train_step = tf.function(self._step, input_signature=[self.ids_spec] * 2,
                                       autograph=False)

    def make_net(self, config):
        return GRU4RecNet(self.data.num_items, config, self.seed)

    def _step(self, inputs, targets):
        """One Adam step of the softmax cross-entropy on shifted ids [B, n]; returns the loss."""
        with tf.GradientTape() as tape:
            hidden = self.net.dropout(self.net.states(inputs))                  # [B, n, d]
            valid = targets > 0                                                 # [B, n]
            h = tf.boolean_mask(hidden, valid)                                  # [V, d]
            logits = tf.matmul(h, self.net.item_emb[1:], transpose_b=True)      # [V, I]
            labels = tf.boolean_mask(targets, valid) - 1                        # [V]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        self.optimizer.apply_gradients(tape.gradient(loss, self.optimizer.targets))
        return loss

    def _candidate_scores(self, ids, candidates):
        """h_n . E_i of candidates [N, C] (0-based) after the history ids [N, n]."""
        last = self.net.states(ids)[:, -1]                                      # [N, d]
        emb = tf.gather(self.net.item_emb, candidates + 1)                      # [N, C, d]
        return tf.einsum("nd,ncd->nc", last, emb)                               # [N, C]

    def train_epoch(self, epoch):
        losses = [float(self._train_step(inputs, targets)) for _, inputs, targets in self.batches()]
        return {"Loss": float(np.mean(losses))}
