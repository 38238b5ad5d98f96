"""baselines/windows.py: next-item windows, length-bucketed batches and padding trims."""
import numpy as np

from baselines.windows import epoch_batches, history_window, next_item_windows, trim_padding


def test_windows_are_right_aligned_next_item_pairs():
    users, inputs, targets = next_item_windows([np.array([4, 5, 6]), np.array([1]),
                                                np.arange(30)], maxlen=5)
    np.testing.assert_array_equal(users, [0, 2])
    np.testing.assert_array_equal(inputs[0], [0, 0, 0, 5, 6])   # s[:-1] + 1
    np.testing.assert_array_equal(targets[0], [0, 0, 0, 6, 7])  # s[1:] + 1
    np.testing.assert_array_equal(inputs[1], np.arange(24, 29) + 1)
    np.testing.assert_array_equal(targets[1], np.arange(25, 30) + 1)


def test_history_window_takes_the_last_columns_and_pads_left():
    seq = np.array([[0, 0, 7, 8, 9]])
    mask = np.array([[0, 0, 1, 1, 1]], np.float32)
    np.testing.assert_array_equal(history_window(seq, mask, 2), [[9, 10]])
    np.testing.assert_array_equal(history_window(seq, mask, 7), [[0, 0, 0, 0, 8, 9, 10]])


def test_epoch_batches_cover_every_row_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 50, size=1000)
    targets = (np.arange(50)[None, :] >= 50 - lengths[:, None]).astype(np.int32)  # right-aligned
    batches = epoch_batches(np.random.default_rng(1), targets, size=16, pool=4)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000)) and max(map(len, batches)) == 16
    # within a pool of 64 rows the batches are sorted by length: their spread is small
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 0.5 * np.mean([np.ptp(lengths[rng.permutation(1000)[:16]]) for _ in range(50)])
    again = epoch_batches(np.random.default_rng(1), targets, size=16, pool=4)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    other = epoch_batches(np.random.default_rng(2), targets, size=16, pool=4)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, other))


def test_trim_padding_keeps_the_longest_rows_columns():
    ids = np.array([[0, 0, 0, 4, 5], [0, 0, 1, 2, 3]], np.int32)
    other = np.arange(10).reshape(2, 5)
    cut, cut_other = trim_padding(ids, other)
    np.testing.assert_array_equal(cut, [[0, 4, 5], [1, 2, 3]])
    np.testing.assert_array_equal(cut_other, [[2, 3, 4], [7, 8, 9]])
    empty, = trim_padding(np.zeros((2, 4), np.int32))
    assert empty.shape == (2, 1)  # at least one column: an empty history still scores
