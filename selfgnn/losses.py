"""Loss terms of SelfGNN as pure tensor functions (original `model.py` 185-246)."""
import tensorflow as tf


def split_halves(x):
    """First half vs second half of a pair list (`tf.slice(x, [0], [n//2])`, `[n//2:]`).

    The original splits every pair list this way, including the SAL lists whose
    sampler writes pairs interleaved (pos, neg, pos, neg, ...).
    """
    n = tf.shape(x)[0] // 2
    return x[:n], x[n:]


def _pair_mean(per_pair, total):
    """Mean over pairs, or sum / total: one replica's part of a global mean."""
    if total is None:
        return tf.reduce_mean(per_pair)
    return tf.reduce_sum(per_pair) / total


def hinge_pair_loss(pos, neg, total=None):
    """preLoss = mean(max(0, 1 - (pos - neg))) (line 244).

    total: divide the sum by this count instead (one replica's part of a global mean).
    """
    return _pair_mean(tf.maximum(0.0, 1.0 - (pos - neg)), total)


def ranking_loss(pos, neg, kind="hinge", soft_alpha=0.0, total=None):
    """Pair loss over d = pos - neg, scaled by f = 1 - soft_alpha (SDNS's soft factor).

    hinge: max(0, 1 - f d) (`hinge_pair_loss` when f = 1); bpr: -ln sigmoid(f d)
    = softplus(-f d). Mean over pairs, or sum / total for one replica's part.
    """
    if kind == "hinge" and soft_alpha == 0.0:
        return hinge_pair_loss(pos, neg, total)
    diff = (1.0 - soft_alpha) * (pos - neg)
    per_pair = tf.maximum(0.0, 1.0 - diff) if kind == "hinge" else tf.nn.softplus(-diff)
    return _pair_mean(per_pair, total)


def sal_hinge_loss(long_scores, weights, short_scores):
    """One interval graph's personalized self-augmented loss (lines 191-202).

    long_scores: [P] stop-gradient long-term scores sum(leakyRelu(f_u * f_i));
    weights: [P] per-pair user weights w_k(u); short_scores: [P] short-term
    scores sum(leakyRelu(u_k * i_k)). With halves a (first) and b (second):
    S = w_a * s_a - w_b * s_b and the loss is sum(max(0, 1 - S * (short_a - short_b))).
    """
    long_pos, long_neg = split_halves(tf.stop_gradient(long_scores))
    w_pos, w_neg = split_halves(weights)
    short_pos, short_neg = split_halves(short_scores)
    target = w_pos * long_pos - w_neg * long_neg
    return tf.reduce_sum(tf.maximum(0.0, 1.0 - target * (short_pos - short_neg)))


def l2_sum(variables):
    """`NNLayers.Regularize()`: a plain sum of squares (not tf.nn.l2_loss, which halves it)."""
    return tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])


def info_nce(pos_sim, neg_sim, temperature, weights, total=None):
    """HardGNN's InfoNCE, a weighted mean over anchors.

    pos_sim [B]: sim(q, k+); neg_sim [B, K]: sim(q, k_j-); weights [B] (0 for
    padding rows). Per anchor: -log(exp(pos/t) / (exp(pos/t) + sum_j exp(neg_j/t))).
    total: the weight sum to divide by instead of sum(weights) (one replica's part).
    """
    logits = tf.concat([pos_sim[:, None], neg_sim], axis=1) / temperature   # [B, 1 + K]
    per_anchor = tf.reduce_logsumexp(logits, axis=1) - logits[:, 0]          # [B]
    total = tf.reduce_sum(weights) if total is None else total
    return tf.reduce_sum(per_anchor * weights) / tf.maximum(total, 1.0)
