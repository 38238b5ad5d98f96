"""The published numbers shipped with the package."""
import pytest

from selfgnn import published


def test_selfgnn_row_of_the_paper():
    (row,) = published.load("amazon", "SelfGNN")
    assert [row[m] for m in published.METRICS] == [0.391, 0.240, 0.487, 0.264]
    assert "2405.20878" in row["source"]


@pytest.mark.parametrize("dataset", ["amazon", "gowalla", "movielens", "yelp"])
def test_main_table_has_19_models_per_dataset(dataset):
    rows = [r for r in published.load(dataset) if "Table 2" in r["source"]]
    assert len(rows) == 19
    assert all(0 < r[m] < 1 for r in rows for m in published.METRICS)
    best = max(rows, key=lambda r: r["HR10"])
    assert best["model"] == "SelfGNN"  # the paper's claim: SelfGNN is best on HR@10 everywhere


def test_hardgnn_report_rows():
    rows = published.load(model="HardGNN")
    assert sorted(r["dataset"] for r in rows) == ["amazon", "gowalla", "movielens"]
    (gowalla,) = published.load("gowalla", "HardGNN")
    assert (gowalla["HR10"], gowalla["NDCG10"]) == (0.624, 0.408)


def test_compare_and_side_by_side_by_hand():
    ours = {"HR10": 0.4, "NDCG10": 0.2, "HR20": 0.5, "NDCG20": 0.25}
    assert published.compare("ml-100k", ours) is None
    comparison = published.compare("gowalla", ours)
    assert [r["label"] for r in comparison["published"]] == [
        "SelfGNN (paper)", "SelfGNN (HardGNN report rerun)", "HardGNN (report)"]
    assert comparison["published"][0]["diff"]["HR10"] == pytest.approx(0.4 - 0.637)
    lines = published.side_by_side(comparison, "best epoch 3 of 10, chosen on test NDCG")
    assert lines[0] == ("Published numbers for gowalla beside this run (best epoch 3 of 10, "
                        "chosen on test NDCG):")
    assert lines[3] == "| HR@10 | 0.4000 | 0.637 | -0.2370 | 0.568 | -0.1680 | 0.624 | -0.2240 |"
    assert lines[-1].startswith("Sources: HardGNN final report")
    yelp = published.compare("yelp", ours)  # no HardGNN report numbers for yelp
    assert [r["model"] for r in yelp["published"]] == ["SelfGNN"]
