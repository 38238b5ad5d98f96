"""data_prep.pipeline against a loop-by-loop re-implementation of the notebooks."""
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from data_prep import pipeline
from data_prep.pipeline import PrepConfig
from data_prep.readers import DataPrepError

DAY = 86400
BASE = 1388534400  # 2014-01-01


def notebook_reference(rows, config):
    """The notebooks' mapping, filter, split_test, split, trans, trans_sub and sequence,
    written as plain loops over dicts (sequence ties: stable, the documented rule)."""
    lo = pd.Timestamp(config.window_start, tz="UTC").timestamp() if config.window_start else -1e18
    hi = pd.Timestamp(config.window_end, tz="UTC").timestamp() if config.window_end else 1e18
    users, items, inter = {}, {}, []
    for u, i, t in rows:                                   # mapping
        if not lo <= t < hi:
            continue
        if u not in users:
            users[u] = len(users)
            inter.append({})
        items.setdefault(i, len(items))
        inter[users[u]].setdefault(items[i], []).append(t)
    n_users, n_items = len(users), len(items)
    for min_user, min_item in config.filters:              # filter
        count = [0] * n_items
        keep_users = set()
        for usr in range(n_users):
            for col in inter[usr]:
                count[col] += 1
            if len(inter[usr]) >= min_user:
                keep_users.add(usr)
        new, new_ids = [], {}
        for usr in range(n_users):
            if usr not in keep_users:
                continue
            d = {}
            for col, ts in inter[usr].items():
                if min_item is not None and count[col] < min_item:
                    continue
                d[new_ids.setdefault(col, len(new_ids))] = ts
            new.append(d)
        inter, n_users, n_items = new, len(new), len(new_ids)
    rs = np.random.RandomState(config.seed)                # split_test
    pick = rs.permutation(n_users)[:config.test_users]
    tst, test_dict = [None] * n_users, {}
    for usr in pick:
        tst[usr] = sorted(inter[usr].items(), key=lambda x: x[1])[-1][0]
        negs = []
        while len(negs) < config.negatives:
            r = rs.choice(n_items)
            if r not in inter[usr]:
                negs.append(int(r) + 1)
        test_dict[int(usr) + 1] = negs
    csv = [(usr, col, t) for usr in range(n_users) for col, ts in inter[usr].items() for t in ts]
    inter = [{c: list(ts) for c, ts in d.items()} for d in inter]
    for usr in pick:                                       # split
        ts = inter[usr][tst[usr]]
        inter[usr][tst[usr]] = ts[1:] or None
    for usr in range(n_users):
        temp = sorted([(c, ts) for c, ts in inter[usr].items() if ts], key=lambda x: x[1])
        if temp:
            inter[usr][temp[-1][0]] = inter[usr][temp[-1][0]][1:] or None
    entries = [(usr, col, t) for usr in range(n_users) for col, ts in inter[usr].items() if ts
               for t in ts]
    r, c, t = (np.array(x) for x in zip(*entries))         # trans
    trn = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_users, n_items))
    minn, maxx, g = t.min(), t.max(), config.graphs        # trans_sub
    rcd = [([], [], []) for _ in range(g)]
    time_mat = sp.dok_matrix((n_users, n_items), dtype=np.int64)
    for usr, col, stamp in entries:
        k = min(int((stamp - minn) / ((maxx - minn) / g)), g - 1)
        if not rcd[k][0] or rcd[k][0][-1] != usr or rcd[k][1][-1] != col:
            for lst, v in zip(rcd[k], (usr, col, stamp)):
                lst.append(v)
            time_mat[usr, col] = k
    subs = [sp.csr_matrix((x[2], (x[0], x[1])), shape=(n_users, n_items), dtype=np.int64)
            for x in rcd]
    sequence = [[] for _ in range(n_users)]                # preprocess_to_sequence
    for usr, col, _ in sorted(csv, key=lambda x: x[2]):
        sequence[usr].append(col)
    return {"trn_mat_time": [trn, subs, time_mat.tocsr()], "sequence": sequence,
            "tst_int": tst, "test_dict": test_dict}


def random_rows(seed, n_rows=900, n_users=40, n_items=35, days=40):
    rng = np.random.default_rng(seed)
    u = rng.integers(0, n_users, n_rows)
    i = (rng.zipf(1.5, n_rows) + u) % n_items            # repeats of pairs, popular items
    t = BASE + rng.integers(0, days, n_rows) * DAY        # many tied time stamps
    return [(f"u{a}", f"i{b}", int(c)) for a, b, c in zip(u, i, t)]


def frame(rows):
    return pd.DataFrame({"user": [r[0] for r in rows], "item": [r[1] for r in rows],
                         "time": np.array([r[2] for r in rows], np.int64),
                         "line": np.arange(1, len(rows) + 1)})


def assert_same(got, want):
    for a, b in zip(got["trn_mat_time"][:1] + got["trn_mat_time"][1] + got["trn_mat_time"][2:],
                    want["trn_mat_time"][:1] + want["trn_mat_time"][1] + want["trn_mat_time"][2:]):
        assert a.shape == b.shape and (a != b).nnz == 0
    assert got["sequence"] == want["sequence"]
    assert got["tst_int"] == want["tst_int"]
    assert list(got["test_dict"].items()) == list(want["test_dict"].items())


