"""bench/memory_model.py: the least-squares fit, its leave-one-out errors and the GPU table."""
import numpy as np
import pytest

from tests import scripts

mm = scripts.load("bench/memory_model.py", "memory_model")


def test_fit_recovers_an_exact_linear_law():
    x = [[1, a, b] for a, b in [(1, 2), (2, 1), (3, 5), (4, 4), (6, 1)]]
    y = [5 + 2 * a + 3 * b for _, a, b in x]
    coef, fitted, loo = mm.fit(x, y)
    np.testing.assert_allclose(coef, [5, 2, 3], atol=1e-9)
    np.testing.assert_allclose(fitted, y)
    assert max(loo) < 1e-9


def test_leave_one_out_error_by_hand():
    """y = 1, 2, 4 fitted by a constant: each point is predicted by the others' mean."""
    _, _, loo = mm.fit([[1], [1], [1]], [1, 2, 4])
    assert loo == pytest.approx([2.0, 0.25, 0.625])  # |3 - 1| / 1, |2.5 - 2| / 2, |1.5 - 4| / 4


def test_fits():
    assert mm.fits(9e9) == [16, 24, 40, 80]
    assert mm.fits(8e9) == [8, 16, 24, 40, 80]
    assert mm.fits(81e9) == []


def run(label, users, items, graphs, edges, gib, factor=None):
    return {"size": label.split()[0], "label": label, "factor": factor, "peak_rss_gib": gib,
            "data": {"users": users, "items": items, "graphs": graphs, "graph_edges": edges}}


def test_model_by_hand():
    """Peaks made from a known law: 1 GiB + 100 B per table value + 50 B per edge."""
    def gib(users, items, graphs, edges):
        return (2 ** 30 + 100 * graphs * (users + items) * 64 + 50 * edges) / 2 ** 30
    shapes = [("amazonlike", 1000, 3000, 5, 20000), ("gowallalike", 4000, 5000, 3, 70000),
              ("movielenslike", 2000, 800, 6, 90000), ("yelplike", 1500, 3500, 12, 30000),
              ("amazonlike x2", 2000, 6000, 5, 41000)]
    sizes = {"runs": [run(*s, gib(*s[1:]), factor=2.0 if "x2" in s[0] else None)
                      for s in shapes]}
    latest = {"size": "amazonlike", "peak_rss_gib": gib(*shapes[0][1:]) + 1.0,
              "models": [{"model": "SelfGNN", "attention_scores": None},
                         {"model": "SelfGNN, paper sequence branch",
                          "attention_scores": 2 ** 28}]}
    m = mm.model(sizes, latest, runtime=2 ** 29)
    c = m["coefficients"]
    assert (c["bytes_per_table_value"], c["bytes_per_edge"]) == (pytest.approx(100),
                                                                 pytest.approx(50))
    assert [s["data"] for s in m["sets"]] == ["amazon", "gowalla", "movielens", "yelp"]
    amazon = m["sets"][0]
    assert amazon["bytes_per_user"] == pytest.approx(100 * 5 * 64)
    assert amazon["device_gib"] == pytest.approx(gib(*shapes[0][1:]) - 0.5)
    assert m["paper_branch"]["bytes_per_attention_score"] == pytest.approx(4.0)  # 1 GiB / 2^28
    # every history full, amazon preset: batch 512, 16 heads, L 200, 4 layers, 4 B each
    assert amazon["paper_branch_gib"] == pytest.approx(
        amazon["device_gib"] + 4 * 512 * 16 * 200 ** 2 * 4 / 2 ** 30)
    assert "leave-one-out error at most 0%" in mm.markdown(m)


def test_model_needs_a_paper_branch_row():
    sizes = {"runs": [run("amazonlike", 10, 30, 5, 100, 1.0)]}
    with pytest.raises(ValueError, match="--paper_branch"):
        mm.model(sizes, {"size": "amazonlike", "peak_rss_gib": 2.0,
                         "models": [{"model": "SelfGNN", "attention_scores": None}]}, runtime=0)
