"""The HardGNN study in one command: `python run/grid_search.py --data ml-100k`.

1. HardGNN for every K in --grid_k and lambda in --grid_lambda, --grid_epochs each,
   the best epoch of each run chosen on the validation item (`sequence[u][-2]`, the
   item before the test item: `--select_on validation`), never on a test item;
2. the configuration with the best validation NDCG@10 and SelfGNN retrained for
   --final_epochs, again selected on validation, reported on the test item at top-10
   and top-20;
   and each of --strategies (named negative samplers, `hardgnn.params.STRATEGIES`)
   with that K and lambda, under the same protocol;
3. into --grid_dir (default `<out_dir>/grid_<data>`): `grid.csv`, `final.csv`,
   `results.md` (with the published numbers for amazon, gowalla, movielens, yelp),
   `vs_lambda.png`, `vs_k.png`, `curves.png` (test NDCG@10 per epoch of each final
   run, to show over-fitting) and TensorBoard HParams records under `hparams/`.

Every run writes its own folder; finished runs are skipped, so the grid resumes
where it stopped. All other flags are those of run/main.py.
"""
import json
import os
import sys

from absl import app, flags, logging

from hardgnn import params as hard_params, plots
from selfgnn import main_flags, params, published, tables

main_flags.define_flags()
flags.DEFINE_list("grid_k", ["3", "5", "7"], "values of K (--hard_k)")
flags.DEFINE_list("grid_lambda", ["0.01", "0.1", "0.2"], "values of lambda (--cl_weight)")
flags.DEFINE_integer("grid_epochs", 25, "epochs of each grid run", lower_bound=1)
flags.DEFINE_integer("final_epochs", 100, "epochs of the two final runs", lower_bound=1)
flags.DEFINE_string("grid_dir", None, "output folder (default <out_dir>/grid_<data>)")
flags.DEFINE_list("strategies", [], "negative-sampling strategies to retrain with the best K and "
                  "lambda, one row each: " + ", ".join(hard_params.STRATEGIES))
FLAGS = flags.FLAGS
METRICS = ("HR10", "NDCG10", "HR20", "NDCG20")


def run_once(config, model_cls, dataset, log):
    """Trains `config` unless its folder holds a finished run; returns its results."""
    from selfgnn import recovery, trainer
    run_dir = os.path.join(config.out_dir, config.save_path)
    if recovery.run_status(run_dir) == "finished":
        log(f"{config.save_path}: finished before, skipped")
        with open(os.path.join(run_dir, "results.json"), encoding="utf-8") as f:
            return json.load(f)
    return trainer.Trainer(config, dataset, model_cls=model_cls).run()


def row(name, results, **extra):
    best = results["best"] or {}
    valid = best.get("valid") or {}
    out = dict(run=name, **extra, best_epoch=best.get("epoch"),
               epochs=results["flags"]["epoch"],
               seconds_per_epoch=sum(e["seconds"]["train"] for e in results["epochs"])
               / max(len(results["epochs"]), 1))
    out.update({f"valid_{m}": valid.get(m) for m in ("HR10", "NDCG10")})
    out.update({m: best.get(m) for m in METRICS})
    return out


def fmt(value):
    return "" if value is None else f"{value:.4f}"


def markdown(data, grid_rows, final_rows):
    """The results table: ours (test item, epoch chosen on validation), then published rows."""
    ours = [[r["run"], *(fmt(r[m]) for m in METRICS),
             f"this port, {r['epochs']} epochs, best epoch {r['best_epoch']} chosen on validation"]
            for r in final_rows]
    theirs = [[label, *(f"{p[m]:.3f}" for m in METRICS), p["source"]]
              for model, label in published.COMPARED for p in published.load(data, model)]
    lines = [f"# HardGNN study on {data}", ""] + tables.markdown(
        ["model", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "source"], ours + theirs)
    if data not in {p["dataset"] for p in published.load()}:
        lines.append(f"\nNo published numbers for `{data}`.")
    lines += ["", "## Grid (selection on the validation item)", ""] + tables.markdown(
        ["K", "lambda", "valid HR@10", "valid NDCG@10", "test HR@10", "test NDCG@10",
         "best epoch"],
        [[r["K"], f"{r['lambda']:g}", fmt(r["valid_HR10"]), fmt(r["valid_NDCG10"]),
          fmt(r["HR10"]), fmt(r["NDCG10"]), str(r["best_epoch"])] for r in grid_rows])
    return "\n".join(lines) + "\n"