@pytest.mark.parametrize("seed,config", [
    (0, PrepConfig(filters=((8, 3), (6, None), (4, None)), test_users=20, negatives=7, graphs=3)),
    (1, PrepConfig(filters=((5, 5), (5, None)), test_users=15, negatives=12, graphs=4, seed=7)),
    (2, PrepConfig(window_start="2014-01-05", window_end="2014-02-01", filters=((4, 2), (3, None)),
                   test_users=10, negatives=5, graphs=2)),
    (3, PrepConfig(filters=(), test_users=30, negatives=3, graphs=5)),
])
def test_matches_the_notebook_loops(seed, config):
    rows = random_rows(seed)
    got, summary = pipeline.prepare(frame(rows), config)
    assert_same(got, notebook_reference(rows, config))
    assert summary["test_users"] == config.test_users


def hand_rows():
    rows = [  # user, item, day; in file order
        ("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("a", "z", 5), ("b", "y", 4),
        ("b", "z", 6), ("c", "x", 2), ("c", "q", 7), ("a", "x", 9), ("c", "y", 8),
        ("b", "w", 10), ("c", "w", 11), ("d", "w", 12), ("d", "z", 13), ("d", "v", 14),
    ]
    return [(u, i, BASE + d * DAY) for u, i, d in rows]


def test_hand_counted_example():
    config = PrepConfig(filters=((3, 2),), test_users=2, negatives=4, graphs=2, seed=0)
    data, summary = pipeline.prepare(frame(hand_rows()), config)
    # Distinct items: a 3, b 4, c 4, d 3 -> all users stay. Users per item: x, y, z, w 3;
    # q (c) and v (d) 1 -> removed. Items numbered as met: x 0, y 1, z 2, w 3.
    assert (summary["users"], summary["items"]) == (4, 4)
    assert data["sequence"] == [[0, 1, 2, 0], [0, 1, 2, 3], [0, 1, 3], [3, 2]]
    assert summary["interactions"] == 13
    pick = np.random.RandomState(0).permutation(4)[:2]
    assert sorted(u for u, t in enumerate(data["tst_int"]) if t is not None) == sorted(pick)
    expected_test = {0: 2, 1: 3, 2: 3, 3: 2}  # a: x=[1, 9] < y=[2] < z=[5] -> z, not x
    for u in pick:
        assert data["tst_int"][u] == expected_test[u]
        assert len(data["test_dict"][u + 1]) == 4
        assert not {i - 1 for i in data["test_dict"][u + 1]} & set(data["sequence"][u])
    if 0 in pick:  # a's only unseen item is w (id 3, 1-based 4)
        assert data["test_dict"][1] == [4, 4, 4, 4]
    # One validation stamp per user and one test stamp per test user: 13 - 4 - 2.
    assert summary["train_interactions"] == 7
    assert data["trn_mat_time"][0].sum() == 7


def test_sequence_ends_with_the_test_item_when_pairs_have_one_stamp():
    seen, unique = set(), []
    for r in random_rows(5):
        if r[:2] not in seen:
            seen.add(r[:2])
            unique.append(r)
    data, _ = pipeline.prepare(frame(unique), PrepConfig(filters=((5, 1),), test_users=20,
                                                          negatives=3, graphs=2))
    for u, t in enumerate(data["tst_int"]):
        if t is not None:
            assert data["sequence"][u][-1] == t


def test_quantile_intervals_balance_bunched_times():
    rng = np.random.default_rng(0)
    n = 3000
    times = BASE + np.where(rng.random(n) < 0.9, rng.integers(0, 5, n),
                            rng.integers(5, 400, n)) * DAY + rng.integers(0, DAY, n)
    rows = [(f"u{a}", f"i{b}", int(t)) for a, b, t in zip(rng.integers(0, 100, n),
                                                          rng.integers(0, 200, n), times)]
    equal = pipeline.prepare(frame(rows), PrepConfig(filters=((5, 1),), test_users=10,
                                                     negatives=2, graphs=4))[1]["graph_edges"]
    quant = pipeline.prepare(frame(rows), PrepConfig(filters=((5, 1),), test_users=10,
                                                     negatives=2, graphs=4,
                                                     interval="quantile"))[1]["graph_edges"]
    assert max(equal) > 0.8 * sum(equal)
    assert max(quant) - min(quant) < 0.05 * sum(quant)


@pytest.mark.parametrize("config,message", [
    (PrepConfig(filters=((100, None),)), "nothing left after the filter pass users >= 100"),
    (PrepConfig(filters=((5, 1),), test_users=1000), "fewer than the 1000 test users"),
    (PrepConfig(window_start="2020-01-01"), "nothing left after the time window"),
])
def test_errors(config, message):
    with pytest.raises(DataPrepError, match=message):
        pipeline.prepare(frame(random_rows(0)), config)


def test_users_emptied_by_the_last_pass_are_an_error():
    # User e rated only v, which has two users (d, e): a last pass keeping items with
    # >= 3 users leaves e in the numbering with no interaction, as the notebook would.
    rows = hand_rows() + [("e", "v", BASE)]
    with pytest.raises(DataPrepError, match="users have no interaction left after the last"):
        pipeline.prepare(frame(rows), PrepConfig(filters=((1, 3),), test_users=1, graphs=1))


def test_parse_filters():
    assert pipeline.parse_filters("20:20,15,5") == ((20, 20), (15, None), (5, None))
    with pytest.raises(DataPrepError, match="--filters"):
        pipeline.parse_filters("20:x")
