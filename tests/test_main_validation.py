"""`run/main.py` on bad data, flags and --out_dir: one message, exit 2, nothing written.

Each case damages a private copy of the tiny data set and runs `run/main.py` in
this process (its module imported once, its flags re-parsed per case): every
rejected case stops before any training, so it costs milliseconds. The empty
interval graph also runs as a subprocess, with and without --allow_empty_graphs
(which reaches the loader through `trainer.run`).
"""
import os
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from tests import scripts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAIN = os.path.join(ROOT, "run", "main.py")


@pytest.fixture(scope="module")
def main_module():
    """run/main.py imported once (its absl flags can be defined only once per process)."""
    module = scripts.load("run/main.py", "run_main_under_test")
    yield module
    module.FLAGS.unparse_flags()


@pytest.fixture()
def dirs(tiny_data_dir, tmp_path):
    """(data_dir, out_dir): a private copy of the tiny data set and an empty --out_dir."""
    shutil.copytree(tiny_data_dir / "tiny", tmp_path / "data" / "tiny")
    (tmp_path / "runs").mkdir()
    return tmp_path / "data", tmp_path / "runs"


def run_main(module, capsys, *args):
    """`python run/main.py ARGS` in this process: (exit code, stdout, stderr)."""
    module.FLAGS.unparse_flags()
    module.FLAGS(["main.py", *map(str, args)])
    code = module.main(["main.py"])
    out = capsys.readouterr()
    return code, out.out, out.err


def base_args(data_dir, out_dir):
    return ["--data", "tiny", "--data_dir", data_dir, "--out_dir", out_dir, "--epoch", "1",
            "--tstEpoch", "1"]


def snapshot(root):
    """Every folder under `root`, and every file with its size and modification time."""
    found = {}
    for folder, subdirs, files in os.walk(root):
        for name in subdirs:
            found[os.path.relpath(os.path.join(folder, name), root)] = "folder"
        for name in files:
            st = os.stat(os.path.join(folder, name))
            found[os.path.relpath(os.path.join(folder, name), root)] = (st.st_size, st.st_mtime_ns)
    return found


def error_line(err):
    """The one `error: ...` line of stderr (fails when there is none or more than one)."""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def read(d, name):
    with open(d / name, "rb") as f:
        return pickle.load(f)


def rewrite(d, name, obj):
    with open(d / name, "wb") as f:
        pickle.dump(obj, f)


def first_test_user(d):
    return next(u for u, t in enumerate(read(d, "tst_int")) if t is not None)


def edit(name, change):
    """A corruption that loads `name`, applies `change(obj, d)` in place and writes it back."""
    def corrupt(d):
        obj = read(d, name)
        change(obj, d)
        rewrite(d, name, obj)
    return corrupt


