"""Speed and memory benchmark: `python bench/run.py --size amazonlike`.

In one process: generates the synthetic set if missing, measures a float32 matmul
roofline (before the first model and after each one; the best of those is the
roofline, so a slow moment of a shared machine cannot lower the floor), then for
SelfGNN and HardGNN (K = 3) on the amazon preset the steady-state seconds per
training step (`--steps` steps after `--warmup`, medians of `--repeats` rounds; one
epoch is ceil(trnNum / batch) steps) and per full test pass (every test user x
testSize candidates), optionally SelfGNN on the plain kernels (`--plain`, `PlainSelfGNN`)
and with the node stage on every row (`--every_row`, `EveryRowSelfGNN`), the
full-graph FLOPs per step (counted analytically, see `step_flops`: what the original
computes, the node stage on every row) and the ratio epoch time / full-graph floor
(those FLOPs at the roofline; the port computes the node stage on the read rows only,
so the ratio says how far it is from the original's limit). Writes `<out>/latest.json`
and `<out>/latest.md` and prints the table. `--size all` and `--scale` run one such
process per size (`bench/sizes.py`).
"""
import gc
import io
import math
import os
import resource
import sys
import time

import numpy as np
from absl import flags

from selfgnn import script_flags, tables

SIZES = {"tiny": ("tiny", "tiny"), "small": ("small", "small"),
         "amazonlike": ("amazonlike", "amazon"), "gowallalike": ("gowallalike", "gowalla"),
         "movielenslike": ("movielenslike", "movielens"), "yelplike": ("yelplike", "yelp")}
"""--size: (synthetic preset, data name = the paper's preset of flags)."""


def step_flops(p, model, users, items, edges, pairs, ssl_pairs):
    """Multiply-adds x 2 of one training step, forward x 3 (backward ~ 2 x forward).

    Per interval graph and layer, both directions sum one d-vector per edge;
    the shared LSTM runs G steps over U + I nodes ([x, h] @ [2d, 4d]); each of the
    two node attentions applies three d x d dense layers to N x G tokens and
    h heads of G x G scores; the sequence branch sums L items per row and runs
    att_layer attentions on one token; scores, SAL and the meta network are dot
    products and small dense layers. HardGNN adds the mining product of the
    batch's anchors with every item, forward only (no gradient through the selection).
    `model`: the model class's NAME (selfgnn or hardgnn).
    """
    d, g, n = p.latdim, p.graphNum, users + items
    forward = {
        "graphs": 2 * p.gnn_layer * edges * d,
        "lstm": n * g * 2 * (2 * d) * (4 * d),
        "attention_dense": n * g * 3 * 2 * d * d,
        "attention_scores": n * g * g * d * 2 * 2,
        "sequence": p.batch * p.pos_length * d * 2 + p.att_layer * p.batch * 3 * 2 * d * d,
        "scores": pairs * d * 2 * 2,
        "sal": ssl_pairs * (4 * d + 2 * 3 * d * p.ssldim + 2 * p.ssldim),
    }
    flops = {k: 3 * v for k, v in forward.items()}
    if model == "hardgnn" and p.neg_mode in ("dns", "mix"):  # each pair's pool, no backward
        flops["dns_pool"] = pairs // 2 * p.dns_pool * d * 2
    if model == "hardgnn":  # anchors x all items, no backward
        flops["mining"] = p.batch * items * d * 2
    return flops


def roofline(size=2048, repeats=5):
    """Best float32 GFLOP/s of a size^3 matmul."""
    import tensorflow as tf
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    tf.matmul(a, b).numpy()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def add_floors(rows, rooflines):
    """Sets each row's floor (its FLOPs at the best roofline measured, GFLOP/s) and
    epoch / floor; returns that roofline. The best, not the median: the floor is what
    the machine can do, and a roofline taken while a neighbour loads a shared machine
    would lower it and flatter the ratio."""
    gflops = max(rooflines)
    for row in rows:
        row["floor_epoch_s"] = row["gflop_per_step"] / gflops * row["steps_per_epoch"]
        row["epoch_over_floor"] = row["epoch_s"] / row["floor_epoch_s"]
    return gflops


def size_data(size, data_dir):
    """(data name, folder) of `--size` under `data_dir`, its synthetic set generated there
    if missing."""
    from data_prep import synthetic
    preset, data_name = SIZES[size]
    directory = os.path.join(data_dir, data_name)
    if not os.path.isfile(os.path.join(directory, "test_dict")):
        synthetic.write(synthetic.generate(synthetic.PRESETS[preset]), directory)
    return data_name, directory


def first_batches(t, steps):
    """The first `steps` training batches of an epoch of trainer `t`."""
    users = t.sampler.epoch_users()
    return [t.sampler.train_batch(users[i * t.params.batch:(i + 1) * t.params.batch])
            for i in range(min(steps, math.ceil(len(users) / t.params.batch)))]


