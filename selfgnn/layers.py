"""The building blocks of SelfGNN, each matching one TF1 construct of the original.

Every variable is created through a `VariableFactory`, which names it with the
original's TF1 name (`LayerNorm_2/beta`, `dense_5/kernel`, ...) and records the
creation order, so that a TF1 checkpoint can be mapped onto the port
(`../shared/TF1_CHECKPOINT_VARIABLES.md`). Initial values come from stateless
ops seeded by (seed, creation index): the same seed gives the same weights.
"""
import math

import tensorflow as tf


def leaky_relu(x, leaky):
    """`NNLayers.ActivateHelp('leakyRelu')`: max(leaky * x, x).

    For leaky <= 1 that is tf.nn.leaky_relu (x > 0 ? x : leaky * x), same values and
    same gradients (at x = 0 both pass leaky * g), in one fused op each way instead of
    Mul + Maximum and a Select-based gradient. For leaky > 1 the two differ, so the
    max form is kept.
    """
    if leaky <= 1.0:
        return tf.nn.leaky_relu(x, leaky)
    return tf.maximum(leaky * x, x)


def glorot_limit(shape):
    """Xavier-uniform bound of TF1's `xavier_initializer` / `glorot_uniform_initializer`.

    For rank > 2 the leading dims are a receptive field: fan_in = shape[-2] * rf,
    fan_out = shape[-1] * rf, so uEmbed [G, U, d] gets sqrt(6 / (G U + G d)).
    """
    if len(shape) == 1:
        fan_in = fan_out = shape[0]
    else:
        receptive = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * receptive, shape[-1] * receptive
    return math.sqrt(6.0 / (fan_in + fan_out))


class VariableFactory:
    """Creates variables under their TF1 names, in order, from one seed."""

    def __init__(self, seed):
        self.seed = int(seed)
        self.created = []  # (tf1_name, variable, regularized) in creation order

    def make(self, name, shape, init="xavier", regularize=False, trainable=True):
        index = len(self.created)
        shape = [int(s) for s in shape]
        if init == "xavier":
            limit = glorot_limit(shape)
            value = tf.random.stateless_uniform(shape, seed=[self.seed, index],
                                                minval=-limit, maxval=limit)
        elif init == "zeros":
            value = tf.zeros(shape)
        elif init == "ones":
            value = tf.ones(shape)
        else:
            raise ValueError(f"unknown initializer {init!r}")
        var = tf.Variable(value, name=name, trainable=trainable)
        self.created.append((name, var, regularize))
        return var


class LayerNorm(tf.Module):
    """`tf.contrib.layers.layer_norm` with its defaults.

    y = (x - mean) / sqrt(var + 1e-12) * gamma + beta, with mean and var taken
    over every axis but the first (begin_norm_axis=1: for [N, G, d], over G and d
    together) and gamma, beta of shape [d] (begin_params_axis=-1).
    """

    def __init__(self, factory, name, dim):
        super().__init__(name=name.replace("/", "_"))
        self.beta = factory.make(f"{name}/beta", [dim], init="zeros")
        self.gamma = factory.make(f"{name}/gamma", [dim], init="ones")

    def __call__(self, x):
        """Computed in float32 whatever x's dtype (the result has x's dtype)."""
        dtype, x = x.dtype, tf.cast(x, tf.float32)
        axes = list(range(1, x.shape.rank))
        mean, variance = tf.nn.moments(x, axes, keepdims=True)
        y = tf.nn.batch_normalization(x, mean, variance, self.beta, self.gamma, 1e-12)
        return tf.cast(y, dtype)


class Dense(tf.Module):
    """`tf.layers.dense(x, units)`: x @ kernel + bias, Xavier-uniform kernel, zero bias."""

    def __init__(self, factory, name, in_dim, units):
        super().__init__(name=name)
        self.kernel = factory.make(f"{name}/kernel", [in_dim, units])
        self.bias = factory.make(f"{name}/bias", [units], init="zeros")

    def __call__(self, x):
        return tf.tensordot(x, tf.cast(self.kernel, x.dtype), 1) + tf.cast(self.bias, x.dtype)


