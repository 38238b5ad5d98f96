"""SelfGNN (`Recommender.ours` and `prepareModel` of the original `model.py`).

Shapes: U users, I items, G interval graphs, d = latdim, B = batch (padded),
L = pos_length, P = pairs in a batch. The loss hook is `loss_terms`: a subclass
(HardGNN) overrides it and keeps everything else.
"""
import collections

import tensorflow as tf

from selfgnn import distribute, layers, losses, propagation, sequence_branch

NodeEmbeddings = collections.namedtuple(
    "NodeEmbeddings", ["user_short", "item_short", "final_user", "final_item"])
NodeEmbeddings.__doc__ = """user_short, item_short: per-graph GNN outputs, G tensors [U, d] and [I, d];
final_user [U, d], final_item [I, d]: after LSTM, layer norm, attention and the mean over G."""


class SelfGNN(tf.Module):
    """The SelfGNN model with the original's variables, names and creation order."""

    NAME = "selfgnn"  # what `--model` calls it
    MAX_TIME = 1  # `self.maxTime = 1` in `prepareGlobalData`; timeEmbed is [MAX_TIME + 1, d]
    FAST_KERNELS = True
    """Graph propagation as sorted sparse segment sums with paired gradients
    (`propagation.BipartiteGraph`: the same bits on every CPU run) and the node attention's
    mean over graphs reassociated with its own gradient; `PlainSelfGNN` is the plain
    path, kept as the reference the tests compare against."""

    def __init__(self, params, num_users, num_items, graph_edges):
        """graph_edges: G pairs (users_of_edge, items_of_edge) of int32 arrays."""
        super().__init__(name="selfgnn")
        if len(graph_edges) != params.graphNum:
            raise ValueError(f"got {len(graph_edges)} interval graphs, --graphNum is "
                             f"{params.graphNum}")
        self.params = params
        self.num_users, self.num_items = int(num_users), int(num_items)
        if self.FAST_KERNELS:
            self.graphs = [propagation.BipartiteGraph(u, i, num_users, num_items,
                                                      params.jit_compile)
                           for u, i in graph_edges]
        else:
            self.edges = [(tf.constant(u, tf.int32), tf.constant(i, tf.int32))
                          for u, i in graph_edges]
        p, d, g = params, params.latdim, params.graphNum
        f = layers.VariableFactory(p.seed)
        self.factory = f
        # Lines 108-117: embeddings, all Xavier-uniform and L2-regularized.
        self.uEmbed = f.make("uEmbed", [g, num_users, d], regularize=True)
        self.iEmbed = f.make("iEmbed", [g, num_items, d], regularize=True)
        self.posEmbed = f.make("posEmbed", [p.pos_length, d], regularize=True)
        self.timeEmbed = f.make("timeEmbed", [self.MAX_TIME + 1, d], regularize=True)
        # Each messagePropagate call makes FC(timeEmbed, d, reg=True) and drops its
        # output: a [d, d] weight that only enters the L2 term. Kept, so regLoss and
        # the checkpoint layout match (graph k, layer l, user call then item call).
        self.unused_time_fc = [f.make(f"defaultParamName{n + 1}", [d, d], regularize=True)
                               for n in range(2 * g * p.gnn_layer)]
        self.lstm = layers.BasicLSTMCell(f, d)
        heads = p.num_attention_heads
        self.user_norm = layers.LayerNorm(f, "LayerNorm", d)
        self.user_attention = layers.MultiHeadSelfAttention(
            f, ("dense", "dense_1", "dense_2"), d, heads)
        self.item_norm = layers.LayerNorm(f, "LayerNorm_1", d)
        self.item_attention = layers.MultiHeadSelfAttention(
            f, ("dense_3", "dense_4", "dense_5"), d, heads)
        self.history_norm = layers.LayerNorm(f, "LayerNorm_2", d)
        self.position_norm = layers.LayerNorm(f, "LayerNorm_3", d)
        self.sequence_norms, self.sequence_attention = [], []
        for i in range(p.att_layer):
            self.sequence_norms.append(layers.LayerNorm(f, f"LayerNorm_{4 + i}", d))
            self.sequence_attention.append(layers.MultiHeadSelfAttention(
                f, tuple(f"dense_{6 + 3 * i + j}" for j in range(3)), d, heads))
        # Lines 179-182: one pair of FC layers shared by all graphs; biases not regularized.
        self.meta2 = f.make("meta2", [3 * d, p.ssldim], regularize=True)
        self.meta2Bias = f.make("meta2Bias", [p.ssldim], init="zeros")
        self.meta3 = f.make("meta3", [p.ssldim, 1], regularize=True)
        self.meta3Bias = f.make("meta3Bias", [1], init="zeros")
        self.regularized = [v for _, v, reg in f.created if reg]
        self.dropout_rng = tf.random.Generator.from_seed(p.seed + 1)

    @classmethod
    def from_dataset(cls, params, dataset):
        """The model for a loaded `data_handler.Dataset` (subclasses may need more of it)."""
        edges = [dataset.graph_edges(k) for k in range(params.graphNum)]
        return cls(params, dataset.num_users, dataset.num_items, edges)

    def tf1_variables(self):
        """[(TF1 name, variable)] in the original's creation order."""
        return [(name, var) for name, var, _ in self.factory.created]

    def _act(self, x):
        return layers.leaky_relu(x, self.params.leaky)

    def _propagate(self, k, item_rows, user_rows):
        """One `messagePropagate` pair on graph k: (users <- items, items <- users)."""
        leaky = self.params.leaky
        if self.FAST_KERNELS:
            graph = self.graphs[k]
            return (layers.leaky_relu(graph.to_users(item_rows), leaky),
                    layers.leaky_relu(graph.to_items(user_rows), leaky))
        u_of_edge, i_of_edge = self.edges[k]
        return (propagation.propagate(item_rows, i_of_edge, u_of_edge, self.num_users, leaky),
                propagation.propagate(user_rows, u_of_edge, i_of_edge, self.num_items, leaky))

    def dropout_masks(self):
        """The LSTM's output-dropout masks of one training step: G masks [U, d], then G
        masks [I, d], drawn in that order from `dropout_rng` (None at keepRate 1).

        Under a distribution strategy every replica must drop the same units, so the
        step draws them once and hands them to each replica.
        """
        p = self.params
        if p.keepRate >= 1.0:
            return None
        d, g = p.latdim, p.graphNum
        return ([layers.keep_mask([self.num_users, d], p.keepRate, self.dropout_rng)
                 for _ in range(g)],
                [layers.keep_mask([self.num_items, d], p.keepRate, self.dropout_rng)
                 for _ in range(g)])

    def read_rows(self, batch):
        """(user rows [Ru], item rows [Ri]): the rows of final_user and final_item a
        training step reads (its pairs, SAL pairs and histories, padding included), or
        None for a side computed whole. None under --jit_compile (XLA has no
        `tf.unique`) and on the plain path (`PlainSelfGNN`)."""
        if self.params.jit_compile or not self.FAST_KERNELS:
            return None, None
        users = tf.concat([batch.uids, *batch.ssl_uids], 0)                  # [P + S]
        items = tf.concat([batch.iids, *batch.ssl_iids, tf.reshape(batch.sequence, [-1])], 0)
        return tf.unique(users).y, tf.unique(items).y                         # [Ru], [Ri]

    def node_embeddings(self, training, masks=None, rows=(None, None)):
        """Lines 118-155: interval graphs, the shared LSTM, layer norm and attention.

        masks: (user masks, item masks) from `dropout_masks`, or None to draw them here
        when training. rows: `read_rows` of the step; the graphs propagate whole (they
        feed those rows), the per-node stage after them runs on those rows only and the
        other rows of final_user / final_item stay zero. Each row's value and every
        gradient are the whole computation's (to float rounding): the stage is per node,
        and its dropout masks are rows of the full-size draw.
        """
        user_short, item_short = self.graph_stage()
        user_masks, item_masks = self.training_masks(training, masks)
        final_user = self._node_stage(user_short, user_masks, self.user_norm,
                                      self.user_attention, rows[0], self.num_users)  # [U, d]
        final_item = self._node_stage(item_short, item_masks, self.item_norm,
                                      self.item_attention, rows[1], self.num_items)  # [I, d]
        # per-graph tuples, not stacked: the SAL takes one graph at a time, and a stack
        # it unstacked again would copy every table both ways
        return NodeEmbeddings(tuple(user_short), tuple(item_short), final_user, final_item)

    def graph_stage(self):
        """Lines 118-140: each interval graph's GNN layers, summed: G x [U, d], G x [I, d].

        Under a distribution strategy with --spread_graphs each replica propagates its
        block of the graphs and the blocks are all-gathered (`distribute.graph_block`).
        """
        p = self.params
        block = distribute.graph_block(p.graphNum) if p.spread_graphs else None
        first, end = block or (0, p.graphNum)
        user_short, item_short = [], []
        # unstack, not uEmbed[k]: one gradient op instead of G zero-filled [G, N, d] slices
        for k, (u_embed, i_embed) in enumerate(zip(tf.unstack(self.uEmbed),
                                                   tf.unstack(self.iEmbed))):
            if not first <= k < end:
                continue
            embs_u, embs_i = [u_embed], [i_embed]                     # [U, d], [I, d]
            for _ in range(p.gnn_layer):
                new_u, new_i = self._propagate(k, embs_i[-1], embs_u[-1])  # [U, d], [I, d]
                embs_u.append(new_u + embs_u[-1])
                embs_i.append(new_i + embs_i[-1])
            user_short.append(tf.add_n(embs_u))                       # G x [U, d]
            item_short.append(tf.add_n(embs_i))                       # G x [I, d]
        if block is None:
            return user_short, item_short
        return (distribute.gather_graphs(user_short, p.graphNum, self.num_users, p.latdim),
                distribute.gather_graphs(item_short, p.graphNum, self.num_items, p.latdim))

    def training_masks(self, training, masks):
        """(user masks, item masks) of a step: `masks` if given, else a new draw, when
        training; (None, None) at test time or keepRate 1."""
        if training and masks is None:
            masks = self.dropout_masks()
        return masks if training and masks is not None else (None, None)

    def _node_stage(self, short, masks, norm, attention, rows, count):
        """LSTM over the G graphs, layer norm, attention, mean: G x [N, d] -> [N, d], for
        the nodes `rows` only (None: all), scattered into zeros [N, d]."""
        if rows is not None:
            short = [tf.gather(x, rows) for x in short]                     # G x [R, d]
            masks = None if masks is None else [tf.gather(m, rows) for m in masks]
        compute = tf.bfloat16 if self.params.mixed_precision else tf.float32
        seq = self.lstm([tf.cast(x, compute) for x in short],
                        self.params.keepRate, masks)                        # [R, G, d]
        final = tf.cast(self._token_mean(attention, norm(seq)), tf.float32)  # [R, d]
        if rows is None:
            return final
        return tf.scatter_nd(rows[:, None], final, [count, self.params.latdim])  # [N, d]

    def _token_mean(self, attention, x):
        """Lines 152-155: reduce_mean(attention(x), 1), x [N, G, d] -> [N, d]."""
        if self.FAST_KERNELS:
            return attention.token_mean(x)
        return tf.reduce_mean(attention(x), 1)

    def sequence_embedding(self, final_item, sequence, mask):
        """The users' sequence representations [B, d] of histories sequence, mask [B, L]:
        lines 158-167 (`sequence_branch.original`) or `--sequence_branch paper`."""
        return sequence_branch.BRANCHES[self.params.sequence_branch](
            self, final_item, sequence, mask)

    def pair_scores(self, nodes, att_user, uids, iids, u_locs):
        """Lines 169-173: <f_u, f_i> + <leakyRelu(att_user[row]), f_i>; all [P] -> [P]."""
        return self.item_scores(nodes, att_user, uids, tf.gather(nodes.final_item, iids), u_locs)

    def item_scores(self, nodes, att_user, uids, item, u_locs):
        """`pair_scores` for item embeddings item [P, d] given directly."""
        user = tf.gather(nodes.final_user, uids)                      # [P, d]
        seq_user = self._act(tf.gather(att_user, u_locs))             # [P, d]
        return tf.reduce_sum(user * item, -1) + tf.reduce_sum(seq_user * item, -1)

    def candidate_scores(self, nodes, users, candidates, sequence, mask):
        """Test scores [B, C] of `candidates` [B, C] for `users` [B] (same formula as training)."""
        att_user = self.sequence_embedding(nodes.final_item, sequence, mask)  # [B, d]
        item = tf.gather(nodes.final_item, candidates)                # [B, C, d]
        user = tf.gather(nodes.final_user, users)[:, None, :]         # [B, 1, d]
        seq_user = self._act(att_user)[:, None, :]                    # [B, 1, d]
        return tf.reduce_sum(user * item, -1) + tf.reduce_sum(seq_user * item, -1)

    def sal_weights(self, final_user, user_short, uids):
        """Lines 178-184, for the users `uids` [P] of one graph, whose GNN output is
        user_short [U, d]: sigmoid(meta3(leakyRelu(meta2(.))))."""
        final = tf.gather(final_user, uids)                           # [P, d]
        short = tf.gather(user_short, uids)                           # [P, d]
        meta1 = tf.concat([final * short, final, short], axis=-1)     # [P, 3d]
        hidden = self._act(tf.matmul(meta1, self.meta2) + self.meta2Bias)  # [P, ssldim]
        return tf.sigmoid(tf.matmul(hidden, self.meta3) + self.meta3Bias)[:, 0]  # [P]

    def sal_loss(self, nodes, ssl_uids, ssl_iids):
        """Lines 185-203: the personalized self-augmented loss summed over graphs."""
        total = tf.constant(0.0)
        for uids, iids, user_short, item_short in zip(ssl_uids, ssl_iids, nodes.user_short,
                                                      nodes.item_short):
            long_scores = tf.reduce_sum(self._act(
                tf.gather(nodes.final_user, uids) * tf.gather(nodes.final_item, iids)), -1)
            short_scores = tf.reduce_sum(self._act(
                tf.gather(user_short, uids) * tf.gather(item_short, iids)), -1)
            total += losses.sal_hinge_loss(
                long_scores, self.sal_weights(nodes.final_user, user_short, uids), short_scores)
        return total

    def forward(self, batch, training, masks=None):
        """Node embeddings (a training step's read rows only), the batch's sequence
        embedding and pair scores."""
        return self.batch_outputs(self.node_embeddings(
            training, masks, self.read_rows(batch) if training else (None, None)), batch)

    def batch_outputs(self, nodes, batch):
        """The batch's sequence embedding [B, d] and pair scores [P] from `nodes`."""
        att_user = self.sequence_embedding(nodes.final_item, batch.sequence, batch.mask)
        preds = self.pair_scores(nodes, att_user, batch.uids, batch.iids, batch.u_locs)
        return {"nodes": nodes, "att_user": att_user, "preds": preds}

    def loss_terms(self, outputs, batch, shard=None):
        """The loss hook (lines 241-246): dict with the total 'Loss' and its named parts.

        shard: None for the whole batch, or a `distribute.Shard` when `batch` is one
        replica's part: the pair mean then divides by the global pair count and the
        L2 term counts on the first replica only, so the replicas' terms sum to the
        whole batch's.
        """
        p = self.params
        pos, neg = losses.split_halves(outputs["preds"])
        pre_loss = self.ranking_loss(pos, neg, None if shard is None else shard.pairs)
        ssl_loss = self.sal_loss(outputs["nodes"], batch.ssl_uids, batch.ssl_iids)
        l2 = losses.l2_sum(self.regularized)
        if shard is not None:
            l2 = l2 * shard.first
        reg_loss = p.reg * l2 + p.ssl_reg * ssl_loss
        return {"Loss": pre_loss + reg_loss, "preLoss": pre_loss, "regLoss": reg_loss,
                "sslLoss": ssl_loss}

    def ranking_loss(self, pos, neg, total=None):
        """preLoss (line 244): the hinge mean over pairs (total: see `loss_terms`)."""
        return losses.hinge_pair_loss(pos, neg, total)

    def start_epoch(self, epoch):
        """Called by the trainer before each training epoch (0-based); returns a line to
        log or None. SelfGNN needs nothing."""
        return None

    def compute_loss(self, batch, training=True, shard=None, masks=None):
        outputs = self.forward(batch, training, masks)
        if shard is None:  # a hook written as loss_terms(outputs, batch) still works
            return self.loss_terms(outputs, batch)
        return self.loss_terms(outputs, batch, shard)


class PlainSelfGNN(SelfGNN):
    """SelfGNN on the plain kernels (`unsorted_segment_sum`, the attention as written):
    the reference of `tests/test_trainer.py` and `bench/run.py --plain`, not a user path."""

    FAST_KERNELS = False


class EveryRowSelfGNN(SelfGNN):
    """SelfGNN with the node stage on every row (no `read_rows`): the reference of the
    read-rows tests and `bench/run.py --every_row`, not a user path."""

    def read_rows(self, batch):
        return None, None
