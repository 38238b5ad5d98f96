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
