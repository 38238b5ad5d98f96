"""bench/run.py: the analytic FLOP count, by hand."""
import importlib.util
import os

from selfgnn import params

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
spec = importlib.util.spec_from_file_location("bench_run", os.path.join(ROOT, "bench", "run.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_step_flops_by_hand():
    p = params.preset_params("amazon")  # d 64, G 5, gnn_layer 3, att_layer 4, L 200, B 512
    f = bench.step_flops(p, users=11199, items=30821, edges=350000, pairs=40000, ssl_pairs=3000)
    n = 11199 + 30821
    assert f["lstm"] == 3 * n * 5 * 2 * 128 * 256           # 41.3 GFLOP
    assert f["attention_dense"] == 3 * n * 5 * 6 * 64 * 64  # 15.5 GFLOP
    assert f["graphs"] == 3 * 2 * 3 * 350000 * 64
    assert f["attention_scores"] == 3 * n * 25 * 64 * 4
    # 58.3 GFLOP: the "about 63" also counts the original's meta network over
    # all users, which the port evaluates for the sampled users only.
    assert round(sum(f.values()) / 1e9, 1) == 58.3


def test_hardgnn_adds_the_mining_product_once():
    from hardgnn import params as hard_params
    p = hard_params.preset_params("amazon", hard_k=3)
    f = bench.step_flops(p, users=11199, items=30821, edges=350000, pairs=40000, ssl_pairs=3000)
    assert f["mining"] == 512 * 30821 * 64 * 2