class MultiHeadSelfAttention(tf.Module):
    """`Utils/attention.py` MultiHeadSelfAttention + ScaledDotProductAttention.

    q, k, v = dense_q(x), dense_k(x), dense_v(x), split into h heads of d/h;
    a = exp(q k^T / sqrt(d/h)); a = a / (sum_j a + 1e-8) (no max subtraction,
    no softmax op); out = concat_heads(a v). No output projection.
    """

    def __init__(self, factory, dense_names, dim, heads):
        super().__init__(name=dense_names[0])
        self.heads, self.depth = heads, dim // heads
        self.q, self.k, self.v = (Dense(factory, n, dim, dim) for n in dense_names)

    def _heads(self, y):
        """[N, T, d] -> [N, T, h, d/h] (a reshape, no copy)."""
        return tf.reshape(y, [tf.shape(y)[0], tf.shape(y)[1], self.heads, self.depth])

    def _split(self, y):
        """[N, T, d] -> [N, h, T, d/h]."""
        return tf.transpose(self._heads(y), [0, 2, 1, 3])

    def __call__(self, x, key_mask=None):
        """x [N, T, d] -> [N, T, d]. key_mask [N, T] (1 valid, 0 padding), for the paper's
        sequence branch: the paper's softmax (one fused op: three [N, h, T, T] tensors
        instead of seven, which matters at T = 200) over the valid keys; a padded key's
        logit is lowered by 1e9, so its weight is exactly 0 (a row with no valid key
        attends over all of them; the branch leaves such rows out)."""
        n, t = tf.shape(x)[0], tf.shape(x)[1]                 # x: [N, T, d]
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        if key_mask is None:  # the original's exp(.) / (sum + 1e-8), no max subtraction
            scores = tf.exp(tf.matmul(q, k, transpose_b=True) / math.sqrt(self.depth))
            attn = scores / (tf.reduce_sum(scores, axis=-1, keepdims=True) + 1e-8)
        else:
            padding = (tf.cast(key_mask, q.dtype)[:, None, None, :] - 1.0) * 1e9  # [N, 1, 1, T]
            logits = tf.matmul(q / math.sqrt(self.depth), k, transpose_b=True)  # [N, h, T, T]
            attn = tf.nn.softmax(logits + padding)             # [N, h, T, T]
        context = tf.matmul(attn, v)                           # [N, h, T, d/h]
        return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [n, t, self.heads * self.depth])

    def token_mean(self, x):
        """reduce_mean(self(x), 1) [N, d] (lines 152-155: attention, then the mean over
        the G graphs), computed as sum_s w_s v_s with w_s = mean_t a[t, s].

        The same sum reassociated (values agree to float rounding): it skips the context
        product a v and its transposes, and `_mean_attention_weights` has a hand-written
        gradient, the softmax-like a * (g - sum_s g a) in four element-wise ops.
        """
        q, k = self._split(self.q(x)), self._split(self.k(x))  # x: [N, T, d]; [N, h, T, d/h]
        v = self._heads(self.v(x))                             # [N, T, h, d/h]
        weights = _mean_attention_weights(_scores(q, k), self.depth)  # [N, h, T]
        weights = tf.transpose(weights, [0, 2, 1])[..., None]  # [N, T, h, 1]
        return tf.reshape(tf.reduce_sum(weights * v, 1), [tf.shape(x)[0], x.shape[2]])


@tf.custom_gradient
def _scores(q, k):
    """q k^T per head: [N, h, T, e] x [N, h, S, e] -> [N, h, T, S].

    BatchMatMulV3, whose CPU kernel runs these N h tiny products about twice as fast
    as tf.matmul's BatchMatMulV2 here (its registered gradient would go back to
    V2, hence this one: g k and g^T q).
    """
    def product(x, y, **adjoint):
        return tf.raw_ops.BatchMatMulV3(x=x, y=y, Tout=x.dtype, **adjoint)

    def grad(g):                                               # g: [N, h, T, S]
        return product(g, k), product(g, q, adj_x=True)

    return product(q, k, adj_y=True), grad


