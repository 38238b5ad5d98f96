"""selfgnn.propagation: the plain and the sorted sums, by hand and against each other."""
import numpy as np
import pytest
import tensorflow as tf

from selfgnn import propagation


def test_propagate_sums_without_normalisation():
    src = tf.constant([[1.0, 0.0], [0.0, 2.0], [-4.0, 1.0]])  # 3 source nodes
    src_of_edge = tf.constant([0, 1, 2, 2])
    dst_of_edge = tf.constant([0, 0, 1, 3])                   # node 2 has no edge
    out = propagation.propagate(src, src_of_edge, dst_of_edge, 4, leaky=0.5).numpy()
    np.testing.assert_allclose(out, [[1.0, 2.0], [-2.0, 1.0], [0.0, 0.0], [-2.0, 1.0]])


# Edges (user, item), stored out of order: (3, 2), (0, 1), (1, 2), (0, 0).
BIPARTITE = dict(users_of_edge=[3, 0, 1, 0], items_of_edge=[2, 1, 2, 0], num_users=4, num_items=3)


def np_adjacency():
    a = np.zeros((4, 3), np.float32)
    for u, i in zip(BIPARTITE["users_of_edge"], BIPARTITE["items_of_edge"]):
        a[u, i] += 1.0
    return a


@pytest.mark.parametrize("xla", [False, True])
@pytest.mark.parametrize("extra", [0, 2])  # trailing rows without edges: zero rows appended
def test_bipartite_graph_sums_by_hand(xla, extra):
    sizes = dict(num_users=4 + extra, num_items=3 + extra)
    graph = propagation.BipartiteGraph(**dict(BIPARTITE, **sizes), xla=xla)
    item_rows = tf.constant([[1.0, 0.0], [0.0, 2.0], [-4.0, 1.0]] + [[9.0, 9.0]] * extra)
    user_rows = tf.constant([[1.0, 1.0], [2.0, 0.0], [5.0, 5.0], [0.0, 3.0]] + [[9.0, 9.0]] * extra)
    to_users = tf.function(graph.to_users, jit_compile=xla)
    to_items = tf.function(graph.to_items, jit_compile=xla)
    np.testing.assert_array_equal(to_users(item_rows),
                                  [[1, 2], [-4, 1], [0, 0], [-4, 1]] + [[0, 0]] * extra)
    np.testing.assert_array_equal(to_items(user_rows), [[1, 1], [1, 1], [2, 3]] + [[0, 0]] * extra)


def test_bipartite_graph_gradients_are_the_transposed_sums_and_match_the_plain_path():
    graph = propagation.BipartiteGraph(**BIPARTITE)
    rng = np.random.default_rng(0)
    items = tf.constant(rng.normal(size=(3, 2)), tf.float32)
    users = tf.constant(rng.normal(size=(4, 2)), tf.float32)
    w_users = rng.normal(size=(4, 2)).astype(np.float32)
    w_items = rng.normal(size=(3, 2)).astype(np.float32)
    u_of_edge = tf.constant(BIPARTITE["users_of_edge"])
    i_of_edge = tf.constant(BIPARTITE["items_of_edge"])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([items, users])
        fast = (tf.reduce_sum(graph.to_users(items) * w_users)
                + tf.reduce_sum(graph.to_items(users) * w_items))
        plain = (tf.reduce_sum(tf.math.unsorted_segment_sum(
            tf.gather(items, i_of_edge), u_of_edge, 4) * w_users)
            + tf.reduce_sum(tf.math.unsorted_segment_sum(
                tf.gather(users, u_of_edge), i_of_edge, 3) * w_items))
    a = np_adjacency()
    d_items, d_users = tape.gradient(fast, [items, users])
    np.testing.assert_allclose(d_items, a.T @ w_users, rtol=1e-6)  # d<A x, W>/dx = A^T W
    np.testing.assert_allclose(d_users, a @ w_items, rtol=1e-6)
    for got, want in zip((d_items, d_users), tape.gradient(plain, [items, users])):
        np.testing.assert_allclose(got, tf.convert_to_tensor(want), rtol=1e-6)


def test_bipartite_graph_gives_the_same_bits_every_time():
    rng = np.random.default_rng(1)
    users, items = rng.integers(0, 500, 40000), rng.integers(0, 800, 40000)
    graph = propagation.BipartiteGraph(users, items, 500, 800)
    x = tf.constant(rng.normal(size=(800, 16)), tf.float32)
    w = tf.constant(rng.normal(size=(500, 16)), tf.float32)

    @tf.function
    def value_and_grad():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = graph.to_users(x)
            loss = tf.reduce_sum(y * w)
        return y, tape.gradient(loss, x)

    first = [t.numpy() for t in value_and_grad()]
    for _ in range(3):
        for a, b in zip(first, value_and_grad()):
            np.testing.assert_array_equal(a, b)
