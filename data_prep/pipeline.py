"""The original preprocessing notebooks as one function (reference section 2).

`preprocess_to_trnmat.ipynb` and `preprocess_to_sequence.ipynb` of HKUDS/SelfGNN,
step by step, on a DataFrame of raw interactions (`user`, `item`, `time`, rows in
file order, as `data_prep.readers` returns them):

1. keep rows in the time window [start, end) (UTC; the notebook keeps year 2014);
2. map users and items to ids in order of first appearance (`mapping`);
3. filter passes (`filter`): each pass counts distinct items per user and distinct
   users per item on the data entering it, keeps users (and, if the pass says so,
   items) over the thresholds, and renumbers: kept users in order, items in order
   of first encounter over the kept users. The notebook's Amazon passes are
   users and items >= 20, then users >= 15, then users >= 5;
4. `np.random.seed(seed); np.random.permutation(U)[:n]` picks the test users; a
   user's test item is the item with the latest list of time stamps (Python's
   sort of (item, times) lists: ties go to the item met last); then `n_neg`
   negatives per test user from the same random stream, `np.random.choice(I)`
   draws rejecting the user's items (1-based in `test_dict`);
5. the test item and then every user's latest remaining item (validation) lose
   their first time stamp (`times[1:]`, as the notebook does);
6. `trnMat` counts the remaining stamps; G interval graphs split them by
   `int((t - min) / ((max - min) / G))` clipped to G - 1 (or by quantiles, a
   deviation for bunched time stamps), keeping consecutive repeats of a pair
   once, as `trans_sub` does;
7. `sequence` = every filtered interaction (test and validation items included),
   sorted by time. The notebook's pandas `sort_values` is not stable; here ties
   keep the order of the notebook's CSV: the user's items in order of first
   appearance in the raw file, an item's stamps in file order (a documented,
   reproducible rule; with one stamp per pair it is simply the raw file order).
"""
import dataclasses
import json
import os
import pickle
import shutil
from typing import Optional

import numpy as np
import pandas as pd
import scipy.sparse as sp

from data_prep.readers import DataPrepError


@dataclasses.dataclass(frozen=True)
class PrepConfig:
    """Parameters of one preparation; `filters` holds (min_user, min_item or None) passes."""
    window_start: Optional[str] = None
    window_end: Optional[str] = None
    filters: tuple = ((20, 20), (15, None), (5, None))
    test_users: Optional[int] = 10000  # None: every user
    negatives: int = 999
    graphs: int = 5
    seed: int = 100
    interval: str = "equal"


def parse_filters(text):
    """'20:20,15,5' -> ((20, 20), (15, None), (5, None))."""
    passes = []
    for part in text.split(","):
        users, _, items = part.strip().partition(":")
        try:
            passes.append((int(users), int(items) if items else None))
        except ValueError as e:
            raise DataPrepError(f"--filters: cannot read {part!r}; write passes like "
                                f"'20:20,15,5' (users[:items] per pass)") from e
    return tuple(passes)


def _timestamp(text, flag):
    try:
        return int(pd.Timestamp(text, tz="UTC").timestamp())
    except ValueError as e:
        raise DataPrepError(f"{flag}: cannot parse {text!r} as a date (YYYY-MM-DD)") from e


class _Pairs:
    """Distinct (user, item) pairs in the notebook's dict order and their stamp lists.

    Rows are sorted by (user, first appearance of the pair, file order), which is
    the order in which the notebook iterates `interaction[user][item]` lists.
    """

    def __init__(self, users, items, times, num_items):
        key = users * num_items + items
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        order = np.lexsort((np.arange(len(key)), first[inverse], users))
        self.users, self.items, self.times = users[order], items[order], times[order]
        pair_of_row = first[inverse][order]
        starts = np.flatnonzero(np.r_[True, pair_of_row[1:] != pair_of_row[:-1]])
        self.starts = starts                     # first row of each pair
        self.lengths = np.diff(np.r_[starts, len(order)])
        self.pair_user = self.users[starts]
        self.pair_item = self.items[starts]


def _apply_filters(users, items, times, passes):
    """The notebook's `filter` passes; returns renumbered (users, items, times, U, I)."""
    num_users, num_items = users.max() + 1, items.max() + 1
    for min_user, min_item in passes:
        pairs = _Pairs(users, items, times, num_items)
        user_count = np.bincount(pairs.pair_user, minlength=num_users)
        item_count = np.bincount(pairs.pair_item, minlength=num_items)
        keep_user = user_count >= min_user
        keep_item = item_count >= min_item if min_item is not None else np.ones(num_items, bool)
        rows = keep_user[pairs.users] & keep_item[pairs.items]
        new_user = np.cumsum(keep_user) - 1
        users, items, times = new_user[pairs.users[rows]], pairs.items[rows], pairs.times[rows]
        _, first = np.unique(items, return_index=True)     # rows are in encounter order
        item_order = items[np.sort(first)]
        new_item = np.full(num_items, -1)
        new_item[item_order] = np.arange(len(item_order))
        items = new_item[items]
        num_users, num_items = int(keep_user.sum()), len(item_order)
        if len(users) == 0:
            raise DataPrepError(f"nothing left after the filter pass users >= {min_user}"
                                + (f", items >= {min_item}" if min_item else "")
                                + "; lower the thresholds (--filters)")
    counts = np.bincount(users, minlength=num_users)
    if np.any(counts == 0):
        raise DataPrepError(f"{int(np.sum(counts == 0))} users have no interaction left after "
                            f"the last filter pass; end --filters with a users-only pass")
    return users, items, times, num_users, num_items