def hparams(grid_rows, directory, log):
    """One TensorBoard HParams session per grid run (needs the tensorboard package)."""
    try:
        from tensorboard.plugins.hparams import api as hp
    except ImportError:
        log("tensorboard is not installed: no HParams records (pip install tensorboard)")
        return
    import tensorflow as tf
    for r in grid_rows:
        with tf.summary.create_file_writer(os.path.join(directory, "hparams", r["run"])).as_default():
            hp.hparams({"hard_k": r["K"], "cl_weight": r["lambda"]}, trial_id=r["run"])
            for m in ("valid_HR10", "valid_NDCG10") + METRICS:
                tf.summary.scalar(m, r[m] or 0.0, step=0)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    try:
        base = main_flags.from_flags(FLAGS)
        ks = [int(k) for k in FLAGS.grid_k]
        lambdas = [float(x) for x in FLAGS.grid_lambda]
        unknown = [s for s in FLAGS.strategies if s not in hard_params.STRATEGIES]
        if unknown:
            raise ValueError(f"--strategies: unknown {', '.join(unknown)}; choose among "
                             f"{', '.join(hard_params.STRATEGIES)}")
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from data_prep import cli
    from hardgnn.model import HardGNN
    from selfgnn import data_handler, trainer
    from selfgnn.model import SelfGNN
    log = trainer.Logger()
    grid_dir = FLAGS.grid_dir or os.path.join(base.out_dir, f"grid_{base.data}")
    os.makedirs(grid_dir, exist_ok=True)
    try:
        dataset = data_handler.load_for(base, log=log.plain)
        common = dict(out_dir=grid_dir, select_on="validation", load_model=None)
        grid_rows = []
        for i, (k, lam) in enumerate((k, lam) for k in ks for lam in lambdas):
            name = f"k{k}_lambda{lam:g}"
            log(f"grid {i + 1}/{len(ks) * len(lambdas)}: {name}")
            config = hard_params.check_hard_params(base.replace(
                model="hardgnn", hard_k=k, cl_weight=lam, epoch=FLAGS.grid_epochs,
                save_path=name, **common))
            grid_rows.append(row(name, run_once(config, HardGNN, dataset, log), K=k, **{"lambda": lam}))
        best = max(grid_rows, key=lambda r: (r["valid_NDCG10"] or 0.0, r["valid_HR10"] or 0.0))
        log(f"best on validation: K = {best['K']}, lambda = {best['lambda']:g}")
        final_rows, curves = [], {}
        hard = dict(model="hardgnn", hard_k=best["K"], cl_weight=best["lambda"])
        finals = [("SelfGNN", SelfGNN, dict(model="selfgnn", save_path="final_selfgnn")),
                  (f"HardGNN K={best['K']} lambda={best['lambda']:g}", HardGNN,
                   dict(hard, save_path="final_hardgnn"))]
        finals += [(f"HardGNN {name}", HardGNN,
                    dict(hard, **hard_params.STRATEGIES[name], save_path=f"final_{name}"))
                   for name in FLAGS.strategies]
        for label, model_cls, changes in finals:
            config = hard_params.check_hard_params(
                base.replace(epoch=FLAGS.final_epochs, **common, **changes))
            results = run_once(config, model_cls, dataset, log)
            final_rows.append(row(label, results))
            curves[label] = results["epochs"]
    except (data_handler.DataError, cli.DataPrepError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    tables.write_csv(os.path.join(grid_dir, "grid.csv"), grid_rows)
    tables.write_csv(os.path.join(grid_dir, "final.csv"), final_rows)
    table = markdown(base.data, grid_rows, final_rows)
    with open(os.path.join(grid_dir, "results.md"), "w", encoding="utf-8") as f:
        f.write(table)
    plots.plot_grid(grid_rows, best, grid_dir, log)
    plots.plot_curves(curves, os.path.join(grid_dir, "curves.png"), log)
    hparams(grid_rows, grid_dir, log)
    log.plain(table)
    log(f"written to {grid_dir}")
    return 0


if __name__ == "__main__":
    app.run(main, argv=params.normalize_bool_args(sys.argv, main_flags.SPECS))