def _mean_attention_weights(products, depth):
    """products q k^T [N, h, T, S] -> w [N, h, S] = mean_t a[t, s], where
    a = exp(q k^T / sqrt(depth)) / (sum_s exp(.) + 1e-8) as in `MultiHeadSelfAttention`.

    Gradient: d a[t, s] / d logit[t, s'] = a[t, s] (delta_ss' - a[t, s']) (the 1e-8
    changes a, not this form), so with g = dL/dw broadcast over t,
    dL/dproducts = a (g - sum_s' a[:, s'] g[s']) / (T sqrt(depth)).
    """
    scale = math.sqrt(depth)
    tokens = products.shape[2]

    @tf.custom_gradient
    def forward(x):
        e = tf.exp(x / scale)                                  # [N, h, T, S]
        a = e / (tf.reduce_sum(e, -1, keepdims=True) + 1e-8)  # [N, h, T, S]

        def grad(g):                                           # g: [N, h, S]
            g = g[:, :, None, :]                               # [N, h, 1, S]
            inner = tf.reduce_sum(a * g, -1, keepdims=True)    # [N, h, T, 1]
            return a * (g - inner) * (1.0 / (tokens * scale))

        return tf.reduce_mean(a, 2), grad

    return forward(products)


class BasicLSTMCell(tf.Module):
    """`tf.contrib.rnn.BasicLSTMCell(d)` in a `DropoutWrapper(output_keep_prob)`.

    [i, j, f, o] = [x, h] @ kernel + bias (kernel [2d, 4d], gate order i, j, f, o);
    c' = c * sigmoid(f + 1.0) + sigmoid(i) * tanh(j); h' = tanh(c') * sigmoid(o).
    The forget bias 1.0 is a constant. Dropout applies to each step's output,
    never to the state. Kernel: TF1's default glorot-uniform; bias: zeros.
    """

    PREFIX = "rnn/multi_rnn_cell/cell_0/basic_lstm_cell"

    def __init__(self, factory, dim):
        super().__init__(name="basic_lstm_cell")
        self.dim = dim
        self.kernel = factory.make(f"{self.PREFIX}/kernel", [2 * dim, 4 * dim])
        self.bias = factory.make(f"{self.PREFIX}/bias", [4 * dim], init="zeros")

    def __call__(self, inputs, keep_rate=1.0, masks=None):
        """inputs [N, T, d] (or the list of its T steps [N, d]) -> outputs [N, T, d]
        (zero initial state, like dynamic_rnn).

        Output dropout: `masks` holds one [N, d] 0/1 keep mask per step (`keep_mask`,
        drawn by the caller); None: no dropout.
        """
        # a list, or unstack (not inputs[:, t]: its gradient is one stack, where T strided
        # slices would each back-propagate a zero-filled [N, T, d] and then add them)
        steps = inputs if isinstance(inputs, (list, tuple)) else tf.unstack(inputs, axis=1)
        n, dtype = tf.shape(steps[0])[0], steps[0].dtype
        c = h = tf.zeros([n, self.dim], dtype)                 # [N, d]
        kernel, bias = tf.cast(self.kernel, dtype), tf.cast(self.bias, dtype)
        outputs = []
        for t, x in enumerate(steps):                                  # x: [N, d]
            gates = tf.matmul(tf.concat([x, h], 1), kernel) + bias    # [N, 4d]
            i, j, f, o = tf.split(gates, 4, axis=1)
            c = c * tf.sigmoid(f + 1.0) + tf.sigmoid(i) * tf.tanh(j)
            h = tf.tanh(c) * tf.sigmoid(o)
            outputs.append(h if masks is None else dropout(h, keep_rate, masks[t]))
        return tf.stack(outputs, axis=1)                       # [N, T, d]


def keep_mask(shape, keep_rate, rng):
    """The 0/1 keep mask of `dropout`: uniform < keep_rate, one draw from `rng`."""
    return tf.cast(rng.uniform(shape) < keep_rate, tf.float32)


def dropout(x, keep_rate, mask):
    """TF1 `tf.nn.dropout(x, keep_prob)` with its 0/1 `mask` given: kept values scaled by 1/p."""
    return x * tf.cast(mask, x.dtype) / keep_rate
