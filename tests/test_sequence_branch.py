"""selfgnn/sequence_branch.py: the original's summed history and the paper's branch,
against NumPy, padding, order and gradients (through `SelfGNN.sequence_embedding`)."""
import numpy as np
import tensorflow as tf

from tests.numpy_reference import np_paper_sequence
from tests.test_model import I, batch_from, make_model


def test_history_is_one_summed_token_so_order_is_ignored():
    """mask @ final_item[sequence] sums the history (line 161): permuting it changes nothing."""
    model = make_model()
    fi = tf.random.stateless_normal([I, 8], seed=[1, 2])
    mask = np.zeros([4, 5], np.float32)
    mask[0, 1:] = 1.0
    seq = np.zeros([4, 5], np.int32)
    seq[0, 1:] = [1, 2, 3, 1]
    shuffled = seq.copy()
    shuffled[0, 1:] = [3, 1, 1, 2]
    np.testing.assert_allclose(model.sequence_embedding(fi, seq, mask).numpy(),
                               model.sequence_embedding(fi, shuffled, mask).numpy(), rtol=1e-5)
    changed = seq.copy()
    changed[0, 1:] = [1, 2, 3, 4]
    assert not np.allclose(model.sequence_embedding(fi, seq, mask).numpy()[0],
                           model.sequence_embedding(fi, changed, mask).numpy()[0])


def paper_batch():
    """Right-aligned histories: 4, 1, 0 and 5 items (rows 0-3) of length-5 windows."""
    seq = np.array([[0, 1, 2, 3, 1], [0, 0, 0, 0, 7], [0] * 5, [4, 5, 6, 7, 8]], np.int32)
    mask = (np.arange(5)[None, :] >= np.array([1, 4, 5, 0])[:, None]).astype(np.float32)
    return seq, mask


def test_paper_sequence_branch_matches_numpy_on_the_valid_positions_alone():
    model = make_model(sequence_branch="paper")
    fi = np.random.default_rng(4).normal(0, 1, [I, 8]).astype(np.float32)
    seq, mask = paper_batch()
    got = model.sequence_embedding(tf.constant(fi), seq, mask).numpy()
    np.testing.assert_allclose(got, np_paper_sequence(model, fi, seq, mask), rtol=1e-4,
                               atol=1e-5)
    assert not got[2].any()  # no history: no sequence term


def test_paper_branch_ignores_padding_and_sees_order_where_the_original_does_not():
    fi = tf.random.stateless_normal([I, 8], seed=[1, 2])
    seq, mask = paper_batch()
    padded = seq.copy()
    padded[0, 0], padded[1, :4], padded[2] = 8, [5, 6, 7, 8], [1, 2, 3, 4, 5]  # padding only
    swapped = seq.copy()
    swapped[0, 1:] = [3, 1, 2, 1]  # row 0's history reordered
    paper, original = make_model(sequence_branch="paper"), make_model()
    base = paper.sequence_embedding(fi, seq, mask).numpy()
    np.testing.assert_array_equal(paper.sequence_embedding(fi, padded, mask).numpy(), base)
    assert not np.allclose(paper.sequence_embedding(fi, swapped, mask).numpy()[0], base[0])
    np.testing.assert_allclose(original.sequence_embedding(fi, swapped, mask).numpy()[0],
                               original.sequence_embedding(fi, seq, mask).numpy()[0], rtol=1e-5)


def test_paper_branch_trains_its_attention_and_the_default_is_the_original():
    """Q and K get a gradient (the original's one-token attention gives them almost none)."""
    assert make_model().params.sequence_branch == "original"
    model = make_model(keepRate=1.0, sequence_branch="paper")
    batch = batch_from([0, 1, 0, 1], [1, 2, 5, 6], [0, 0, 0, 0], [([], []), ([], [])], model)
    att = model.sequence_attention[0]
    with tf.GradientTape() as tape:
        loss = model.compute_loss(batch)["preLoss"]
    gq, gv = tape.gradient(loss, [att.q.kernel, att.v.kernel])
    assert np.abs(gq.numpy()).max() > 1e-3 * np.abs(gv.numpy()).max() > 0


def test_by_length_cuts_each_group_to_its_longest_history_and_restores_the_order():
    """Rows start at 1, 4, (none), 0, 2 (a hole at 3); with 2 groups of 3 rows: rows 3, 0,
    4 from position 0 (row 3's start), then rows 1 and 2 from 4 (row 2: one position)."""
    from selfgnn.sequence_branch import by_length
    seq = np.arange(1, 26, dtype=np.int32).reshape(5, 5)
    mask = np.array([[0, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0] * 5, [1, 1, 1, 1, 1],
                     [0, 0, 1, 0, 1]], np.float32)
    seen = []

    def blocks(s, m, first):  # the sum of the valid items, and where the group starts
        seen.append((int(first), s.shape[1], s[:, 0].numpy().tolist()))
        return tf.stack([tf.reduce_sum(m * tf.cast(s, tf.float32), 1),
                         tf.cast(tf.fill([tf.shape(s)[0]], first), tf.float32)], 1)

    got = by_length(blocks, tf.constant(seq), tf.constant(mask), chunks=2).numpy()
    assert seen == [(0, 5, [16, 1, 21]), (4, 1, [10, 15])]
    np.testing.assert_array_equal(got[:, 0], (seq * mask).sum(1))
    np.testing.assert_array_equal(got[:, 1], [0, 4, 4, 0, 0])


def test_paper_branch_in_groups_equals_all_positions():
    """The default (groups cut to their histories) against the blocks over all L
    positions (the --jit_compile path): values and gradients."""
    fi = tf.Variable(tf.random.stateless_normal([I, 8], seed=[3, 4]))
    seq, mask = paper_batch()
    mask[3, 2] = 0.0  # a hole
    grouped, whole = make_model(sequence_branch="paper"), make_model(sequence_branch="paper",
                                                                     jit_compile=True)
    results = []
    for model in (grouped, whole):
        att = model.sequence_attention[0]
        with tf.GradientTape() as tape:
            out = model.sequence_embedding(fi, seq, mask)
            loss = tf.reduce_sum(out * tf.range(1.0, 9.0))
        results.append([out] + tape.gradient(loss, [fi, att.q.kernel, model.posEmbed]))
    for a, b in zip(*results):
        b = tf.convert_to_tensor(b).numpy()  # float32 rounding of sums up to about 50
        np.testing.assert_allclose(tf.convert_to_tensor(a), b, rtol=1e-4,
                                   atol=1e-6 * np.abs(b).max())
