"""bench/run.py: the analytic FLOP count, by hand."""
from selfgnn import params
from tests import scripts

bench = scripts.load("bench/run.py", "bench_run")

AMAZON = (11199, 30821, 350000, 40000, 3000)  # users, items, edges, pairs, ssl_pairs


def test_step_flops_by_hand():
    p = params.preset_params("amazon")  # d 64, G 5, gnn_layer 3, att_layer 4, L 200, B 512
    f = bench.step_flops(p, "selfgnn", *AMAZON)
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
    f = bench.step_flops(p, "hardgnn", *AMAZON)
    assert f["mining"] == 512 * 30821 * 64 * 2
    assert "mining" not in bench.step_flops(p, "selfgnn", *AMAZON)


def test_dns_adds_the_pool_scores_once():
    from hardgnn import params as hard_params
    p = hard_params.preset_params("amazon", hard_k=3, neg_mode="dns", dns_pool=16)
    f = bench.step_flops(p, "hardgnn", *AMAZON)
    assert f["dns_pool"] == 20000 * 16 * 64 * 2


def test_markdown_table_rows_and_ratio_to_selfgnn():
    models = [dict(model=name, step_s=s, steps_per_epoch=20, epoch_s=20 * s, gflop_per_step=58.8,
                   floor_epoch_s=5.6, epoch_over_floor=20 * s / 5.6, test_pass_s=1.5,
                   setup_s=setup)
              for name, s, setup in (("SelfGNN", 1.0, 0.0), ("HardGNN K=3 ppr", 1.2, 75.0))]
    table = bench.markdown(dict(size="amazonlike", cpu_count=2, matmul_gflops=200.0,
                                peak_rss_gib=3.5, when="now", models=models,
                                hardgnn_over_selfgnn=1.2))
    assert "| SelfGNN | 1.000 | 20 | 20.0 | 58.8 | 5.6 | 3.6 | 1.00 | 1.50 |" in table
    assert "| HardGNN K=3 ppr | 1.200 | 20 | 24.0 (+75 s once) | 58.8 | 5.6 | 4.3 | 1.20 | 1.50 |" \
        in table


def test_floor_uses_the_best_roofline_measured():
    rows = [dict(gflop_per_step=60.0, steps_per_epoch=20, epoch_s=24.0)]
    assert bench.add_floors(rows, [120.0, 200.0, 150.0]) == 200.0
    assert rows[0]["floor_epoch_s"] == 6.0                   # 60 GFLOP / 200 GFLOP/s x 20
    assert rows[0]["epoch_over_floor"] == 4.0


def test_markdown_shows_the_spread_of_the_rooflines():
    models = [dict(model="SelfGNN", step_s=1.0, steps_per_epoch=20, epoch_s=20.0,
                   gflop_per_step=58.8, floor_epoch_s=5.9, epoch_over_floor=3.4, test_pass_s=1.5)]
    table = bench.markdown(dict(size="amazonlike", cpu_count=2, matmul_gflops=200.0,
                                matmul_gflops_samples=[131.0, 200.0, 190.0], peak_rss_gib=3.5,
                                when="now", models=models, hardgnn_over_selfgnn=1.1))
    assert "matmul roofline 200 GFLOP/s (best of 3: 131-200)" in table


def test_flags_defaults_strategies_and_errors(capsys):
    args = bench.parse_args([])
    assert (args.size, args.steps, args.warmup, args.repeats, args.plain, args.strategies) == (
        "amazonlike", 20, 2, 3, False, [])
    assert bench.parse_args(["--strategies", "random,,dns"]).strategies == ["random", "dns"]
    assert bench.main(["--size", "huge"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: flag --size=huge") and err.count("error:") == 1
    assert bench.main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("Speed and memory benchmark")


def test_attention_scores_of_the_paper_branch_by_hand():
    """8 rows (one per group) of L = 4 whose histories start at 0, -, 3, 2, 1, 0, 3, 2 (row
    1 empty: one position): T = 4, 1, 1, 2, 3, 4, 1, 2, sum of T^2 = 52, x 2 heads x 3
    layers, the same for both batches."""
    import numpy as np
    from selfgnn.sampler import TrainBatch
    p = params.preset_params("none", num_attention_heads=2, att_layer=3, pos_length=4, batch=8)
    starts = [0, 4, 3, 2, 1, 0, 3, 2]
    mask = (np.arange(4)[None, :] >= np.array(starts)[:, None]).astype(np.float32)
    batch = TrainBatch(uids=None, iids=None, u_locs=None, ssl_uids=(), ssl_iids=(),
                       sequence=(mask * 5).astype(np.int32), mask=mask)
    assert bench.attention_scores(p, [batch, batch]) == 52 * 2 * 3
