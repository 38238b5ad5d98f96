"""Numpy helpers of the sampler: ragged sequences to right-aligned windows, padded rows.

Users' sequences are stored flat (`flat`, with `start` and `length` per row), as
`selfgnn.sampler.Sampler` keeps them. The windows reproduce the original's layout of
a history in `sampleTrainBatch` / `sampleTestBatch` (`sequence[i][-len(h):] = h` with
`h = h[-pos_length:]`), and `pad_rows` its fixed `args.batch` rows. No TensorFlow.
"""
import numpy as np
import scipy.sparse as sp


def nonzero_csr(mat: sp.spmatrix) -> sp.csr_matrix:
    """Canonical CSR copy whose stored entries are exactly ``mat.toarray() != 0``."""
    out = sp.csr_matrix(mat, copy=True)
    out.sum_duplicates()
    out.eliminate_zeros()
    out.sort_indices()
    return out


def right_aligned(flat: np.ndarray, start: np.ndarray, length: np.ndarray, width: int):
    """Gather the last ``width`` items of each ragged segment, right-aligned.

    Segment r is ``flat[start[r]:start[r] + length[r]]``.  Returns the int64
    window ``[R, width]`` (zeros where unfilled) and its boolean fill mask,
    i.e. the original's ``sequence[i][-len(h):] = h`` / ``h[-L:]`` layout.
    """
    cols = np.arange(width)                                                   # [width]
    valid = cols[None, :] >= (width - np.minimum(length, width))[:, None]     # [R, width]
    src = (start + length - width)[:, None] + cols[None, :]                   # [R, width]
    src = np.clip(src, 0, max(len(flat) - 1, 0))
    window = np.where(valid, flat[src] if len(flat) else 0, 0)                # [R, width]
    return window, valid


def right_aligned_without(flat, start, length, width, targets):
    """`right_aligned` of each segment after deleting the last occurrence of its target.

    `targets` [R]: one item per segment (a segment without it is unchanged). An
    occurrence left of the last `width` items does not change the window, so a window
    of `width + 1` items suffices: dropping its first column is the same as dropping
    nothing. Returns the window [R, width] and its mask, as `right_aligned`.
    """
    window, valid = right_aligned(flat, start, length, width + 1)             # [R, width + 1]
    match = (window == targets[:, None]) & valid                              # [R, width + 1]
    has = match.any(axis=1)                                                   # [R]
    drop = np.where(has, width - np.argmax(match[:, ::-1], axis=1), 0)        # [R]
    cols = np.arange(width)[None, :]                                          # [1, width]
    src = np.where(cols < drop[:, None], cols, cols + 1)                      # [R, width]
    rows = np.arange(len(start))[:, None]                                     # [R, 1]
    return window[rows, src], valid[rows, src]


def pad_rows(arr: np.ndarray, rows: int, dtype=np.int32) -> np.ndarray:
    """Zero-pad ``arr`` along axis 0 to ``rows`` rows (the original's ``args.batch`` padding)."""
    out = np.zeros((rows,) + arr.shape[1:], dtype=dtype)
    out[:len(arr)] = arr
    return out


def negative_table(test_dict, num_users, need):
    """Dense 0-based ``test_dict[u + 1][:need] - 1`` table [U, need] and per-user counts [U].

    `test_dict` is the original's `tstDict`-style map of 1-based user keys to 1-based
    negatives (`sampleTestBatch` reads `test_dict[u + 1]`). The count is -1 for users
    missing from it; rows of users with fewer than `need` negatives stay zero (the
    sampler rejects them when they are drawn).
    """
    table = np.zeros((num_users, max(need, 0)), dtype=np.int32)                # [U, need]
    count = np.full(num_users, -1, dtype=np.int64)                            # [U]
    users, rows = [], []
    for key, negs in test_dict.items():
        u = int(key) - 1
        if 0 <= u < num_users:
            count[u] = len(negs)
            if len(negs) >= need:
                users.append(u)
                rows.append(negs[:need])
    if users and need > 0:
        table[np.asarray(users)] = np.asarray(rows, dtype=np.int64) - 1
    return table, count
