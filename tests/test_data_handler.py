"""Loading the original's four pickles, and one clear error per kind of bad file."""
import pickle
import shutil

import numpy as np
import pytest
import scipy.sparse as sp

from data_prep import synthetic
from selfgnn import data_handler, params
from selfgnn.data_handler import DataError


@pytest.fixture()
def data_dir(tiny_data_dir, tmp_path):
    """A private copy of the tiny data set that a test may damage."""
    target = tmp_path / "tiny"
    shutil.copytree(tiny_data_dir / "tiny", target)
    return target


def load(directory, graph_num=3, test_size=50):
    return data_handler.load_dataset(str(directory), graph_num, test_size)


def rewrite(directory, name, obj):
    with open(directory / name, "wb") as f:
        pickle.dump(obj, f)


def read(directory, name):
    with open(directory / name, "rb") as f:
        return pickle.load(f)


def test_loads_and_rebuilds_training_matrix_from_sequence(data_dir):
    data = load(data_dir)
    seq = read(data_dir, "sequence")
    assert (data.num_users, data.num_items) == (80, 60)
    assert data.train_mat.shape == (80, 60)
    for u in (0, 17, 79):  # every item of the sequence, test and validation items included
        assert set(data.train_mat[u].indices) == set(seq[u])
        assert data.train_mat[u].sum() == len(seq[u])
    trn = read(data_dir, "trn_mat_time")[0]
    assert data.train_mat.nnz > trn.nnz  # trnMat lacks test and validation items
    tst = read(data_dir, "tst_int")
    np.testing.assert_array_equal(data.test_users, [u for u, t in enumerate(tst) if t is not None])
    assert len(data.sub_mats) == 3


def test_graph_edges_follow_stored_entries_and_empty_graph_gets_dummy_edge(data_dir):
    trn = read(data_dir, "trn_mat_time")
    trn[1][2] = sp.csr_matrix(trn[1][2].shape, dtype=np.intc)
    rewrite(data_dir, "trn_mat_time", trn)
    with pytest.raises(DataError, match="interval graph 2 is empty"):
        load(data_dir)
    data = data_handler.load_dataset(str(data_dir), 3, 50, allow_empty_graphs=True)
    users, items = data.graph_edges(0)
    coo = trn[1][0].tocoo()
    np.testing.assert_array_equal(users, coo.row)
    np.testing.assert_array_equal(items, coo.col)
    users, items = data.graph_edges(2)
    assert users.tolist() == [0] and items.tolist() == [0]


def test_fewer_graphs_used_than_stored(data_dir):
    assert len(load(data_dir, graph_num=2).sub_mats) == 2


