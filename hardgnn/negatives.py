"""Negative samplers of `--neg_mode` beyond HardGNN's cosine top-K.

- `uniform_unseen`: uniform items a row never interacted with (rejection sampling,
  in the graph): the candidate pools of DNS (Rendle & Freudenthaler 2014; SDNS,
  Algorithm 1) and the random negatives.
- `dns_select`: per pair, the highest-scoring item of its pool (no gradient).
- `ppr_bands`: PinSAGE's hard negatives (Ying et al. 2018, section 3.6): items
  ranked in a band of personalized-PageRank scores from the user, computed once per
  epoch with sparse power iteration over the training graph.
"""
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

PPR_RESTART = 0.15
"""Restart probability of the personalized PageRank walk (PageRank's 0.85 damping)."""

PPR_HOPS = 4
"""user -> item -> user ... rounds of power iteration: the item scores keep the terms
of walks with up to 2 * PPR_HOPS - 1 steps; longer walks weigh (0.85^2)^4 < 0.28 and
mostly re-rank the far tail, which the band leaves out anyway."""


def uniform_unseen(rng, rows, seen, shape, num_items):
    """Items [*shape] drawn uniformly among those with seen[rows, item] False.

    rows [shape[0]]: the row (batch position) of each draw; seen [B, I] bool. Draws
    again where an item was seen until none is (each row must have an unseen item).
    """
    def draw():
        return rng.uniform(shape, 0, num_items, dtype=tf.int32)

    seen_01 = tf.cast(seen, tf.float32)  # GatherNd has no GPU kernel for bool

    def is_seen(items):
        index = tf.stack([tf.broadcast_to(rows[:, None], shape), items], axis=-1)
        return tf.gather_nd(seen_01, index) > 0

    def redraw(items):
        return (tf.where(is_seen(items), draw(), items),)

    items, = tf.while_loop(lambda items: tf.reduce_any(is_seen(items)), redraw, (draw(),))
    return items


def dns_select(pool_scores, pool):
    """The highest-scoring item of each pool: pool_scores, pool [P, H] -> [P]."""
    best = tf.argmax(tf.stop_gradient(pool_scores), axis=1, output_type=tf.int32)
    return tf.gather(pool, best, batch_dims=1)


def band_ranks(num_items, band):
    """[first, last) ranks of the band among `num_items` (at least one rank)."""
    low, high = band
    first = min(int(low * num_items), num_items - 1)
    return first, max(int(high * num_items), first + 1)


DENSE_LIMIT = 5e7
"""Graphs with at most this many user x item cells walk on dense matrices (BLAS)."""


def transitions(train_mat):
    """(A, B): A = row-normalised R [U, I] (user -> item), B = row-normalised R^T [I, U];
    dense float64 arrays up to DENSE_LIMIT cells, else CSR."""
    mat = sp.csr_matrix(train_mat, dtype=np.float64)
    mat.data[:] = 1.0

    def normalise(m):
        deg = np.asarray(m.sum(axis=1)).ravel()
        return (sp.diags(np.where(deg > 0, 1.0 / np.maximum(deg, 1.0), 0.0)) @ m).tocsr()

    a, b = normalise(mat), normalise(mat.T.tocsr())
    if mat.shape[0] * mat.shape[1] <= DENSE_LIMIT:
        return a.toarray(), b.toarray()
    return a, b


def ppr_item_scores(train_mat, users, hops=PPR_HOPS, restart=PPR_RESTART, walks=None):
    """Personalized PageRank mass on the items, for walks restarting at each of `users`.

    The walk goes user -> item along R's rows and item -> user along its columns,
    each normalised by degree (`transitions`: A, B). From user u the item part of the
    PPR vector is sum_k r (1-r)^(2k+1) e_u A (B A)^k, truncated at k < hops.
    Returns [len(users), I] float64.
    """
    user_to_item, item_to_user = walks or transitions(train_mat)
    walk = user_to_item[users]                                # [b, I]: one step from u
    walk = walk.toarray() if sp.issparse(walk) else np.array(walk)
    scores = np.zeros_like(walk)
    for k in range(hops):
        scores += restart * (1.0 - restart) ** (2 * k + 1) * walk
        walk = np.asarray((walk @ item_to_user) @ user_to_item)  # two more steps
    return scores


def ppr_bands(train_mat, band, block=512):
    """[U, n] int32: per user, the never-interacted items at PPR ranks [first, last) of
    `band_ranks` (rank 0 = the highest score, ties by item id), n = last - first.

    Interacted items are ranked below every other item, so a band never holds one
    unless the user interacted with nearly the whole catalogue.
    """
    mat = sp.csr_matrix(train_mat)
    num_users, num_items = mat.shape
    first, last = band_ranks(num_items, band)
    walks = transitions(mat)
    out = np.zeros((num_users, last - first), np.int32)
    for start in range(0, num_users, block):
        users = np.arange(start, min(start + block, num_users))
        scores = ppr_item_scores(mat, users, walks=walks)
        scores[mat[users].nonzero()] = -np.inf
        order = np.argsort(-scores, axis=1, kind="stable")
        out[users] = order[:, first:last]
    return out
