"""SelfGNN's instance-level sequence branch: the original's and `--sequence_branch paper`.

Both take the model's position table, its history and position layer norms and its
att_layer (layer norm, self-attention) blocks (`SelfGNN.__init__`), and map the
final item embeddings [I, d] and a batch's histories sequence, mask [B, L] to the
users' sequence representations [B, d]. `SelfGNN.sequence_embedding` picks one by
`--sequence_branch`.
"""
import tensorflow as tf

from selfgnn import layers


def original(model, final_item, sequence, mask):
    """Lines 158-167 of the original `model.py`: the summed-history branch.

    `mask[:, None, :] @ final_item[sequence]` sums the masked history into one token,
    so each attention layer sees a sequence of length 1.
    """
    history = tf.einsum("bl,bld->bd", mask, tf.gather(final_item, sequence))  # [B, d]
    positions = tf.matmul(mask, model.posEmbed)                           # [B, d]
    x = (model.history_norm(history) + model.position_norm(positions))[:, None, :]  # [B, 1, d]
    for norm, attention in zip(model.sequence_norms, model.sequence_attention):
        x = layers.leaky_relu(attention(norm(x)), model.params.leaky) + x  # [B, 1, d]
    return tf.reduce_sum(x, axis=1)                                       # [B, d]


def paper(model, final_item, sequence, mask):
    """`--sequence_branch paper`: the att_layer attention blocks over the L positions.

    The paper's instance-level modelling (Sec. 3.2): S_0 = (f_{i_1} + p_1, ...,
    f_{i_M} + p_M), S_l = leakyRelu(SelfAttn(S_{l-1})) + S_{l-1}, and the user's
    representation is the sum of the elements of S_{L_attn}. Kept from the original:
    its layer norms, per token (LN_2(f_i) + LN_3(p_t), and LN before each block's
    attention). Padding is masked in the attention and left out of the sum; a user
    with no history gets 0. Order-aware, where the original's one summed token is not.

    The blocks run on `CHUNKS` groups of rows cut to their longest history
    (`by_length`), which gives the values over all L positions (padded keys weigh
    exactly 0 and padded positions are left out of the sum) at a fraction of the
    [B, h, L, L] attention; under --jit_compile (no dynamic shapes) on all L.
    """
    positions = model.position_norm(model.posEmbed)                       # [L, d]

    def blocks(seq, valid, first):                                        # [n, T] -> [n, d]
        items = per_token(model.history_norm, tf.gather(final_item, seq))  # [n, T, d]
        x = items + positions[first:]                                     # [n, T, d]
        for norm, attention in zip(model.sequence_norms, model.sequence_attention):
            attended = attention(per_token(norm, x), key_mask=valid)      # [n, T, d]
            x = layers.leaky_relu(attended, model.params.leaky) + x       # [n, T, d]
        return tf.einsum("bl,bld->bd", valid, x)                          # [n, d]

    if model.params.jit_compile:
        return blocks(sequence, mask, 0)
    return by_length(blocks, sequence, mask)


CHUNKS = 8
"""Groups of rows `by_length` cuts a batch into."""


def by_length(blocks, sequence, mask, chunks=CHUNKS):
    """blocks(sequence, mask, first) [n, T] -> [n, d] run on `chunks` groups of the rows of
    sequence, mask [B, L], sorted by where their history starts, each group from its
    earliest valid position `first` to L (a row without history keeps one position):
    [B, d] in the rows' order."""
    b, length = tf.shape(sequence)[0], tf.shape(sequence)[1]
    valid = mask > 0                                                      # [B, L]
    first = tf.where(tf.reduce_any(valid, 1),
                     tf.argmax(tf.cast(valid, tf.float32), 1, output_type=tf.int32),
                     length - 1)                                          # [B]
    order = tf.argsort(first, stable=True)                                # [B]
    first = tf.gather(first, order)                                       # [B], ascending
    per = (b + chunks - 1) // chunks
    outputs = []
    for c in range(chunks):
        rows = order[c * per:(c + 1) * per]                               # [n]
        start = tf.minimum(tf.reduce_min(first[c * per:(c + 1) * per]), length - 1)
        outputs.append(blocks(tf.gather(sequence, rows)[:, start:],
                              tf.gather(mask, rows)[:, start:], start))   # [n, d]
    return tf.gather(tf.concat(outputs, 0), tf.math.invert_permutation(order))  # [B, d]


def per_token(norm, x):
    """The layer norm of each token alone: x [B, L, d] normalised over d per (b, t)
    (`LayerNorm` normalises over every axis but the first)."""
    return tf.reshape(norm(tf.reshape(x, [-1, x.shape[-1]])), tf.shape(x))  # [B, L, d]


BRANCHES = {"original": original, "paper": paper}
"""--sequence_branch: its function."""
