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
    """
    items = per_token(model.history_norm, tf.gather(final_item, sequence))  # [B, L, d]
    x = items + model.position_norm(model.posEmbed)                       # [B, L, d]
    for norm, attention in zip(model.sequence_norms, model.sequence_attention):
        attended = attention(per_token(norm, x), key_mask=mask)           # [B, L, d]
        x = layers.leaky_relu(attended, model.params.leaky) + x           # [B, L, d]
    return tf.einsum("bl,bld->bd", mask, x)                               # [B, d]


def per_token(norm, x):
    """The layer norm of each token alone: x [B, L, d] normalised over d per (b, t)
    (`LayerNorm` normalises over every axis but the first)."""
    return tf.reshape(norm(tf.reshape(x, [-1, x.shape[-1]])), tf.shape(x))  # [B, L, d]


BRANCHES = {"original": original, "paper": paper}
"""--sequence_branch: its function."""
