"""HardGNN = SelfGNN + lambda * InfoNCE over K negatives mined per anchor, in the graph.

Only the loss hooks are overridden (`loss_terms`, `ranking_loss`, `start_epoch`).
For each batch row (one user, one training target) the anchor q is the
sequence-branch output (or the user's latest interval-graph embedding, or the
long-term user embedding), the positive is the target's item embedding, and the
negatives are mined per row by `--neg_mode`:
- hard: the K items with the highest cosine similarity to q among the items the
  user never interacted with (the training row), the target excluded: a masked
  `tf.math.top_k` over all items, under `stop_gradient`;
- random: K such items uniformly (top-K of uniform noise over the same mask);
- ppr: K items drawn from the user's band of personalized-PageRank ranks
  (`negatives.ppr_bands`, computed when training starts: the graph never changes);
- dns and mix mine as hard for InfoNCE, and change the ranking loss: each pair's
  negative becomes the best-scoring of `--dns_pool` uniform never-interacted items
  (dns), mixed with the positive as alpha e_pos + (1 - alpha) e_neg (mix).
`--hard_in_rec` puts the mined items into the ranking loss, `--curriculum` uses only
min(n - 1, K) hard negatives per user at epoch n, `--shared_negatives` mines one set
per batch, and `--rec_loss` / `--soft_alpha` choose the ranking loss.
"""
import time

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from hardgnn import negatives, params as hard_params
from selfgnn import losses
from selfgnn.model import NodeEmbeddings, SelfGNN