def truncate(d):
    raw = (d / "sequence").read_bytes()
    (d / "sequence").write_bytes(raw[: len(raw) // 2])


def set_test_item(value):
    return edit("tst_int", lambda tst, d: tst.__setitem__(first_test_user(d), value))


def set_negatives(change):
    def apply(td, d):
        key = first_test_user(d) + 1
        td[key] = change(td[key])
    return edit("test_dict", apply)


def resize_trn_mat(trn, d):
    trn[0] = sp.csr_matrix((81, 60))


def empty_graph(trn, d):
    trn[1][1] = sp.csr_matrix(trn[1][1].shape, dtype=np.intc)


def no_change(d):
    pass


REMAKE = "prepare the files again with `python -m data_prep`"

# (case, corruption of <data_dir>/tiny, extra flags, file named ('' for none), fragments)
CASES = [
    ("1_missing_file", lambda d: (d / "sequence").unlink(), [], "sequence", ["file not found"]),
    ("2_not_a_pickle", lambda d: (d / "test_dict").write_text("not a pickle"), [], "test_dict",
     ["not a readable pickle", REMAKE]),
    ("3_truncated_pickle", truncate, [], "sequence",
     ["not a readable pickle", "truncated", REMAKE]),
    ("4_sequence_dict", lambda d: rewrite(d, "sequence", {"a": 1}), [], "sequence",
     ["expected a list, got dict", REMAKE]),
    ("4_trn_mat_time_not_3_list", lambda d: rewrite(d, "trn_mat_time", [1, 2]), [],
     "trn_mat_time", ["expected a list [trnMat, subMats, timeMat]", "of length 2", REMAKE]),
    ("4_tst_int_entry_not_int", set_test_item(3.0), [], "tst_int",
     ["test item of user", "is 3.0, not an item id", REMAKE]),
    ("4_sequence_entry_not_ints", edit("sequence", lambda s, d: s.__setitem__(4, ["a", "b"])), [],
     "sequence", ["entry of user 4 is not a list of integer item ids", REMAKE]),
    ("4_negatives_not_ints", set_negatives(lambda negs: [str(n) for n in negs]), [],
     "test_dict", ["the negatives must be a list of integer item ids", REMAKE]),
    ("5_sequence_length", edit("sequence", lambda s, d: s.pop()), [], "sequence",
     ["has 79 users but trnMat has 80 rows", REMAKE]),
    ("5_tst_int_length", edit("tst_int", lambda t, d: t.append(None)), [], "tst_int",
     ["has 81 entries but trnMat has 80 users", REMAKE]),
    ("5_trn_mat_shape", edit("trn_mat_time", resize_trn_mat), [], "trn_mat_time",
     ["interval graph 0 has shape (80, 60), trnMat has (81, 60)", REMAKE]),
    ("6_sequence_item_id", edit("sequence", lambda s, d: s[3].append(60)), [], "sequence",
     ["user 3 has item id 60 outside [0, 60)", REMAKE]),
    ("6_tst_int_item_id", set_test_item(60), [], "tst_int",
     ["is 60, not an item id in [0, 60)", REMAKE]),
    ("6_negative_item_id", set_negatives(lambda negs: [61] + negs[1:]), [], "test_dict",
     ["negative ids outside [1, 60]", "1-based", REMAKE]),
    ("7_test_user_missing", edit("test_dict", lambda td, d: td.pop(first_test_user(d) + 1)), [],
     "test_dict", ["is missing", "keys are 1-based", REMAKE]),
    ("8_few_negatives", set_negatives(lambda negs: negs[:10]), [], "test_dict",
     ["has 10 negatives, --testSize 50 needs 49", "lower --testSize"]),
    ("9_graph_num", no_change, ["--graphNum", "4"], "trn_mat_time",
     ["--graphNum 4 but the file holds 3 interval graphs", "--graphNum 3 or less"]),
    ("10_empty_graph", edit("trn_mat_time", empty_graph), [], "trn_mat_time",
     ["interval graph 1 is empty", "--graphNum 1", "--interval quantile", "--allow_empty_graphs"]),
    ("11_test_user_empty_sequence",
     edit("sequence", lambda s, d: s.__setitem__(first_test_user(d), [])), [], "sequence",
     ["has an empty sequence", "the test item included", "to None"]),
    ("12_hard_k", no_change, ["--hard_k", "60"], "",
     ["--hard_k 60 is more than the", "lower --hard_k"]),
    ("12_reg", no_change, ["--reg", "-1"], "", ["--reg must be >= 0, got -1"]),
    ("12_ssl_reg", no_change, ["--ssl_reg", "-1"], "", ["--ssl_reg must be >= 0, got -1"]),
    ("12_cl_weight", no_change, ["--cl_weight", "-1"], "", ["--cl_weight must be >= 0, got -1"]),
    ("12_cl_temp", no_change, ["--cl_temp", "0"], "", ["--cl_temp must be > 0, got 0"]),
    ("12_keep_rate_0", no_change, ["--keepRate", "0"], "", ["--keepRate must be in (0, 1]"]),
    ("12_keep_rate_1.5", no_change, ["--keepRate", "1.5"], "",
     ["--keepRate must be in (0, 1]", "got 1.5"]),
    ("12_clean_protocol_select_on_test", no_change, ["--protocol", "clean", "--select_on", "test"],
     "", ["--protocol clean chooses the epoch on the validation item", "drop --select_on"]),
    ("12_baseline_with_hardgnn_flag", no_change, ["--model", "sasrec", "--hard_k", "3"], "",
     ["--hard_k is a HardGNN flag", "--model sasrec is a baseline"]),
]


@pytest.mark.parametrize("corrupt,extra,file,fragments", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_stops_with_one_message_and_writes_nothing(main_module, capsys, dirs, corrupt,
                                                             extra, file, fragments):
    data_dir, out_dir = dirs
    corrupt(data_dir / "tiny")
    before = snapshot(data_dir.parent)
    code, _, err = run_main(main_module, capsys, *base_args(data_dir, out_dir), *extra)
    line = error_line(err)
    assert code == 2, err
    if file:
        assert line.startswith(f"error: {data_dir / 'tiny' / file}: "), line
    for fragment in fragments:
        assert fragment in line, line
    assert os.listdir(out_dir) == []
    assert snapshot(data_dir.parent) == before


def block_out_dir(tmp_path):
    (tmp_path / "a_file").write_text("x")
    return tmp_path / "a_file" / "runs", "Not a directory"


def block_run_folder(tmp_path):
    (tmp_path / "runs" / "tiny").write_text("x")
    return tmp_path / "runs", "File exists"


@pytest.mark.parametrize("block", [block_out_dir, block_run_folder])
def test_unwritable_out_dir_stops_before_training(main_module, capsys, dirs, tmp_path, block):
    data_dir, _ = dirs
    out_dir, reason = block(tmp_path)
    before = snapshot(tmp_path)
    code, out, err = run_main(main_module, capsys, *base_args(data_dir, out_dir))
    line = error_line(err)
    assert code == 2, err
    assert line.startswith(f"error: --out_dir {out_dir}: cannot write the run folder"), line
    assert reason in line and "pass --out_dir a writable folder" in line, line
    assert "Epoch" not in out
    assert snapshot(tmp_path) == before


def shorten_users(seq, d):
    """Two users without a test item get 0 and 1 interactions; a test user keeps its test item."""
    tst = read(d, "tst_int")
    no_test = [u for u, t in enumerate(tst) if t is None]
    seq[no_test[0]] = []
    seq[no_test[1]] = seq[no_test[1]][:1]
    u = first_test_user(d)
    seq[u] = [tst[u]]


@pytest.mark.slow
def test_users_with_zero_or_one_interaction_train(main_module, capsys, dirs):
    data_dir, out_dir = dirs
    edit("sequence", shorten_users)(data_dir / "tiny")
    code, out, err = run_main(main_module, capsys, *base_args(data_dir, out_dir))
    assert code == 0, err
    assert "Epoch 0/1, Test: HR = " in out
    assert os.listdir(out_dir) == ["tiny"]


def run_subprocess(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, MAIN, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.slow
def test_empty_graph_subprocess_error(dirs):
    data_dir, out_dir = dirs
    edit("trn_mat_time", empty_graph)(data_dir / "tiny")
    proc = run_subprocess(*base_args(data_dir, out_dir))
    assert proc.returncode == 2, proc.stderr[-3000:]
    line = error_line(proc.stderr)
    assert line.startswith(f"error: {data_dir / 'tiny' / 'trn_mat_time'}: "
                           f"interval graph 1 is empty"), line
    assert os.listdir(out_dir) == []


@pytest.mark.slow
def test_empty_graph_trains_with_allow_empty_graphs(dirs):
    data_dir, out_dir = dirs
    edit("trn_mat_time", empty_graph)(data_dir / "tiny")
    proc = run_subprocess(*base_args(data_dir, out_dir), "--allow_empty_graphs")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Epoch 0/1, Test: HR = " in proc.stdout


def test_writable_check_leaves_a_folder_another_run_uses(main_module, tmp_path):
    """Two runs of a sweep start together: one's check must not fail on the other's folder."""
    out_dir = tmp_path / "sweep" / "runs"
    other = out_dir / "other_run"
    original_rmdir = os.rmdir

    def rmdir_while_other_run_starts(path):
        other.mkdir(parents=True, exist_ok=True)  # the other run creates its folder meanwhile
        original_rmdir(path)

    os.rmdir = rmdir_while_other_run_starts
    try:
        main_module.check_writable(str(out_dir), "this_run")
    finally:
        os.rmdir = original_rmdir
    assert sorted(os.listdir(out_dir)) == ["other_run"]


def test_help_is_grouped_instant_and_exits_0():
    proc = subprocess.run([sys.executable, MAIN, "--help"], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0
    titles = [line for line in proc.stdout.splitlines() if line.endswith(":")
              and not line.startswith(" ")]
    assert titles == ["SelfGNN model (the original's flags; --data NAME applies its shell "
                      "script):", "Data and protocol:", "Run:", "Model choice and baselines:",
                      "HardGNN (any of these trains HardGNN):"]
    assert "  --hard_k (int, default 5)" in proc.stdout