def _latest_pairs(pairs, alive_times, candidates):
    """For each user in `candidates`, the pair whose stamp list is largest (ties: last met).

    `alive_times[p]` is the remaining list of pair p (a tuple) or None.
    """
    by_user = {}
    for p, u in enumerate(pairs.pair_user):
        t = alive_times[p]
        if t is not None and (u not in by_user or t >= alive_times[by_user[u]]):
            by_user[u] = p
    return {u: by_user.get(u) for u in candidates}


def _negatives(rs, pick, pairs, num_items, count):
    """The notebook's `negSamp` for each test user, from the same legacy random stream.

    A vector of `rs.randint` draws equals the same number of scalar
    `np.random.choice(I)` calls, so blocks are drawn and consumed in order.
    """
    item_sets = np.split(pairs.pair_item, np.flatnonzero(np.diff(pairs.pair_user)) + 1)
    buffer, pos, out = np.zeros(0, np.int64), 0, {}
    for u in pick:
        taken, need, own = [], count, np.sort(item_sets[u])
        if len(own) >= num_items:
            raise DataPrepError(f"test user {u} interacted with every item: no negative to draw")
        while need:
            if pos >= len(buffer):
                buffer, pos = rs.randint(0, num_items, size=max(4 * count, 4096)), 0
            chunk = buffer[pos:]
            ok = np.flatnonzero(own[np.minimum(np.searchsorted(own, chunk), len(own) - 1)]
                                != chunk)
            use = ok[:need]
            taken.append(chunk[use])
            need -= len(use)
            pos += (use[-1] + 1) if need == 0 else len(chunk)
        out[int(u)] = [int(i) + 1 for i in np.concatenate(taken)]
    return out


def _interval_of(times, lo, hi, config):
    g = config.graphs
    if config.interval == "quantile":
        bounds = np.quantile(times, np.arange(1, g) / g)
        return np.searchsorted(bounds, times, side="right")
    if hi == lo:
        raise DataPrepError("every training interaction has the same time stamp: equal-width "
                            "intervals are undefined; use --graphs 1")
    return np.minimum(((times - lo) / ((hi - lo) / g)).astype(np.int64), g - 1)


def _graphs(pair_ids, users, items, times, groups, num_users, num_items, g):
    """`trans_sub`: graph k holds (user, item) -> stamp, plus `timeMat`.

    The notebook appends a stamp to graph k unless the last entry of graph k is
    the same pair; a pair's stamps are visited together, so that keeps exactly
    the first stamp of each (pair, graph). `timeMat` holds the graph of the last
    appended stamp of each pair (zeros not stored, as with the notebook's dok).
    """
    _, first = np.unique(pair_ids * g + groups, return_index=True)
    kept = np.sort(first)
    # The released files hold np.intc stamps; int64 only where a stamp would not fit.
    dtype = np.intc if times.max() <= np.iinfo(np.intc).max else np.int64
    mats = []
    for k in range(g):
        sel = kept[groups[kept] == k]
        mats.append(sp.csr_matrix((times[sel], (users[sel], items[sel])),
                                  shape=(num_users, num_items), dtype=dtype))
    last = kept[np.r_[pair_ids[kept][1:] != pair_ids[kept][:-1], True]]
    time_mat = sp.csr_matrix((groups[last], (users[last], items[last])),
                             shape=(num_users, num_items), dtype=np.int64)
    time_mat.eliminate_zeros()
    return mats, time_mat


