"""`--strategy`: the training step and the test scoring under `tf.distribute`.

Data parallelism over the users of a batch. Every replica holds the whole model
and computes the node embeddings of the whole graph (they do not depend on the
batch); the global batch of `--batch` users (sampled once, as on one device) is
cut into one contiguous block of users per replica (`shard_batch`). Each
replica's loss terms are its part of the global ones (`Shard`): the pair mean
divides by the global pair count, HardGNN's anchor mean by the global anchor
count, the SAL sum is a sum anyway and the L2 term counts on the first replica
only. The gradients are summed over replicas, checked for finiteness and applied
once. The output-dropout masks are drawn once per step and handed to every
replica, so all replicas compute the same node embeddings as one device would.

With --spread_graphs (the default) the replicas share the interval graphs instead:
they are independent until the LSTM, so each replica propagates one contiguous block
of ceil(G / replicas) of them (`graph_block`) and the blocks are all-gathered
(`gather_graphs`); the gather's gradient sums the replicas' gradients of each block
on the replica that computed it. The node stage after the gather runs on the rows
the replica's part of the batch reads (its users, and the items of their pairs, SAL
pairs and histories: `shard_batch` empties the other blocks' history rows).

SAL pairs are split by position in their halves: the original pairs element i of
a list's first half with element i of its second half (`losses.split_halves`),
and each replica keeps those pairs together.
"""
import collections
import json
import os

import tensorflow as tf

from selfgnn.sampler import TrainBatch

STRATEGIES = ("default", "mirrored", "multi_worker", "one_device")

Shard = collections.namedtuple("Shard", ["pairs", "rows", "first"])
Shard.__doc__ = """One replica's part of a batch: pairs = the global number of positive
pairs, rows = the global number of batch rows with pairs (HardGNN's anchors),
first = 1.0 on the replica that adds the L2 term, else 0.0 (scalars)."""


def make_strategy(name):
    """The tf.distribute strategy of `--strategy`."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":  # the cluster comes from TF_CONFIG
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name != "default":
        raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    return tf.distribute.get_strategy()


def worker_index():
    """This process's task index among the TF_CONFIG workers (0, the chief, without one)."""
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if task.get("type") == "chief":
        return 0
    has_chief = "chief" in config.get("cluster", {})
    return int(task.get("index", 0)) + (1 if has_chief else 0)


def _halves(x, replica, replicas):
    """Replica `replica`'s block of pairs (i, n + i) of a half-split list x [2n]."""
    n = tf.shape(x)[0] // 2
    per = (n + replicas - 1) // replicas
    lo = tf.minimum(replica * per, n)
    hi = tf.minimum(lo + per, n)
    return tf.concat([x[lo:hi], x[n + lo:n + hi]], axis=0)


def shard_batch(batch, replica, replicas, batch_rows):
    """(part of `batch` for `replica` of `replicas`, its `Shard`), in the graph.

    Rows (users) are cut into `replicas` contiguous blocks of ceil(B / replicas); a
    replica keeps the pairs of its rows, positive and negative halves alike, and its
    block of every SAL list. The history keeps its B rows (u_locs keep their global
    rows), but the rows of other blocks are emptied (item 0, mask 0, the sampler's
    padding): no pair of this replica reads them, and the node stage then runs only on
    the items of this block's histories (`SelfGNN.read_rows`).
    """
    n = tf.shape(batch.u_locs)[0] // 2
    locs = batch.u_locs[:n]                                           # [P/2]
    per = (batch_rows + replicas - 1) // replicas
    mine = tf.where((locs >= replica * per) & (locs < (replica + 1) * per))[:, 0]  # [p]

    def pairs(x):                                                     # [P] -> [2p]
        return tf.concat([tf.gather(x[:n], mine), tf.gather(x[n:2 * n], mine)], axis=0)

    block = tf.range(tf.shape(batch.sequence)[0])                    # [B]
    block = ((block >= replica * per) & (block < (replica + 1) * per))[:, None]  # [B, 1]
    rows_with_pairs = tf.math.unsorted_segment_max(tf.ones_like(locs), locs, batch_rows)
    shard = Shard(pairs=tf.cast(n, tf.float32),
                  rows=tf.cast(tf.reduce_sum(tf.maximum(rows_with_pairs, 0)), tf.float32),
                  first=tf.cast(tf.equal(replica, 0), tf.float32))
    part = TrainBatch(
        uids=pairs(batch.uids), iids=pairs(batch.iids), u_locs=pairs(batch.u_locs),
        sequence=tf.where(block, batch.sequence, tf.zeros_like(batch.sequence)),  # [B, L]
        mask=tf.where(block, batch.mask, tf.zeros_like(batch.mask)),              # [B, L]
        ssl_uids=tuple(_halves(x, replica, replicas) for x in batch.ssl_uids),
        ssl_iids=tuple(_halves(x, replica, replicas) for x in batch.ssl_iids))
    return part, shard


