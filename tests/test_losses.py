"""Hand-computed values of the loss terms (original lines 185-246)."""
import math

import numpy as np
import pytest
import tensorflow as tf

from selfgnn import losses


@pytest.mark.parametrize("x,first,second", [
    ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0], [3.0, 4.0]),
    ([5.0, 6.0], [5.0], [6.0]),
    ([], [], []),
])
def test_split_halves(x, first, second):
    a, b = losses.split_halves(tf.constant(x, tf.float32))
    np.testing.assert_array_equal(a.numpy(), first)
    np.testing.assert_array_equal(b.numpy(), second)


def test_hinge_pair_loss_is_mean_of_margins():
    # pos - neg = 2.0 (no loss), 0.5 (0.5), -1.0 (2.0) -> mean 2.5 / 3
    loss = losses.hinge_pair_loss(tf.constant([3.0, 1.0, 0.0]), tf.constant([1.0, 0.5, 1.0]))
    assert loss.numpy() == pytest.approx(2.5 / 3)


def test_sal_hinge_splits_by_halves_not_by_interleaving():
    """Pairs written (pos, neg, pos, neg) are split first half vs second half."""
    long_scores = tf.constant([2.0, 1.0, 3.0, 0.5])  # halves: [2, 1] and [3, 0.5]
    weights = tf.constant([0.5, 1.0, 0.25, 4.0])
    short = tf.constant([1.0, 0.0, 0.5, 1.0])
    # S = w_a * s_a - w_b * s_b = [0.5*2 - 0.25*3, 1*1 - 4*0.5] = [0.25, -1.0]
    # short diff = [1.0 - 0.5, 0.0 - 1.0] = [0.5, -1.0]
    # loss = max(0, 1 - 0.25*0.5) + max(0, 1 - 1.0) = 0.875
    assert losses.sal_hinge_loss(long_scores, weights, short).numpy() == pytest.approx(0.875)
    # Reading (pos, neg) pairs as interleaved would give S = [0, -1.25], diff [1, -0.5]: 1.375.


def test_sal_long_scores_get_no_gradient():
    long_scores = tf.Variable([2.0, 1.0])
    weights = tf.Variable([0.5, 1.0])
    short = tf.Variable([0.1, 0.2])
    with tf.GradientTape() as tape:
        loss = losses.sal_hinge_loss(long_scores, weights, short)
    g_long, g_w, g_short = tape.gradient(loss, [long_scores, weights, short])
    assert g_long is None
    assert g_w is not None and g_short is not None


def test_l2_is_plain_sum_of_squares():
    value = losses.l2_sum([tf.constant([1.0, 2.0]), tf.constant([[3.0]])]).numpy()
    assert value == pytest.approx(14.0)  # tf.nn.l2_loss would give 7.0


def test_info_nce_by_hand():
    # One anchor: pos 0.5, negatives 0.2 and -0.1, tau 0.5 -> logits 1.0, 0.4, -0.2.
    expected = -math.log(math.exp(1.0) / (math.exp(1.0) + math.exp(0.4) + math.exp(-0.2)))
    value = losses.info_nce(tf.constant([0.5, 9.0]), tf.constant([[0.2, -0.1], [0.0, 0.0]]),
                            0.5, tf.constant([1.0, 0.0]))  # the second row is padding
    assert value.numpy() == pytest.approx(expected, rel=1e-6)
    both = losses.info_nce(tf.constant([0.5, 0.5]), tf.constant([[0.2, -0.1], [0.2, -0.1]]),
                           0.5, tf.constant([1.0, 1.0]))
    assert both.numpy() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("kind,alpha,expected", [
    # d = pos - neg = [2, -1]
    ("hinge", 0.0, (0.0 + 2.0) / 2),                       # max(0, 1 - d)
    ("hinge", 0.5, (0.0 + 1.5) / 2),                       # max(0, 1 - 0.5 d)
    ("bpr", 0.0, (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(1.0))) / 2),
    ("bpr", 0.5, (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(0.5))) / 2),
])
def test_ranking_loss_by_hand(kind, alpha, expected):
    pos, neg = tf.constant([3.0, 0.0]), tf.constant([1.0, 1.0])
    assert float(losses.ranking_loss(pos, neg, kind, alpha)) == pytest.approx(expected, rel=1e-6)
    # one replica's part: the sum over its pairs divided by the global count
    assert float(losses.ranking_loss(pos, neg, kind, alpha, total=4.0)) == pytest.approx(
        expected / 2, rel=1e-6)
