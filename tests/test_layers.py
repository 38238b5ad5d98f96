"""Fixed-weight tests of selfgnn.layers against hand or NumPy computations."""
import math

import numpy as np
import pytest
import tensorflow as tf

from selfgnn import layers


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize("leaky,x,expected", [
    (0.5, [-2.0, 0.0, 3.0], [-1.0, 0.0, 3.0]),
    (0.1, [-10.0, 1.0], [-1.0, 1.0]),
    (2.0, [-1.0, 1.0], [-1.0, 2.0]),  # max(leaky x, x): not tf.nn.leaky_relu for leaky > 1
])
def test_leaky_relu_is_max_of_scaled_and_identity(leaky, x, expected):
    np.testing.assert_allclose(layers.leaky_relu(tf.constant(x), leaky).numpy(), expected)


@pytest.mark.parametrize("leaky", [0.5, 0.2, 1.0, 0.0])
def test_leaky_relu_has_the_values_and_gradients_of_the_max_form_bit_for_bit(leaky):
    """tf.nn.leaky_relu (used for leaky <= 1) against max(leaky x, x): zeros, signed
    zeros and denormals included, forward bits and gradients equal."""
    x = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    x[:4] = [0.0, -0.0, 1e-40, -1e-40]
    x, upstream = tf.constant(x), tf.constant(np.linspace(-1, 1, 1000, dtype=np.float32))
    outs = []
    for fn in (lambda y: layers.leaky_relu(y, leaky), lambda y: tf.maximum(leaky * y, y)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        outs.append((y.numpy().view(np.int32), tape.gradient(y, x, upstream).numpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


@pytest.mark.parametrize("shape,expected", [
    ([3, 4], math.sqrt(6 / 7)),
    ([5, 100, 8], math.sqrt(6 / (5 * 100 + 5 * 8))),  # receptive field for rank 3
    ([10], math.sqrt(6 / 20)),
])
def test_glorot_limit_matches_tf1_fans(shape, expected):
    assert layers.glorot_limit(shape) == pytest.approx(expected)


def test_factory_is_seeded_and_ordered():
    a, b, c = layers.VariableFactory(7), layers.VariableFactory(7), layers.VariableFactory(8)
    va = a.make("x", [4, 3]), a.make("y", [2])
    vb = b.make("x", [4, 3]), b.make("y", [2])
    vc = c.make("x", [4, 3])
    np.testing.assert_array_equal(va[0].numpy(), vb[0].numpy())
    assert not np.array_equal(va[0].numpy(), vc.numpy())
    assert [name for name, _, _ in a.created] == ["x", "y"]
    assert np.abs(va[0].numpy()).max() <= layers.glorot_limit([4, 3])


def test_layer_norm_normalises_over_all_but_first_axis():
    """contrib layer_norm: [N, G, d] is normalised over G and d together, epsilon 1e-12."""
    factory = layers.VariableFactory(0)
    norm = layers.LayerNorm(factory, "LayerNorm", 2)
    norm.gamma.assign([2.0, 3.0])
    norm.beta.assign([0.5, -0.5])
    x = np.array([[[1.0, 2.0], [3.0, 6.0]]], np.float32)  # [1, 2, 2]
    mean, var = x.mean(), x.var()  # over both G and d: 3.0, 3.5
    expected = (x - mean) / np.sqrt(var + 1e-12) * [2.0, 3.0] + [0.5, -0.5]
    np.testing.assert_allclose(norm(tf.constant(x)).numpy(), expected, rtol=1e-5)
    per_row = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True))
    assert not np.allclose(norm(tf.constant(x)).numpy(), per_row * [2.0, 3.0] + [0.5, -0.5])
    assert [n for n, _, _ in factory.created] == ["LayerNorm/beta", "LayerNorm/gamma"]


def test_layer_norm_of_zero_row_is_beta():
    factory = layers.VariableFactory(0)
    norm = layers.LayerNorm(factory, "LayerNorm_2", 3)
    norm.beta.assign([1.0, 2.0, 3.0])
    np.testing.assert_allclose(norm(tf.zeros([2, 3])).numpy(), [[1.0, 2.0, 3.0]] * 2)


def test_dense_is_affine():
    dense = layers.Dense(layers.VariableFactory(0), "dense", 2, 3)
    dense.kernel.assign([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
    dense.bias.assign([0.5, 0.0, 1.0])
    out = dense(tf.constant([[[1.0, 2.0]]])).numpy()
    np.testing.assert_allclose(out, [[[1.5, 2.0, 1.0]]])


def np_mhsa(x, wq, bq, wk, bk, wv, bv, heads):
    n, t, d = x.shape
    dk = d // heads

    def split(y):
        return y.reshape(n, t, heads, dk).transpose(0, 2, 1, 3)

    q, k, v = split(x @ wq + bq), split(x @ wk + bk), split(x @ wv + bv)
    scores = np.exp(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk))
    attn = scores / (scores.sum(-1, keepdims=True) + 1e-8)
    return (attn @ v).transpose(0, 2, 1, 3).reshape(n, t, d)


@pytest.mark.parametrize("t,heads,scale", [(3, 2, 1.0), (1, 4, 1.0), (4, 1, 3.0)])
def test_attention_matches_numpy_exp_normalisation(t, heads, scale):
    d = 4
    att = layers.MultiHeadSelfAttention(layers.VariableFactory(3), ("dense", "dense_1", "dense_2"),
                                        d, heads)
    rng = np.random.default_rng(0)
    for dense in (att.q, att.k, att.v):
        dense.bias.assign(rng.normal(size=d).astype(np.float32))
    x = (scale * rng.normal(size=(2, t, d))).astype(np.float32)
    expected = np_mhsa(x, *(w.numpy() for dense in (att.q, att.k, att.v)
                            for w in (dense.kernel, dense.bias)), heads)
    np.testing.assert_allclose(att(tf.constant(x)).numpy(), expected, rtol=2e-4, atol=1e-5)


def test_attention_is_not_softmax_for_tiny_exponents():
    """sum + 1e-8 in the denominator: with exp(scores) ~ 1e-13 the weights are far below 1/T."""
    d = 2
    att = layers.MultiHeadSelfAttention(layers.VariableFactory(0), ("a", "b", "c"), d, 1)
    att.q.kernel.assign(np.eye(d, dtype=np.float32))
    att.k.kernel.assign(-np.eye(d, dtype=np.float32))
    att.v.kernel.assign(np.eye(d, dtype=np.float32))
    x = np.full((1, 1, d), 5.0, np.float32)  # q.k / sqrt(2) = -50 / 1.414 -> exp ~ 4e-16
    out = att(tf.constant(x)).numpy()
    weight = np.exp(-50 / np.sqrt(2)) / (np.exp(-50 / np.sqrt(2)) + 1e-8)
    np.testing.assert_allclose(out, x * weight, rtol=1e-3)
    assert out.max() < 1e-6  # a softmax would return x itself


def test_attention_overflows_like_the_original():
    """No max subtraction: exp of a score above ~88 is inf in float32 and the output NaN."""
    att = layers.MultiHeadSelfAttention(layers.VariableFactory(0), ("a", "b", "c"), 1, 1)
    for dense in (att.q, att.k, att.v):
        dense.kernel.assign([[1.0]])
    out = att(tf.constant([[[10.0], [10.0]]])).numpy()  # q.k = 100 -> exp overflows
    assert np.isnan(out).all()


@pytest.mark.parametrize("t,heads,scale", [(5, 16, 1.0), (3, 2, 3.0), (1, 4, 1.0)])
def test_token_mean_is_the_mean_of_the_attention_with_the_same_gradients(t, heads, scale):
    """The fast path's mean over tokens, and its hand-written gradient, against autodiff
    through reduce_mean(att(x), 1) and against NumPy."""
    d = 4 * heads
    att = layers.MultiHeadSelfAttention(layers.VariableFactory(5), ("a", "b", "c"), d, heads)
    rng = np.random.default_rng(1)
    for dense in (att.q, att.k, att.v):
        dense.bias.assign(rng.normal(size=d).astype(np.float32))
    x = tf.constant((scale * rng.normal(size=(6, t, d))).astype(np.float32))
    upstream = tf.constant(rng.normal(size=(6, d)).astype(np.float32))
    results = []
    for fn in (att.token_mean, lambda y: tf.reduce_mean(att(y), 1)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x)                                        # [6, d]
            loss = tf.reduce_sum(out * upstream)
        results.append([out] + tape.gradient(loss, [x] + list(att.trainable_variables)))
    expected = np_mhsa(x.numpy(), *(w.numpy() for dense in (att.q, att.k, att.v)
                                    for w in (dense.kernel, dense.bias)), heads).mean(1)
    np.testing.assert_allclose(results[0][0].numpy(), expected, rtol=2e-4, atol=1e-5)
    # atol: k's bias gradient is 0 up to rounding (a shift of k cancels in the normalisation)
    atol = 1e-5 * max(np.abs(r.numpy()).max() for r in results[1])
    for fast, plain in zip(*results):
        np.testing.assert_allclose(fast.numpy(), plain.numpy(), rtol=1e-4, atol=atol)


def test_token_mean_overflows_like_the_original():
    att = layers.MultiHeadSelfAttention(layers.VariableFactory(0), ("a", "b", "c"), 1, 1)
    for dense in (att.q, att.k, att.v):
        dense.kernel.assign([[1.0]])
    assert np.isnan(att.token_mean(tf.constant([[[10.0], [10.0]]])).numpy()).all()


def np_lstm(x, kernel, bias):
    n, t, d = x.shape
    c = h = np.zeros((n, d))
    outs = []
    for step in range(t):
        gates = np.concatenate([x[:, step], h], 1) @ kernel + bias
        i, j, f, o = np.split(gates, 4, axis=1)
        c = c * np_sigmoid(f + 1.0) + np_sigmoid(i) * np.tanh(j)
        h = np.tanh(c) * np_sigmoid(o)
        outs.append(h)
    return np.stack(outs, 1)


def test_lstm_gate_order_and_forget_bias():
    d = 1
    cell = layers.BasicLSTMCell(layers.VariableFactory(0), d)
    # Input-to-gate weights i, j, f, o = 1, 2, 3, 4 and recurrent weights 0: one step by hand.
    cell.kernel.assign([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    out = cell(tf.constant([[[1.0]]])).numpy()
    c = np_sigmoid(1.0) * np.tanh(2.0)  # c0 = 0, so the forget gate (3 + 1.0) is multiplied by 0
    np.testing.assert_allclose(out, [[[np.tanh(c) * np_sigmoid(4.0)]]], rtol=1e-6)
    # The constant forget bias 1.0. The cell always starts from c = 0, so step 1 (input 1,
    # the kernel above) makes the non-zero state c1 = c; step 2 has input 0 and zero recurrent
    # weights, so all its gates are 0 (bias variable 0) and
    # c2 = sigmoid(0 + forget_bias) * c1 + sigmoid(0) * tanh(0) = sigmoid(1.0) * c1.
    out2 = cell(tf.constant([[[1.0], [0.0]]])).numpy()
    c1 = c
    assert c1 == pytest.approx(0.7048, abs=1e-4)  # non-zero
    c2 = np_sigmoid(1.0) * c1  # forget bias 0 would give 0.5 * c1, forget bias 2 0.881 * c1
    np.testing.assert_allclose(out2[0, :, 0], [np.tanh(c1) * np_sigmoid(4.0),
                                               np.tanh(c2) * np_sigmoid(0.0)], rtol=1e-6)


def test_lstm_matches_numpy_on_random_weights():
    d = 3
    cell = layers.BasicLSTMCell(layers.VariableFactory(1), d)
    rng = np.random.default_rng(1)
    cell.bias.assign(rng.normal(size=4 * d).astype(np.float32))
    x = rng.normal(size=(5, 4, d)).astype(np.float32)
    np.testing.assert_allclose(cell(tf.constant(x)).numpy(),
                               np_lstm(x, cell.kernel.numpy(), cell.bias.numpy()), rtol=1e-5,
                               atol=1e-6)
    assert [n for n, _, _ in cell_vars(cell)] == [
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
        "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias"]


def cell_vars(cell):
    return [(v.name.split(":")[0], v, None) for v in (cell.kernel, cell.bias)]


def test_dropout_keeps_expected_fraction_and_scales():
    rng = tf.random.Generator.from_seed(0)
    x = tf.ones([20000])
    mask = layers.keep_mask([20000], 0.5, rng)
    out = layers.dropout(x, 0.5, mask).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert abs((out > 0).mean() - 0.5) < 0.02
    np.testing.assert_array_equal(out > 0, mask.numpy() > 0)
    assert layers.keep_mask([20000], 1.0, rng).numpy().all()  # keepRate 1 keeps all


def test_lstm_applies_one_mask_per_step_to_the_output_only():
    cell = layers.BasicLSTMCell(layers.VariableFactory(2), 3)
    x = tf.random.stateless_normal([4, 2, 3], seed=[1, 2])
    masks = [tf.constant([[1.0, 0.0, 1.0]] * 4), tf.constant([[0.0, 1.0, 1.0]] * 4)]
    plain, dropped = cell(x).numpy(), cell(x, 0.5, masks).numpy()
    # the state is never dropped: step 2 sees the same h, and kept outputs are doubled
    np.testing.assert_allclose(dropped, plain * np.stack([m.numpy() for m in masks], 1) / 0.5,
                               rtol=1e-6)
