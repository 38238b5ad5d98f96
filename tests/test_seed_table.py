"""selfgnn/seed_table.py: the table across seeds, its cells and p-values, by hand."""
import math

import pytest

from selfgnn import aggregate, published, seed_table
from tests.run_files import write_run


def test_cell_is_mean_std_and_the_ci_bounds_or_the_bare_mean():
    assert seed_table.cell({"n": 3, "mean": 0.2, "std": 0.1, "ci": 0.248414}) == (
        "0.2000 ± 0.1000 [-0.0484, 0.4484]")
    assert seed_table.cell({"n": 1, "mean": 0.4, "std": math.nan, "ci": math.nan}) == "0.4000"


@pytest.mark.parametrize("p, shown", [("", ""), (5e-5, "<1e-4"), (1e-4, "0.0001"),
                                      (0.024213, "0.0242"), (0.31456, "0.315"), (1.0, "1")])
def test_p_cell(p, shown):
    assert seed_table.p_cell(p) == shown


@pytest.fixture
def rows(tmp_path):
    root = str(tmp_path)
    paths = [write_run(root, "m1", 1, [7, 7, 7], model="mostpop"),
             write_run(root, "c1", 1, [0, 50, 50], protocol="clean"),
             write_run(root, "h1", 1, [0, 0, 0], model="hardgnn", hard_k=3, cl_weight=0.1),
             write_run(root, "s1", 1, [0, 3, 12]), write_run(root, "s2", 2, [1, 30, 12])]
    return aggregate.group_runs(paths)


def test_rows_are_ordered_original_first_selfgnn_then_hardgnn_then_baselines(rows):
    ordered = sorted(rows, key=seed_table.row_order)
    assert [(r.label, r.protocol) for r in ordered] == [
        ("SelfGNN", "original"), ("HardGNN K=3 lambda=0.1", "original"),
        ("MostPop", "original"), ("SelfGNN", "clean")]


def test_build_gives_the_hand_computed_cells_and_p_values(rows):
    lines, out_csv = seed_table.build(rows, {})
    assert lines[:3] == ["", "### d", ""]
    body = [line for line in lines if line.startswith("| ")][1:]
    assert [line.split(" | ")[0] for line in body] == [
        "| SelfGNN", "| HardGNN K=3 lambda=0.1", "| MostPop", "| SelfGNN"]
    # SelfGNN HR@10: seed 1 hits 2 of 3 users, seed 2 1 of 3: mean 0.5, std sqrt(2) / 6 =
    # 0.2357, CI half-width t(0.975, 1) * std / sqrt(2) = 12.7062 * 0.16667 = 2.1177.
    assert "| 0.5000 ± 0.2357 [-1.6177, 2.6177] |" in body[0]
    by_row = {(r["row"], r["protocol"]): r for r in out_csv}
    selfgnn = by_row[("SelfGNN", "original")]
    assert selfgnn["seeds"] == "1 2" and selfgnn["HR10_ci"] == pytest.approx(2.11770, abs=1e-4)
    assert selfgnn["p_HR10_vs_SelfGNN"] == ""
    # HardGNN hits every user; SelfGNN's per-user HR over its seeds is 1, 0.5, 0: the
    # differences 0, 0.5, 1 give t = sqrt(3) with 2 dof, p = 1 - sqrt(3) / sqrt(5) = 0.2254.
    hard = by_row[("HardGNN K=3 lambda=0.1", "original")]
    assert hard["p_HR10_vs_SelfGNN"] == pytest.approx(1 - math.sqrt(3 / 5))
    assert body[1].endswith("| 0.225 | " + seed_table.p_cell(hard["p_NDCG10_vs_SelfGNN"]) + " |")
    # MostPop ranks every test item 8th: HR@10 1, NDCG@10 1 / log2(9), the same each user,
    # so its differences to SelfGNN's per-user mean are not constant and the test runs.
    assert by_row[("MostPop", "original")]["NDCG10_mean"] == pytest.approx(1 / math.log2(9))
    # The clean SelfGNN row is its own protocol's reference: no p-value.
    assert by_row[("SelfGNN", "clean")]["p_HR10_vs_SelfGNN"] == ""


def test_published_rows_come_first_where_the_data_set_is_compared(rows):
    lines, _ = seed_table.build(rows, {"d": "movielens"})
    assert lines[1] == "### d (vs published movielens)"
    paper = published.load("movielens")
    body = [line for line in lines if line.startswith("| ")][1:]
    assert body[0].startswith(f"| {paper[0]['model']} (paper) | paper | | {paper[0]['HR10']:.3f}")
    assert len(body) == len(paper) + 4


def test_metrics_choose_the_markdown_columns_and_the_csv_keeps_all(rows):
    full, full_csv = seed_table.build(rows, {"d": "movielens"})
    lines, out_csv = seed_table.build(rows, {"d": "movielens"}, ("HR10", "NDCG10"))
    assert lines[3] == ("| model | protocol | seeds | HR@10 | NDCG@10 | p HR@10 vs SelfGNN | "
                        "p NDCG@10 vs SelfGNN |")
    def cells(line):
        return [c.strip() for c in line.strip().strip("|").split("|")]
    for short, long in zip(lines[5:], full[5:]):  # each row without its @20 cells
        assert cells(short) == cells(long)[:5] + cells(long)[7:]
    assert len(lines) == len(full) and out_csv == full_csv


def test_markdown_page_states_the_protocols_and_the_sources(rows):
    lines, _ = seed_table.build(rows, {"d": "movielens"})
    text = seed_table.markdown(rows, {"d": "movielens"}, lines)
    assert text.startswith("# Models compared across seeds\n\n" + seed_table.SEEDS_NOTE)
    assert published.load("movielens")[0]["source"] in text
    assert "Published rows" not in seed_table.markdown(rows, {}, lines)
