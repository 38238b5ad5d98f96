"""TF1 Adam numerics and the staircase learning-rate decay, by hand."""
import math

import numpy as np
import pytest
import tensorflow as tf

from selfgnn.optimizer import TF1Adam


def test_first_steps_match_tf1_adam_by_hand():
    var = tf.Variable([1.0, -2.0])
    opt = TF1Adam([("w", var)], lr=0.1, decay=1.0, decay_step=10)
    g1, g2 = np.array([0.5, -1e-9]), np.array([0.25, 0.0])
    opt.apply_gradients([tf.constant(g1, tf.float32)])
    m, v = 0.1 * g1, 0.001 * g1 ** 2
    lr_t = 0.1 * math.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.array([1.0, -2.0]) - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-5)
    opt.apply_gradients([tf.constant(g2, tf.float32)])
    m, v = 0.9 * m + 0.1 * g2, 0.999 * v + 0.001 * g2 ** 2
    lr_t = 0.1 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2)
    expected = expected - lr_t * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(var.numpy(), expected, rtol=1e-5)
    assert int(opt.step.numpy()) == 2
    assert opt.beta1_power.numpy() == pytest.approx(0.9 ** 3)


@pytest.mark.parametrize("shape", [(7, 5), (64, 16)])  # 35: scalar path; 1024: packets
def test_bit_equal_to_tf1_adam_optimizer_with_staircase_decay(shape):
    """Ten steps against TF1's own AdamOptimizer (its ApplyAdam kernel) and
    exponential_decay: `1 - beta` in float32 (0.100000024), not float64's 0.1."""
    rng = np.random.default_rng(0)
    init = rng.normal(size=shape).astype(np.float32)
    mine_var, ref_var = tf.Variable(init), tf.Variable(init)
    mine = TF1Adam([("w", mine_var)], lr=1e-3, decay=0.96, decay_step=3)
    step = tf.compat.v1.Variable(0, trainable=False)
    ref = tf.compat.v1.train.AdamOptimizer(
        tf.compat.v1.train.exponential_decay(1e-3, step, 3, 0.96, staircase=True))
    for _ in range(10):
        g = tf.constant(rng.normal(size=shape).astype(np.float32) * 10 ** rng.uniform(-6, 1))
        mine.apply_gradients([g])
        ref.apply_gradients([(g, ref_var)], global_step=step)
        np.testing.assert_array_equal(mine_var.numpy(), ref_var.numpy())
    assert int(mine.step.numpy()) == int(step.numpy()) == 10
    ref_b1, ref_b2 = ref._get_beta_accumulators()
    assert mine.beta1_power.numpy() == ref_b1.numpy() and mine.beta2_power.numpy() == ref_b2.numpy()


def test_epsilon_is_tf1s_1e8():
    """A tiny gradient g gives an update lr_t * g / (|g| + eps): eps 1e-8, not Keras' 1e-7."""
    var = tf.Variable([0.0])
    opt = TF1Adam([("w", var)], lr=1.0, decay=1.0, decay_step=1)
    opt.apply_gradients([tf.constant([1e-8])])
    lr_t = math.sqrt(1 - 0.999) / (1 - 0.9)
    g = 1e-8
    expected = -lr_t * (0.1 * g) / (math.sqrt(0.001) * g + 1e-8)
    assert var.numpy()[0] == pytest.approx(expected, rel=1e-4)
    keras_like = -lr_t * (0.1 * g) / (math.sqrt(0.001) * g + 1e-7)
    assert var.numpy()[0] != pytest.approx(keras_like, rel=1e-2)


@pytest.mark.parametrize("step,expected", [
    (0, 1e-3), (18, 1e-3), (19, 1e-3 * 0.96), (38, 1e-3 * 0.96 ** 2), (2999, 1e-3 * 0.96 ** 157),
])
def test_staircase_decay(step, expected):
    opt = TF1Adam([("w", tf.Variable([0.0]))], lr=1e-3, decay=0.96, decay_step=10000 // 512)
    assert float(opt.learning_rate(step).numpy()) == pytest.approx(expected, rel=1e-5)


def test_none_gradient_skips_the_variable_and_names_follow_tf1():
    a, b = tf.Variable([1.0]), tf.Variable([2.0])
    opt = TF1Adam([("a", a), ("b", b)], lr=0.1, decay=1.0, decay_step=1)
    opt.apply_gradients([None, tf.constant([1.0])])
    assert a.numpy()[0] == 1.0 and b.numpy()[0] != 2.0
    names = [v.name.split(":")[0] for v in opt.m + opt.v] + [opt.step.name.split(":")[0]]
    assert names == ["a/Adam", "b/Adam", "a/Adam_1", "b/Adam_1", "Variable"]


def test_decay_step_must_be_positive():
    with pytest.raises(ValueError, match="decay_step"):
        TF1Adam([], lr=0.1, decay=0.9, decay_step=0)