def corrupt_truncate(d):
    raw = (d / "sequence").read_bytes()
    (d / "sequence").write_bytes(raw[: len(raw) // 2])


def corrupt_remove_key(d):
    td = read(d, "test_dict")
    td.pop(min(td))
    rewrite(d, "test_dict", td)


def corrupt_item_range(d):
    seq = read(d, "sequence")
    seq[3] = seq[3] + [60]
    rewrite(d, "sequence", seq)


def corrupt_few_negatives(d):
    td = read(d, "test_dict")
    key = min(td)
    td[key] = td[key][:10]
    rewrite(d, "test_dict", td)


def corrupt_users(d):
    rewrite(d, "sequence", read(d, "sequence")[:-1])


def corrupt_tst_len(d):
    rewrite(d, "tst_int", read(d, "tst_int") + [None])


def corrupt_test_item(d):
    tst = read(d, "tst_int")
    u = next(i for i, t in enumerate(tst) if t is not None)
    tst[u] = "x"
    rewrite(d, "tst_int", tst)


def corrupt_negative_is_positive(d):
    tst, td = read(d, "tst_int"), read(d, "test_dict")
    u = next(i for i, t in enumerate(tst) if t is not None)
    td[u + 1][0] = tst[u] + 1
    rewrite(d, "test_dict", td)


def first_item_outside(sequence, num_items=60):
    return next(i for i in range(num_items) if i not in sequence)


def corrupt_test_item_outside_sequence(d):
    tst, seq = read(d, "tst_int"), read(d, "sequence")
    u = next(i for i, t in enumerate(tst) if t is not None)
    tst[u] = first_item_outside(seq[u])
    rewrite(d, "tst_int", tst)


def corrupt_shape(d):
    trn = read(d, "trn_mat_time")
    trn[1][1] = sp.csr_matrix((5, 5))
    rewrite(d, "trn_mat_time", trn)


@pytest.mark.parametrize("corrupt,file,message", [
    (lambda d: (d / "tst_int").unlink(), "tst_int", "file not found"),
    (lambda d: (d / "test_dict").write_text("not a pickle"), "test_dict", "not a readable pickle"),
    (corrupt_truncate, "sequence", "not a readable pickle"),
    (lambda d: rewrite(d, "sequence", {"a": 1}), "sequence", "expected a list"),
    (lambda d: rewrite(d, "trn_mat_time", [1, 2]), "trn_mat_time", "expected a list"),
    (corrupt_shape, "trn_mat_time", "interval graph 1 has shape"),
    (corrupt_users, "sequence", "has 79 users but trnMat has 80"),
    (corrupt_item_range, "sequence", "item id 60 outside"),
    (corrupt_tst_len, "tst_int", "has 81 entries"),
    (corrupt_test_item, "tst_int", "not an item id"),
    (corrupt_test_item_outside_sequence, "tst_int", "does not occur in the user's sequence"),
    (corrupt_remove_key, "test_dict", "is missing"),
    (corrupt_few_negatives, "test_dict", "has 10 negatives, --testSize 50 needs 49"),
    (corrupt_negative_is_positive, "test_dict", "test item is among its own negatives"),
])
def test_bad_files_give_one_message_naming_the_file(data_dir, corrupt, file, message):
    corrupt(data_dir)
    with pytest.raises(DataError, match=message) as err:
        load(data_dir)
    assert str(err.value).startswith(str(data_dir / file))


def test_test_item_outside_its_sequence_names_user_item_and_fix(data_dir):
    tst, seq = read(data_dir, "tst_int"), read(data_dir, "sequence")
    users = [u for u, t in enumerate(tst) if t is not None][:3]
    for u in users:
        tst[u] = first_item_outside(seq[u])
    rewrite(data_dir, "tst_int", tst)
    with pytest.raises(DataError) as err:
        load(data_dir)
    assert str(err.value) == (
        f"{data_dir / 'tst_int'}: test item {tst[users[0]]} of user {users[0]} does not occur "
        f"in the user's sequence in {data_dir / 'sequence'} (2 other test users have the same "
        f"problem); the original's data hold the test item as the last entry of the user's "
        f"sequence: re-prepare the data with `python -m data_prep`")


def test_test_item_anywhere_in_its_sequence_loads(data_dir):
    tst, seq = read(data_dir, "tst_int"), read(data_dir, "sequence")
    u = next(u for u, t in enumerate(tst) if t is not None and seq[u][0] != t)
    tst[u] = seq[u][0]  # the first item, not the last: still part of the user's history
    rewrite(data_dir, "tst_int", tst)
    assert load(data_dir).tst_int[u] == seq[u][0]


def test_graph_num_larger_than_file(data_dir):
    with pytest.raises(DataError, match="--graphNum 4 but the file holds 3"):
        load(data_dir, graph_num=4)


def test_yelp_folder_spelling(tmp_path):
    (tmp_path / "Yelp").mkdir()
    assert data_handler.dataset_dir(str(tmp_path), "yelp") == str(tmp_path / "Yelp")
    (tmp_path / "yelp").mkdir()
    assert data_handler.dataset_dir(str(tmp_path), "yelp") == str(tmp_path / "yelp")


def test_noise_file_replaces_training_file(data_dir):
    trn = read(data_dir, "trn_mat_time")
    trn[1] = trn[1][:2] + [trn[1][2] * 0 + trn[1][1]]
    rewrite(data_dir, "noise_0.20", trn)
    data = data_handler.load_dataset(str(data_dir), 3, 50, percent=0.2)
    assert (data.sub_mats[2] != sp.csr_matrix(trn[1][1])).nnz == 0
    with pytest.raises(DataError, match="noise_0.30: file not found"):
        data_handler.load_dataset(str(data_dir), 3, 50, percent=0.3)


def test_short_users_load(tmp_path):
    cfg = synthetic.PRESETS["tiny"]
    data = synthetic.generate(cfg)
    data["sequence"][5] = data["sequence"][5][:1]  # a user with a single interaction
    if data["tst_int"][5] is not None:
        data["tst_int"][5] = data["sequence"][5][0]
    synthetic.write(data, str(tmp_path / "tiny"))
    assert len(load(tmp_path / "tiny").sequences[5]) == 1


def test_paper_check_names_the_papers_user_counts():
    assert data_handler.paper_check("amazon", 11199) == "amazon: 11199 users, as the paper's"
    assert data_handler.paper_check("yelp", 500) == (
        "warning: yelp has 500 users, the paper's has 19751: these are not the paper's yelp "
        "data, and its published numbers do not apply")
    assert data_handler.paper_check("ml-100k", 943) is None


def test_missing_paper_data_says_where_to_get_it(tmp_path):
    with pytest.raises(DataError, match=r"git clone https://github.com/HKUDS/SelfGNN` and pass "
                                        r"--data_dir SelfGNN/Datasets"):
        data_handler.load_dataset(str(tmp_path / "amazon"), 5, 1000)


def test_load_for_prepares_a_movielens_set_on_first_use(tmp_path, monkeypatch):
    from data_prep import cli
    inter = tmp_path / "fake.inter"
    pairs = [(u, (3 * u + j) % 20) for u in range(12) for j in range(10)]
    inter.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(
        f"{u}\tmovie {i}\t4\t{881250949 + 3600 * k}\n" for k, (u, i) in enumerate(pairs)))
    calls = []
    monkeypatch.setattr(cli.movielens, "fetch_inter", lambda name: calls.append(name) or inter)
    p = params.preset_params("ml-100k", data_dir=str(tmp_path / "Datasets"), testSize=6)
    data = data_handler.load_for(p, log=lambda *a: None)
    assert calls == ["ml-100k"] and (data.num_users, data.num_items) == (12, 20)
    assert data_handler.load_for(p, log=lambda *a: None).num_users == 12 and calls == ["ml-100k"]