def measure(name, trainer_obj, steps, warmup, repeats):
    t = trainer_obj
    start = time.perf_counter()
    t.model.start_epoch(0)  # per-run set-up (HardGNN ppr: the PPR bands), timed apart
    setup_s = time.perf_counter() - start
    batches = first_batches(t, steps)
    for b in batches[:warmup]:
        t.train_step(b)["Loss"].numpy()
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for b in batches:
            t.train_step(b)["Loss"].numpy()
        rounds.append((time.perf_counter() - start) / len(batches))
    t.test_epoch()  # trace
    tests = []
    for _ in range(max(1, repeats // 2)):
        start = time.perf_counter()
        t.test_epoch()
        tests.append(time.perf_counter() - start)
    scores = attention_scores(t.params, batches) if t.params.sequence_branch == "paper" else None
    pairs = int(np.mean([len(b.uids) for b in batches]))
    ssl = int(np.mean([sum(len(x) for x in b.ssl_uids) for b in batches]))
    return {"model": name, "setup_s": setup_s, "step_s": float(np.median(rounds)),
            "step_rounds": rounds,
            "test_pass_s": float(np.median(tests)), "pairs": pairs, "ssl_pairs": ssl,
            "attention_scores": scores}


def attention_scores(p, batches):
    """Attention scores of a step of --sequence_branch paper, mean over `batches`: heads x
    att_layer x the sum over `sequence_branch.by_length`'s groups of rows x T^2."""
    import tensorflow as tf
    from selfgnn import sequence_branch
    totals = []
    for b in batches:
        shapes = []

        def blocks(seq, mask, first):
            shapes.append(seq.shape)
            return tf.zeros([tf.shape(seq)[0], 1])
        sequence_branch.by_length(blocks, b.sequence, b.mask)
        totals.append(sum(n * t * t for n, t in shapes))
    return p.num_attention_heads * p.att_layer * float(np.mean(totals))


USAGE = ("usage: python bench/run.py [--size SIZE] [--plain] [--every_row] [--paper_branch] "
         "[--spread] [--strategies A,B] [flags]")


def parse_args(argv):
    """The flag values of `argv`, the arguments without the program name (`--strategies`
    already a list of names); a bad flag or a stray argument raises flags.Error."""
    fv = script_flags.flag_values()
    flags.DEFINE_enum("size", "amazonlike", sorted(SIZES) + ["all"],
                      "synthetic set and preset; all: the paper's four shapes, one process "
                      "each (bench/sizes.py)", flag_values=fv)
    flags.DEFINE_list("scale", [], "also measure --size (amazonlike with all) with users, "
                      "items and test users scaled by each factor, e.g. 0.5,1,2,4, and fit "
                      "the growth exponents", flag_values=fv)
    flags.DEFINE_string("data_dir", os.path.join("bench", "data"),
                        "folder of the synthetic sets (generated if missing)", flag_values=fv)
    flags.DEFINE_string("out", os.path.join("bench", "results"),
                        "folder that receives latest.json and latest.md", flag_values=fv)
    flags.DEFINE_integer("steps", 20, "timed training steps per round", flag_values=fv)
    flags.DEFINE_integer("warmup", 2, "untimed training steps first", flag_values=fv)
    flags.DEFINE_integer("repeats", 3, "timed rounds (the median is kept)", flag_values=fv)
    flags.DEFINE_bool("plain", False, "also time SelfGNN on the plain kernels (model.PlainSelfGNN)",
                      flag_values=fv)
    flags.DEFINE_bool("every_row", False, "also time SelfGNN with the node stage on every row "
                      "(model.EveryRowSelfGNN), not only the rows a step reads", flag_values=fv)
    flags.DEFINE_bool("paper_branch", False, "also time SelfGNN with --sequence_branch paper",
                      flag_values=fv)
    flags.DEFINE_bool("spread", False, "also time SelfGNN's step per replica for 1, 2, 4 and "
                      "8 replicas and estimate --spread_graphs' speed-up (bench/spread.py)",
                      flag_values=fv)
    flags.DEFINE_string("strategies", "", "also time HardGNN K=3 with these negative samplers "
                        "(comma-separated names of hardgnn.params.STRATEGIES)", flag_values=fv)
    rest = fv(["bench/run.py"] + list(argv))[1:]
    if rest:
        raise flags.Error(f"unrecognized arguments: {' '.join(rest)}")
    fv.strategies = [x for x in fv.strategies.split(",") if x]
    for factor in fv.scale:
        try:
            ok = float(factor) > 0
        except ValueError:
            ok = False
        if not ok:
            raise flags.Error(f"--scale: {factor!r} is not a positive factor (e.g. 0.5,1,2,4)")
    return fv


def main(argv=None):
    args, code = script_flags.parse(parse_args, argv, __doc__, USAGE)
    if code is not None:
        return code
    if args.size == "all" or args.scale:
        from data_prep import synthetic
        import sizes  # bench/sizes.py, beside this script
        passed = [f"--steps={args.steps}", f"--warmup={args.warmup}",
                  f"--repeats={args.repeats}"] + (["--every_row"] if args.every_row else [])
        return sizes.run_all(args, synthetic.PRESETS, passed)
    data_name, directory = size_data(args.size, args.data_dir)
    from hardgnn import params as hard_params
    from hardgnn.model import HardGNN
    from selfgnn import data_handler, trainer
    from selfgnn.model import EveryRowSelfGNN, PlainSelfGNN, SelfGNN
    from selfgnn import main_flags
    base = main_flags.preset_params(data_name, data_dir=args.data_dir,
                                     out_dir=os.path.join(args.out, "runs"))
    data = data_handler.load_dataset(directory, base.graphNum, base.testSize)
    rooflines = [roofline()]
    rows, spread_result = [], None
    runs = [("SelfGNN", SelfGNN, base),
            ("HardGNN K=3", HardGNN, base.replace(model="hardgnn", hard_k=3, cl_weight=0.1))]
    if args.plain:
        runs.append(("SelfGNN, plain kernels", PlainSelfGNN, base))
    if args.every_row:
        runs.append(("SelfGNN, every row", EveryRowSelfGNN, base))
    if args.paper_branch:
        runs.append(("SelfGNN, paper sequence branch", SelfGNN,
                     base.replace(sequence_branch="paper")))
    for name in args.strategies:
        runs.append((f"HardGNN K=3 {name}", HardGNN, hard_params.check_hard_params(base.replace(
            model="hardgnn", hard_k=3, cl_weight=0.1, **hard_params.STRATEGIES[name]))))
    for name, cls, p in runs:
        t = trainer.Trainer(p, data, model_cls=cls, logger=trainer.Logger(io.StringIO()))
        row = measure(name, t, args.steps, args.warmup, args.repeats)
        edges = sum(m.nnz for m in data.sub_mats)
        flops = step_flops(p, cls.NAME, data.num_users, data.num_items, edges, row["pairs"],
                           row["ssl_pairs"])
        steps_per_epoch = math.ceil(min(p.trnNum, data.num_users) / p.batch)
        row.update(flops=flops, gflop_per_step=sum(flops.values()) / 1e9,
                   steps_per_epoch=steps_per_epoch, epoch_s=row["step_s"] * steps_per_epoch)
        rows.append(row)
        if args.spread and cls is SelfGNN and name == "SelfGNN":
            import spread  # bench/spread.py, beside this script
            spread_result = spread.measure(t, first_batches(t, args.steps), args.repeats)
        del t
        gc.collect()  # the next model's peak does not stack on this one's
        rooflines.append(roofline())
    gflops = add_floors(rows, rooflines)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20
    result = {"size": args.size, "data": {
                  "users": data.num_users, "items": data.num_items,
                  "interactions": int(data.train_mat.nnz), "graphs": len(data.sub_mats),
                  "graph_edges": int(sum(m.nnz for m in data.sub_mats)),
                  "test_users": int(len(data.test_users))},
              "matmul_gflops": gflops, "matmul_gflops_samples": rooflines,
              "peak_rss_gib": peak_gib,
              "hardgnn_over_selfgnn": rows[1]["epoch_s"] / rows[0]["epoch_s"], "models": rows,
              "cpu_count": os.cpu_count(), "when": time.strftime("%Y-%m-%d %H:%M:%S")}
    table = markdown(result)
    if spread_result is not None:
        import spread
        result["spread"] = spread_result
        table += spread.markdown(spread_result, base.graphNum)
    tables.write_result(args.out, "latest", result, table)
    print(table)
    return 0


def markdown(r):
    samples = r.get("matmul_gflops_samples", [])
    spread = (f" (best of {len(samples)}: {min(samples):.0f}-{max(samples):.0f})"
              if len(samples) > 1 else "")
    lines = [f"Size `{r['size']}`, {r['cpu_count']} cores, matmul roofline "
             f"{r['matmul_gflops']:.0f} GFLOP/s{spread}, peak RSS {r['peak_rss_gib']:.2f} GiB, "
             f"{r['when']}", ""]
    base = r["models"][0]["epoch_s"]
    rows = []
    for m in r["models"]:
        setup = f" (+{m['setup_s']:.0f} s once)" if m.get("setup_s", 0) > 1 else ""
        rows.append([m["model"], f"{m['step_s']:.3f}", str(m["steps_per_epoch"]),
                     f"{m['epoch_s']:.1f}{setup}", f"{m['gflop_per_step']:.1f}",
                     f"{m['floor_epoch_s']:.1f}", f"{m['epoch_over_floor']:.1f}",
                     f"{m['epoch_s'] / base:.2f}", f"{m['test_pass_s']:.2f}"])
    lines += tables.markdown(["model", "s / step", "steps / epoch", "s / epoch", "GFLOP / step",
                              "floor s / epoch", "epoch / floor", "epoch / SelfGNN's",
                              "s / test pass"], rows)
    lines.append(f"\nHardGNN / SelfGNN epoch time: {r['hardgnn_over_selfgnn']:.2f}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