def prepare(frame, config, source="input"):
    """Runs the notebook pipeline; returns the four objects and a summary dict."""
    if frame.empty:
        raise DataPrepError(f"{source}: no interactions")
    times = frame["time"].to_numpy(np.int64)
    keep = np.ones(len(frame), bool)
    if config.window_start:
        keep &= times >= _timestamp(config.window_start, "--window_start")
    if config.window_end:
        keep &= times < _timestamp(config.window_end, "--window_end")
    if not keep.any():
        raise DataPrepError(f"{source}: nothing left after the time window "
                            f"[{config.window_start}, {config.window_end})")
    users = pd.factorize(frame["user"].to_numpy()[keep])[0].astype(np.int64)
    items = pd.factorize(frame["item"].to_numpy()[keep])[0].astype(np.int64)
    users, items, times, num_users, num_items = _apply_filters(users, items, times[keep],
                                                               config.filters)
    wanted = num_users if config.test_users is None else config.test_users
    if wanted > num_users:
        raise DataPrepError(f"{source}: {num_users} users left after filtering, fewer than the "
                            f"{wanted} test users requested; lower --test_users")
    pairs = _Pairs(users, items, times, num_items)
    alive = [tuple(pairs.times[s:s + n]) for s, n in zip(pairs.starts, pairs.lengths)]
    rs = np.random.RandomState(config.seed)
    pick = rs.permutation(num_users)[:wanted]
    test_pair = _latest_pairs(pairs, alive, pick)
    test_dict = {int(u) + 1: negs for u, negs in
                 _negatives(rs, pick, pairs, num_items, config.negatives).items()}
    tst_int = [None] * num_users
    for u in pick:
        p = test_pair[u]
        tst_int[u] = int(pairs.pair_item[p])
        alive[p] = alive[p][1:] or None
    for p in _latest_pairs(pairs, alive, range(num_users)).values():
        if p is not None:
            alive[p] = alive[p][1:] or None

    lengths = np.array([0 if t is None else len(t) for t in alive])
    tr_pairs = np.repeat(np.arange(len(alive)), lengths)
    tr_users, tr_items = pairs.pair_user[tr_pairs], pairs.pair_item[tr_pairs]
    tr_times = np.array([x for t in alive if t for x in t], np.int64)
    if len(tr_times) == 0:
        raise DataPrepError(f"{source}: no training interaction left after removing the test "
                            f"and validation items")
    trn_mat = sp.csr_matrix((np.ones(len(tr_times)), (tr_users, tr_items)),
                            shape=(num_users, num_items))
    groups = _interval_of(tr_times, tr_times.min(), tr_times.max(), config)
    sub_mats, time_mat = _graphs(tr_pairs, tr_users, tr_items, tr_times, groups, num_users,
                                 num_items, config.graphs)

    order = np.lexsort((np.arange(len(pairs.times)), pairs.times, pairs.users))
    seq_items = pairs.items[order]
    bounds = np.cumsum(np.bincount(pairs.users, minlength=num_users))[:-1]
    sequence = [s.tolist() for s in np.split(seq_items, bounds)]
    data = {"trn_mat_time": [trn_mat, sub_mats, time_mat], "sequence": sequence,
            "tst_int": tst_int, "test_dict": test_dict}
    return data, summarize(data, config)


FILES = ("trn_mat_time", "sequence", "tst_int", "test_dict")


def summarize(data, config=None):
    """The paper's dataset table for these files (`config` is recorded when given)."""
    trn_mat, sub_mats, _ = data["trn_mat_time"]
    lengths = np.array([len(s) for s in data["sequence"]])
    users, items = trn_mat.shape
    quantiles = {f"p{int(q * 100)}": float(np.quantile(lengths, q)) for q in (0, .25, .5, .75, 1)}
    return {"users": users, "items": items, "interactions": int(lengths.sum()),
            "train_interactions": int(trn_mat.sum()), "density": lengths.sum() / (users * items),
            "graph_edges": [int(m.nnz) for m in sub_mats],
            "sequence_length": dict(quantiles, mean=float(lengths.mean())),
            "test_users": sum(t is not None for t in data["tst_int"]),
            "negatives": len(next(iter(data["test_dict"].values()), [])),
            "config": dataclasses.asdict(config) if config else None}


def format_summary(summary, name):
    """A Markdown table of `summary`."""
    q = summary["sequence_length"]
    rows = [("users", summary["users"]), ("items", summary["items"]),
            ("interactions", summary["interactions"]),
            ("training interactions", summary["train_interactions"]),
            ("density", f"{summary['density']:.2e}"),
            ("interactions per interval graph", ", ".join(map(str, summary["graph_edges"]))),
            ("sequence length min/25%/50%/75%/max (mean)",
             f"{q['p0']:g}/{q['p25']:g}/{q['p50']:g}/{q['p75']:g}/{q['p100']:g} ({q['mean']:.1f})"),
            ("test users", summary["test_users"]), ("negatives per test user", summary["negatives"])]
    return "\n".join([f"| {name} | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows])


def write_dataset(data, summary, directory):
    """Writes the four pickles, summary.json and summary.md into `directory`, all or nothing.

    Everything goes into a temporary sibling folder that is renamed into place at
    the end, so a failure never leaves partial files (an older copy stays intact).
    """
    parent, name = os.path.split(os.path.abspath(directory))
    os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for key in FILES:
            with open(os.path.join(tmp, key), "wb") as f:
                pickle.dump(data[key], f, protocol=4)
        with open(os.path.join(tmp, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
        with open(os.path.join(tmp, "summary.md"), "w", encoding="utf-8") as f:
            f.write(format_summary(summary, name) + "\n")
        old = os.path.join(parent, f".{name}.old{os.getpid()}")
        if os.path.exists(directory):
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
