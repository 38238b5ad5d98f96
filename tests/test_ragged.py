"""selfgnn.ragged: windows and tables checked against hand-written arrays."""
import numpy as np
import pytest
import scipy.sparse as sp

from selfgnn import ragged

# Three segments of one flat array: [1, 2, 3], [], [4, 5, 4, 6, 7].
FLAT = np.array([1, 2, 3, 4, 5, 4, 6, 7], np.int64)
START = np.array([0, 3, 3], np.int64)
LENGTH = np.array([3, 0, 5], np.int64)


def test_right_aligned_pads_left_and_keeps_the_last_items():
    window, valid = ragged.right_aligned(FLAT, START, LENGTH, 4)
    np.testing.assert_array_equal(window, [[0, 1, 2, 3], [0, 0, 0, 0], [5, 4, 6, 7]])
    np.testing.assert_array_equal(valid, [[0, 1, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]])


def test_right_aligned_of_an_empty_flat_array():
    window, valid = ragged.right_aligned(np.zeros(0, np.int64), np.zeros(2, np.int64),
                                         np.zeros(2, np.int64), 3)
    assert window.shape == (2, 3) and not valid.any() and not window.any()


def test_without_deletes_only_the_last_occurrence_of_the_target():
    window, valid = ragged.right_aligned_without(FLAT, START, LENGTH, 4, np.array([2, 9, 4]))
    # Row 0 loses its 2; row 1 is empty; row 2 loses its second 4, so the 3rd-last
    # item of the whole segment (the first 4) enters the window.
    np.testing.assert_array_equal(window, [[0, 0, 1, 3], [0, 0, 0, 0], [4, 5, 6, 7]])
    np.testing.assert_array_equal(valid, [[0, 0, 1, 1], [0, 0, 0, 0], [1, 1, 1, 1]])


def test_without_a_target_left_of_the_window_changes_nothing():
    window, valid = ragged.right_aligned_without(FLAT, START[2:], LENGTH[2:], 2,
                                                 np.array([5]))
    np.testing.assert_array_equal(window, [[6, 7]])
    np.testing.assert_array_equal(valid, [[1, 1]])


@pytest.mark.parametrize("width", [1, 2, 3, 6])
def test_without_matches_a_list_reference(width):
    rng = np.random.default_rng(width)
    lengths = rng.integers(0, 8, size=20)
    segments = [list(rng.integers(0, 4, size=n)) for n in lengths]
    flat = np.array(sum(segments, []), np.int64)
    start = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    targets = rng.integers(0, 4, size=20)
    window, valid = ragged.right_aligned_without(flat, start, lengths, width, targets)
    for row, (seg, target) in enumerate(zip(segments, targets)):
        if target in seg:
            last = len(seg) - 1 - seg[::-1].index(target)
            seg = seg[:last] + seg[last + 1:]
        kept = seg[-width:] if seg else []
        expect = [0] * (width - len(kept)) + kept
        assert list(window[row]) == expect
        assert list(valid[row]) == [False] * (width - len(kept)) + [True] * len(kept)


def test_pad_rows_appends_zero_rows_with_the_dtype():
    out = ragged.pad_rows(np.array([[1, 2]]), 3, np.float32)
    np.testing.assert_array_equal(out, [[1, 2], [0, 0], [0, 0]])
    assert out.dtype == np.float32


def test_nonzero_csr_drops_explicit_zeros_and_sums_duplicates():
    mat = sp.coo_matrix(([1.0, 0.0, 2.0, -2.0], ([0, 0, 1, 1], [1, 2, 0, 0])), shape=(2, 3))
    out = ragged.nonzero_csr(mat)
    assert out.nnz == 1 and out[0, 1] == 1.0


def test_negative_table_is_zero_based_cut_and_counts_missing_users():
    test_dict = {1: [5, 6, 7], 2: [3], 9: [1, 2]}     # 1-based user keys and items
    table, count = ragged.negative_table(test_dict, 3, 2)
    np.testing.assert_array_equal(table, [[4, 5], [0, 0], [0, 0]])
    np.testing.assert_array_equal(count, [3, 1, -1])