def _replica():
    context = tf.distribute.get_replica_context()
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def graph_block(graphs):
    """(first, end): the interval graphs [first, end) this replica propagates, the
    replica's contiguous block of ceil(graphs / replicas) (empty past the last graph);
    None outside a replica context of two or more replicas, or when the replica's
    index is not known while tracing (then the caller propagates every graph)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync < 2:
        return None
    replica = tf.get_static_value(context.replica_id_in_sync_group)
    if replica is None:
        return None
    per = -(-graphs // context.num_replicas_in_sync)
    return min(int(replica) * per, graphs), min((int(replica) + 1) * per, graphs)


def gather_graphs(block, graphs, rows, width):
    """Every replica's `block` (its graphs' tables, a list of [rows, width], possibly
    empty) all-gathered in replica order: `graphs` tables [rows, width]. Differentiable:
    a table's gradient is the sum of every replica's, on the replica that made it."""
    stacked = tf.stack(block) if block else tf.zeros([0, rows, width])  # [g_r, N, d]
    gathered = tf.distribute.get_replica_context().all_gather(stacked, axis=0)  # [G, N, d]
    return tf.unstack(tf.ensure_shape(gathered, [graphs, rows, width]), num=graphs)


def finite_update(optimizer, terms, grads):
    """Applies `grads` only if they and the loss terms are all finite; returns the flag.

    An explicit `tf.cond`: the training steps are traced without AutoGraph."""
    tensors = list(terms.values()) + [tf.convert_to_tensor(g) for g in grads if g is not None]
    finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])

    def apply():
        optimizer.apply_gradients(grads)
        return finite

    return tf.cond(finite, apply, lambda: finite)


def distributed_train_step(strategy, model, optimizer, variables):
    """The body of the training step under `strategy` (wrap it in tf.function)."""
    rows = model.params.batch

    def replica_step(batch, masks):
        replica, replicas = _replica()
        part, shard = shard_batch(batch, replica, replicas, rows)
        with tf.GradientTape() as tape:
            terms = model.compute_loss(part, training=True, shard=shard, masks=masks)
        grads = tape.gradient(terms["Loss"], variables)
        return terms, [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                       for g, v in zip(grads, variables)]

    def step(batch):
        masks = model.dropout_masks()
        terms, grads = strategy.run(replica_step, args=(batch, masks))
        terms = {k: strategy.reduce("SUM", v, axis=None) for k, v in terms.items()}
        grads = [strategy.reduce("SUM", g, axis=None) for g in grads]
        return dict(terms, finite=finite_update(optimizer, terms, grads))

    return step


def distributed_test_scores(strategy, model, score_fn):
    """Test scores [B, C] with the batch's rows split over the replicas and gathered back."""
    def replica_scores(final_user, final_item, users, candidates, sequence, mask):
        replica, replicas = _replica()
        per = (tf.shape(users)[0] + replicas - 1) // replicas
        rows = slice(replica * per, (replica + 1) * per)
        return score_fn(final_user, final_item, users[rows], candidates[rows], sequence[rows],
                        mask[rows])

    def scores(*args):
        return strategy.gather(strategy.run(replica_scores, args=args), axis=0)

    return scores