class HardGNN(SelfGNN):
    """SelfGNN with the HardGNN contrastive term; `params` needs the HardGNN flags."""

    NAME = "hardgnn"

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
        self.epoch = tf.Variable(0, trainable=False, name="hard_epoch")    # for --curriculum
        if params.neg_mode == "ppr":
            self.train_rows = rows
            first, last = negatives.band_ranks(num_items, hard_params.parse_band(params.ppr_band))
            self.ppr_band = tf.Variable(tf.zeros([num_users, last - first], tf.int32),
                                        trainable=False, name="ppr_band")  # [U, n]
            self.ppr_ready = False

    @classmethod
    def from_dataset(cls, params, dataset):
        edges = [dataset.graph_edges(k) for k in range(params.graphNum)]
        return cls(params, dataset.num_users, dataset.num_items, edges, dataset.train_mat)

    def start_epoch(self, epoch):
        """Counts epochs for --curriculum; computes the PPR bands for --neg_mode ppr.

        The bands depend on the training graph only, which no epoch changes: they are
        computed at the first epoch this process trains (the same at every epoch).
        """
        self.epoch.assign(epoch)
        if self.params.neg_mode == "ppr" and not self.ppr_ready:
            start = time.perf_counter()
            self.ppr_band.assign(negatives.ppr_bands(
                self.train_rows, hard_params.parse_band(self.params.ppr_band)))
            self.ppr_ready = True
            users, width = self.ppr_band.shape
            return (f"PPR bands: {width} items for each of {users} users "
                    f"({time.perf_counter() - start:.1f} s)")
        return None

    def active_negatives(self):
        """Hard negatives per user in use: K, or min(epoch, K) with --curriculum (epoch
        n counted from 1 uses n - 1)."""
        k = self.params.hard_k
        return tf.minimum(self.epoch, k) if self.params.curriculum else tf.constant(k)

    def forward(self, batch, training, masks=None):
        """SelfGNN's forward, with the item stage run twice in training: without gradient
        for every item (the mining scores all of them, and dns / mix pools draw from all
        of them), then with gradient for the item rows the loss reads, which include the
        mined and pooled items, drawn first (`draw_negatives`). final_item holds the first
        pass's values (so every score is the whole computation's) and the second pass's
        gradient; the backward pass runs on the read rows only."""
        user_rows, item_rows = self.read_rows(batch) if training else (None, None)
        if item_rows is None:
            return super().forward(batch, training, masks)
        user_short, item_short = self.graph_stage()
        user_masks, item_masks = self.training_masks(training, masks)
        final_user = self._node_stage(user_short, user_masks, self.user_norm,
                                      self.user_attention, user_rows, self.num_users)  # [U, d]
        values = tf.stop_gradient(self._node_stage(
            item_short, item_masks, self.item_norm, self.item_attention, None,
            self.num_items))                                              # [I, d]
        nodes = NodeEmbeddings(tuple(user_short), tuple(item_short), final_user, values)
        draws = self.draw_negatives(nodes, batch)
        drawn = [tf.reshape(draws[k], [-1]) for k in ("mined", "pool") if draws[k] is not None]
        rows = tf.unique(tf.concat([item_rows, *drawn], 0)).y              # [R]
        read = self._node_stage(item_short, item_masks, self.item_norm, self.item_attention,
                                rows, self.num_items)                     # [I, d], 0 off rows
        nodes = nodes._replace(final_item=values + (read - tf.stop_gradient(read)))
        return dict(self.batch_outputs(nodes, batch), draws=draws)

    def draw_negatives(self, nodes, batch):
        """The step's rows, seen mask, mined negatives [B, K] and dns / mix pools [P/2, H]
        (None for other modes), from the item values of `nodes`; the same draws, in the
        same order, as `loss_terms` makes without them."""
        users, targets, weights = self.batch_rows(batch)
        seen = self.seen(users, targets, weights)
        att = tf.stop_gradient(self.sequence_embedding(nodes.final_item, batch.sequence,
                                                       batch.mask))      # [B, d]
        anchor = tf.stop_gradient(self.anchors({"nodes": nodes, "att_user": att}, users))
        mined = self.mine(anchor, tf.math.l2_normalize(nodes.final_item, -1), users, seen,
                          weights)                                        # [B, K]
        pool = self.dns_pool(batch, seen) if self.params.neg_mode in ("dns", "mix") else None
        return dict(users=users, targets=targets, weights=weights, seen=seen, mined=mined,
                    pool=pool)

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

    def seen(self, users, targets, weights):
        """[B, I] True where row b's user interacted with the item or it is b's target;
        with --shared_negatives one row [1, I]: any valid row's."""
        b = self.params.batch
        starts = tf.gather(self.user_items.row_splits, users)              # [B]
        lengths = tf.gather(self.user_items.row_splits, users + 1) - starts  # [B]
        row = tf.repeat(tf.range(b, dtype=tf.int64), lengths)             # [N]
        first = tf.cumsum(lengths, exclusive=True)                        # [B]
        at = tf.gather(starts - first, row) + tf.range(tf.size(row, out_type=tf.int64))  # [N]
        # the ragged gather of the users' items, spelt out: RaggedGather has no GPU kernel
        seen = tf.stack([tf.cast(row, tf.int32), tf.gather(self.user_items.flat_values, at)],
                        axis=1)
        seen = tf.concat([seen, tf.stack([tf.range(b), targets], axis=1)], axis=0)
        mask = tf.scatter_nd(seen, tf.ones(tf.shape(seen)[:1]), [b, self.num_items]) > 0
        if self.params.shared_negatives:
            return tf.reduce_any(mask & (weights[:, None] > 0), axis=0, keepdims=True)
        return mask

    def mine(self, anchor, items, users, seen, weights):
        """K negatives per row [B, K] for --neg_mode (hard for dns and mix); no gradient."""
        b, k, p = self.params.batch, self.params.hard_k, self.params
        if p.neg_mode == "ppr":
            # read, then gather: ResourceGather has no GPU kernel for int32
            band = tf.gather(tf.convert_to_tensor(self.ppr_band), users)  # [B, n]
            pick = self.negative_rng.uniform([b, k], 0, tf.shape(band)[1], dtype=tf.int32)
            return tf.gather(band, pick, batch_dims=1)
        if p.neg_mode == "random":
            scores = self.negative_rng.uniform(tf.shape(seen))            # [B or 1, I]
        else:
            scores = tf.matmul(tf.math.l2_normalize(anchor, -1), items, transpose_b=True)
            if p.shared_negatives:  # the batch's mean cosine, over its valid rows
                scores = (tf.reduce_sum(scores * weights[:, None], 0, keepdims=True)
                          / tf.maximum(tf.reduce_sum(weights), 1.0))      # [1, I]
        scores = tf.where(seen, tf.constant(-np.inf, scores.dtype), scores)
        mined = tf.math.top_k(tf.stop_gradient(scores), k).indices        # [B or 1, K]
        return tf.broadcast_to(mined, [b, k])

    def pair_slots(self, batch):
        """(locs, slot) of each negative pair [P/2]: its row and its rank within the row."""
        n = tf.shape(batch.uids)[0] // 2
        locs = batch.u_locs[n:]                                           # [P/2]
        index = tf.range(n)
        first = tf.math.unsorted_segment_min(index, locs, self.params.batch)
        return locs, index - tf.gather(first, locs)

    def dns_pool(self, batch, seen):
        """--dns_pool uniform never-seen items per negative pair [P/2, H]."""
        n = tf.shape(batch.uids)[0] // 2
        locs, _ = self.pair_slots(batch)
        rows = tf.zeros_like(locs) if self.params.shared_negatives else locs
        return negatives.uniform_unseen(self.negative_rng, rows, seen,
                                        [n, self.params.dns_pool], self.num_items)

    def rec_negatives(self, outputs, batch, mined, seen, pool=None):
        """Ranking scores with hard negatives; pairs beyond the active count keep theirs.

        hard_in_rec: the i-th negative pair of a row takes the row's mined item i mod K;
        dns: the best of the pair's pool; mix: that item mixed with the positive.
        """
        p, nodes = self.params, outputs["nodes"]
        n = tf.shape(batch.uids)[0] // 2
        locs, slot = self.pair_slots(batch)
        uids, att = batch.uids[n:], outputs["att_user"]
        if p.neg_mode in ("dns", "mix"):
            if pool is None:
                pool = self.dns_pool(batch, seen)                         # [P/2, H]
            query = tf.gather(nodes.final_user, uids) + self._act(tf.gather(att, locs))
            pool_scores = tf.einsum("pd,phd->ph", query, tf.gather(nodes.final_item, pool))
            iids = negatives.dns_select(pool_scores, pool)                # [P/2]
        else:
            iids = tf.gather_nd(mined, tf.stack([locs, slot % p.hard_k], axis=1))  # [P/2]
        item = tf.gather(nodes.final_item, iids)                          # [P/2, d]
        if p.neg_mode == "mix":
            positive = tf.gather(nodes.final_item, batch.iids[:n])        # [P/2, d]
            item = p.mix_alpha * positive + (1.0 - p.mix_alpha) * item
        neg = self.item_scores(nodes, att, uids, item, locs)              # [P/2]
        if p.curriculum:  # only the first min(n - 1, K) pairs of a row take a hard one
            neg = tf.where(slot < self.active_negatives(), neg, outputs["preds"][n:])
        return dict(outputs, preds=tf.concat([outputs["preds"][:n], neg], axis=0))

    def contrastive_loss(self, anchor, final_item, users, targets, weights, total=None,
                         seen=None, mined=None):
        """(InfoNCE [], mined negatives [B, K]) for anchors [B, d] and their targets [B];
        total: the global anchor count when this batch is one replica's part."""
        if seen is None:
            seen = self.seen(users, targets, weights)
        items = tf.math.l2_normalize(final_item, -1)                      # [I, d]
        if mined is None:
            mined = self.mine(anchor, items, users, seen, weights)        # [B, K]
        q = tf.math.l2_normalize(anchor, -1)                              # [B, d]
        pos_sim = tf.reduce_sum(q * tf.gather(items, targets), -1)         # [B]
        neg_sim = tf.einsum("bd,bkd->bk", q, tf.gather(items, mined))     # [B, K]
        if self.params.curriculum:  # InfoNCE over the active negatives only
            active = tf.range(self.params.hard_k) < self.active_negatives()  # [K]
            neg_sim = tf.where(active[None, :], neg_sim, -np.inf)
        return losses.info_nce(pos_sim, neg_sim, self.params.cl_temp, weights, total), mined

    def ranking_loss(self, pos, neg, total=None):
        """--rec_loss with --soft_alpha (hinge with 0: SelfGNN's preLoss)."""
        return losses.ranking_loss(pos, neg, self.params.rec_loss, self.params.soft_alpha, total)

    def loss_terms(self, outputs, batch, shard=None):
        """SelfGNN's terms, then 'clLoss'; 'Loss' gains cl_weight * clLoss when cl_weight > 0."""
        p = self.params
        draws = outputs.get("draws")
        if draws is None:  # every row computed (--jit_compile, the plain path): drawn here
            users, targets, weights = self.batch_rows(batch)
            draws = dict(users=users, targets=targets, weights=weights,
                         seen=self.seen(users, targets, weights), mined=None, pool=None)
        users, targets, weights, seen = (draws[k] for k in ("users", "targets", "weights",
                                                            "seen"))
        cl_loss, mined = self.contrastive_loss(self.anchors(outputs, users),
                                               outputs["nodes"].final_item, users, targets,
                                               weights, None if shard is None else shard.rows,
                                               seen, draws["mined"])
        if p.hard_in_rec or p.neg_mode in ("dns", "mix"):
            outputs = self.rec_negatives(outputs, batch, mined, seen, draws["pool"])
        terms = super().loss_terms(outputs, batch, shard)
        terms["clLoss"] = cl_loss
        if p.cl_weight > 0:
            terms["Loss"] = terms["Loss"] + p.cl_weight * cl_loss
        return terms
