"""HardGNN = SelfGNN + lambda * InfoNCE over K negatives mined per anchor, in the graph.

Only the loss hook `loss_terms` is overridden. For each batch row (one user, one
training target) the anchor q is the sequence-branch output (or the user's latest
interval-graph embedding, or the long-term user embedding), the positive is the
target's item embedding, and the negatives are the K items with the highest cosine
similarity to q among the items the user never interacted with (the training row
rebuilt from `sequence`), the target excluded: a masked `tf.math.top_k` over all
items, under `stop_gradient`. `--neg_mode random` draws K such items uniformly
instead (top-K of uniform noise over the same mask).
"""
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from selfgnn import losses
from selfgnn.model import SelfGNN


class HardGNN(SelfGNN):
    """SelfGNN with the HardGNN contrastive term; `params` needs the HardGNN flags."""

    def __init__(self, params, num_users, num_items, graph_edges, train_mat):
        super().__init__(params, num_users, num_items, graph_edges)
        rows = sp.csr_matrix(train_mat)
        rows.sum_duplicates()
        eligible = num_items - np.diff(rows.indptr)
        if params.hard_k > eligible.min():
            user = int(eligible.argmin())
            raise ValueError(f"--hard_k {params.hard_k} is more than the {eligible.min()} items "
                             f"user {user} never interacted with; lower --hard_k")
        self.user_items = tf.RaggedTensor.from_row_splits(                 # [U, None]
            rows.indices.astype(np.int32), rows.indptr.astype(np.int64))
        self.negative_rng = tf.random.Generator.from_seed(params.seed + 2)

    @classmethod
    def from_dataset(cls, params, dataset):
        edges = [dataset.graph_edges(k) for k in range(params.graphNum)]
        return cls(params, dataset.num_users, dataset.num_items, edges, dataset.train_mat)

    def batch_rows(self, batch):
        """Per batch row: user [B], target [B] and 1.0 where the row has pairs [B]."""
        b = self.params.batch
        n = tf.shape(batch.uids)[0] // 2
        locs = batch.u_locs[:n]                                           # [P/2]
        valid = tf.math.unsorted_segment_max(tf.ones_like(locs), locs, b) > 0   # [B]
        user = tf.math.unsorted_segment_max(batch.uids[:n], locs, b)      # [B]
        target = tf.math.unsorted_segment_max(batch.iids[:n], locs, b)    # [B]
        user = tf.where(valid, user, 0)
        target = tf.where(valid, target, 0)
        return user, target, tf.cast(valid, tf.float32)

    def anchors(self, outputs, users):
        """q [B, d] for --hard_anchor."""
        kind, nodes = self.params.hard_anchor, outputs["nodes"]
        if kind == "short_term":
            return tf.gather(nodes.user_short[-1], users)
        if kind == "long_term":
            return tf.gather(nodes.final_user, users)
        return outputs["att_user"]

    def mine(self, anchor, items, users, targets):
        """K negatives per row [B, K]: never interacted, not the target; no gradient."""
        b, k = self.params.batch, self.params.hard_k
        rows = tf.gather(self.user_items, users)                          # [B, None]
        seen = tf.stack([tf.cast(rows.value_rowids(), tf.int32), rows.flat_values], axis=1)
        seen = tf.concat([seen, tf.stack([tf.range(b), targets], axis=1)], axis=0)
        mask = tf.scatter_nd(seen, tf.ones(tf.shape(seen)[:1]), [b, self.num_items]) > 0  # [B, I]
        if self.params.neg_mode == "random":
            scores = self.negative_rng.uniform([b, self.num_items])
        else:
            scores = tf.matmul(tf.math.l2_normalize(anchor, -1), items, transpose_b=True)
        scores = tf.where(mask, tf.constant(-np.inf, scores.dtype), scores)  # [B, I]
        return tf.math.top_k(tf.stop_gradient(scores), k).indices          # [B, K]

    def rec_with_mined(self, outputs, batch, mined):
        """Scores with each ranking negative replaced by a mined item (--hard_in_rec).

        The i-th negative pair of a row takes the row's mined item i mod K.
        """
        n = tf.shape(batch.uids)[0] // 2
        locs = batch.u_locs[n:]                                           # [P/2]
        index = tf.range(n)
        first = tf.math.unsorted_segment_min(index, locs, self.params.batch)
        slot = (index - tf.gather(first, locs)) % self.params.hard_k
        iids = tf.gather_nd(mined, tf.stack([locs, slot], axis=1))        # [P/2]
        neg = self.pair_scores(outputs["nodes"], outputs["att_user"], batch.uids[n:], iids, locs)
        return dict(outputs, preds=tf.concat([outputs["preds"][:n], neg], axis=0))

    def contrastive_loss(self, anchor, final_item, users, targets, weights, total=None):
        """(InfoNCE [], mined negatives [B, K]) for anchors [B, d] and their targets [B];
        total: the global anchor count when this batch is one replica's part."""
        items = tf.math.l2_normalize(final_item, -1)                      # [I, d]
        mined = self.mine(anchor, items, users, targets)                  # [B, K]
        q = tf.math.l2_normalize(anchor, -1)                              # [B, d]
        pos_sim = tf.reduce_sum(q * tf.gather(items, targets), -1)         # [B]
        neg_sim = tf.einsum("bd,bkd->bk", q, tf.gather(items, mined))     # [B, K]
        return losses.info_nce(pos_sim, neg_sim, self.params.cl_temp, weights, total), mined

    def loss_terms(self, outputs, batch, shard=None):
        """SelfGNN's terms, then 'clLoss'; 'Loss' gains cl_weight * clLoss when cl_weight > 0."""
        p = self.params
        users, targets, weights = self.batch_rows(batch)
        cl_loss, mined = self.contrastive_loss(self.anchors(outputs, users),
                                               outputs["nodes"].final_item, users, targets,
                                               weights, None if shard is None else shard.rows)
        if p.hard_in_rec:
            outputs = self.rec_with_mined(outputs, batch, mined)
        terms = super().loss_terms(outputs, batch, shard)
        terms["clLoss"] = cl_loss
        if p.cl_weight > 0:
            terms["Loss"] = terms["Loss"] + p.cl_weight * cl_loss
        return terms
