"""Graph propagation over one interval graph's user-item edges (`messagePropagate`).

`propagate` is the original's gather and segment sum, kept as the plain path;
`BipartiteGraph` gives the same sums from edges sorted once, with a fixed summation
order and each direction's gradient computed as the other direction's sum.
"""
import tensorflow as tf

from selfgnn.layers import leaky_relu


def propagate(src, src_of_edge, dst_of_edge, num_dst, leaky):
    """`messagePropagate`: leakyRelu(segment_sum(src[src_of_edge], dst_of_edge)).

    No edge weights and no degree normalisation: `transToLsts(norm=True)` casts
    the normalised values into an int32 array, so every value is 0 and only the
    indices are used, which also makes `edgeDropout` a no-op. The original pads
    the segment sum by 100 rows and looks ids up; summing into `num_dst` rows
    gives the same numbers for every node without the crash. This is the plain
    path (`model.PlainSelfGNN`); `BipartiteGraph` is the fast one.
    """
    messages = tf.gather(src, src_of_edge)                     # [E, d]
    return leaky_relu(tf.math.unsorted_segment_sum(messages, dst_of_edge, num_dst), leaky)


def _sorted_sum(src, src_ids, dst_ids, num_dst, xla):
    """sum_e src[src_ids[e]] into row dst_ids[e] of [num_dst, d]; dst_ids sorted.

    One SparseSegmentSum: it reads the source rows in place (no [E, d] gather is
    written) and sizes the result by `num_dst` (no padding for trailing empty rows).
    XLA has no kernel for it: under `xla` the gather and unsorted sum are used.
    """
    if xla:
        return tf.math.unsorted_segment_sum(tf.gather(src, src_ids), dst_ids, num_dst)
    return tf.sparse.segment_sum(src, src_ids, dst_ids, num_segments=num_dst)  # [num_dst, d]


class BipartiteGraph:
    """One interval graph's edges, kept sorted by user and by item.

    `to_users(x)` = A x and `to_items(y)` = A^T y for the 0/1 user-item adjacency A,
    the sums of `propagate` before its activation. Each is a sorted segment sum,
    and each one's gradient is the other (d(A x)/dx applied to g is A^T g), so
    neither direction scatters through `unsorted_segment_sum`, which on CPU is
    slower and adds in a thread-dependent order (results change from run to run).
    The sorted sums add each row's edges in a fixed order: the same inputs give the
    same bits. A stable sort keeps the stored edge order within a row.
    """

    def __init__(self, users_of_edge, items_of_edge, num_users, num_items, xla=False):
        self.xla = xla
        users = tf.constant(users_of_edge, tf.int32)           # [E]
        items = tf.constant(items_of_edge, tf.int32)           # [E]
        by_user = tf.argsort(users, stable=True)
        by_item = tf.argsort(items, stable=True)
        self.num_users, self.num_items = int(num_users), int(num_items)
        self._items_by_user = tf.gather(items, by_user)        # sources of to_users
        self._users_sorted = tf.gather(users, by_user)
        self._users_by_item = tf.gather(users, by_item)        # sources of to_items
        self._items_sorted = tf.gather(items, by_item)

    def _users_sum(self, item_rows):
        return _sorted_sum(item_rows, self._items_by_user, self._users_sorted, self.num_users,
                           self.xla)

    def _items_sum(self, user_rows):
        return _sorted_sum(user_rows, self._users_by_item, self._items_sorted, self.num_items,
                           self.xla)

    def to_users(self, item_rows):
        """[I, d] -> [U, d]: row u sums the item rows of u's edges."""
        @tf.custom_gradient
        def forward(x):
            return self._users_sum(x), self._items_sum
        return forward(item_rows)

    def to_items(self, user_rows):
        """[U, d] -> [I, d]: row i sums the user rows of i's edges."""
        @tf.custom_gradient
        def forward(x):
            return self._items_sum(x), self._users_sum
        return forward(user_rows)
