"""run/report.py: the paper-style table from results.json files, by hand."""
import csv
import json
import os

import pytest

from tests import scripts

report = scripts.load("run/report.py", "report")


def write_run(folder, data, save_path, best, model="selfgnn", **flags):
    os.makedirs(folder, exist_ok=True)
    values = dict(zip(("HR10", "NDCG10", "HR20", "NDCG20"), best))
    result = {"flags": dict(dict(data=data, save_path=save_path, epoch=3, model=model,
                                 select_on="test", eval_history="original"), **flags),
              "epochs": [{}, {}, {}], "status": "finished",
              "best": dict(values, HR=values["HR10"], NDCG=values["NDCG10"], epoch=1),
              "final_test": values}
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(result, f)


@pytest.fixture
def runs(tmp_path):
    write_run(tmp_path / "runs" / "a", "amazon", "a", (0.4, 0.25, 0.5, 0.27))
    write_run(tmp_path / "runs" / "b", "amazon", "b", (0.3, 0.2, 0.45, 0.2), model="hardgnn",
              hard_k=3, cl_weight=0.1, neg_mode="dns", select_on="validation")
    write_run(tmp_path / "other" / "c", "ml-100k", "c", (0.18, 0.095, 0.28, 0.12),
              eval_history="exclude_target")
    os.makedirs(tmp_path / "runs" / "a" / "best")  # not searched
    return tmp_path


def test_table_cells_differences_and_protocol(runs):
    out = runs / "report"
    assert report.main([str(runs / "runs"), str(runs / "other"), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    lines = text.splitlines()
    assert ("| model | amazon HR@10 | amazon NDCG@10 | amazon HR@20 | amazon NDCG@20 | ml-100k HR@10"
            " | ml-100k NDCG@10 | ml-100k HR@20 | ml-100k NDCG@20 |") in lines
    assert "| SelfGNN (paper) | 0.391 | 0.240 | 0.487 | 0.264 |  |  |  |  |" in lines
    assert "| BiasMF (paper) | 0.314 | 0.170 | 0.457 | 0.206 |  |  |  |  |" in lines
    # 0.4 - 0.391 = +0.009, 0.25 - 0.240, 0.5 - 0.487, 0.27 - 0.264
    assert ("| SelfGNN (this port: a) | 0.4000 (+0.0090) | 0.2500 (+0.0100) | 0.5000 (+0.0130) "
            "| 0.2700 (+0.0060) |  |  |  |  |") in lines
    assert "| HardGNN K=3 lambda=0.1 dns (this port: b) | 0.3000 (-0.0910) |" in text
    assert "| SelfGNN (this port: c) |  |  |  |  | 0.1800 | 0.0950 | 0.2800 | 0.1200 |" in lines
    assert "No published numbers for ml-100k." in text
    # published rows come first, ours after
    assert text.index("SelfGNN (paper)") < text.index("(this port: a)")
    assert ("| HardGNN K=3 lambda=0.1 dns (this port: b) | amazon | 3 | best epoch 1 | "
            "validation item (before the test item) | original | finished |") in lines
    assert ("| SelfGNN (this port: c) | ml-100k | 3 | best epoch 1 | test NDCG (the original's "
            "rule) | exclude_target | finished |") in lines
    with open(out / "report.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    ours = [r for r in rows if r["kind"] == "this port"]
    assert [r["row"] for r in ours] == ["SelfGNN (this port: a)",
                                        "HardGNN K=3 lambda=0.1 dns (this port: b)",
                                        "SelfGNN (this port: c)"]
    assert float(ours[0]["diff_HR20"]) == pytest.approx(0.013)
    assert ours[2]["diff_HR20"] == ""
    assert len([r for r in rows if r["kind"] == "published"]) == 21  # 19 + rerun + HardGNN


def test_compare_puts_another_data_set_beside_the_published_one_and_plots(runs):
    out = runs / "report"
    assert report.main([str(runs / "other"), "--out", str(out), "--compare", "ml-100k=movielens",
                        "--plot"]) == 0
    text = (out / "report.md").read_text()
    assert "| model | ml-100k (vs published movielens) HR@10 |" in text
    assert "| SelfGNN (this port: c) | 0.1800 (-0.0590) |" in text
    assert "These are not the paper's data" in text
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_keep_their_columns_in_the_markdown_tables_only(runs):
    out = runs / "report"
    assert report.main([str(runs / "runs"), "--out", str(out), "--metrics", "NDCG10,HR10"]) == 0
    lines = (out / "report.md").read_text().splitlines()
    assert "| model | amazon HR@10 | amazon NDCG@10 |" in lines
    assert "| SelfGNN (this port: a) | 0.4000 (+0.0090) | 0.2500 (+0.0100) |" in lines
    assert ("| model | protocol | seeds | HR@10 | NDCG@10 | p HR@10 vs SelfGNN | "
            "p NDCG@10 vs SelfGNN |") in lines
    with open(out / "report.csv", newline="") as f:
        ours = next(r for r in csv.DictReader(f) if r["row"] == "SelfGNN (this port: a)")
    assert float(ours["NDCG20"]) == pytest.approx(0.27)


@pytest.mark.parametrize("args,message", [
    (["missing"], "no such file or folder"),
    (["other", "--metrics", "HR10,MRR"], "expected a comma-separated list of HR10, NDCG10"),
    (["empty"], "no results.json"),
    (["other", "--compare", "ml-100k=ml-10m"], "expected DATA=PAPER"),
])
def test_bad_input_exits_2_with_a_message(runs, capsys, args, message):
    os.makedirs(runs / "empty")
    args = [str(runs / args[0])] + args[1:] + ["--out", str(runs / "r")]
    assert report.main(args) == 2
    assert message in capsys.readouterr().err


def test_flags_parse_around_the_run_folders_and_help_exits_0(capsys):
    args, runs = report.parse_args(["a", "--out", "o", "b", "--compare=x=movielens", "--plot"])
    assert runs == ["a", "b"] and (args.out, args.plot, args.name) == ("o", True, "report")
    assert args.compare == ["x=movielens"]
    assert report.main(["--help"]) == 0
    assert "--[no]seeds_only: only the table across seeds" in capsys.readouterr().out
    assert report.main(["a", "--outt", "o"]) == 2
    assert "Unknown command line flag 'outt'" in capsys.readouterr().err
    assert report.main([]) == 2
