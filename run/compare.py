"""The whole comparison in one command: every model, N seeds, both protocols, one table.

    python run/compare.py --data ml-100k --seeds 5 --out Runs/compare-ml-100k --jobs 2

Runs SelfGNN, HardGNN (`--hard_k 3 --cl_weight 0.1`) and every reference baseline
(`baselines.MODELS`) with seeds `--first_seed`, `--first_seed + 1`, ... under
`--protocol original` and `--protocol clean`, each as `run/main.py` with its own run
folder `<out>/runs/<model>-<protocol>-seed<seed>` (flag files in `<out>/flags/`, logs
in `<out>/logs/`). Runs already finished are skipped, so the same command resumes.
Every other `run/main.py` flag given here is passed to every run (e.g. `--data_dir D
--data tiny --epoch 2` for a quick check; HardGNN flags go to the HardGNN runs only,
`--baseline_grid` and `--baseline_patience` to the baselines' only).
`--launcher slurm` writes `<out>/compare.slurm`, an array job, instead of running.

At the end (or with `--report_only`), `run/report.py --seeds_only` writes
`<out>/compare.md`, `<out>/compare.csv` and `<out>/compare.png`: the published rows
first where the data set is one of the paper's (or `--compare DATA=PAPER`), then
ours, mean ± std [95% CI] under both protocols, with paired-test p-values against
SelfGNN of the same protocol.
"""
import os
import subprocess
import sys
import time

from absl import app, flags

import baselines
from baselines import params as baseline_params
from hardgnn import params as hard_params
from selfgnn import launch, main_flags, params

main_flags.define_flags()
flags.DEFINE_integer("seeds", 5, "seeds per model and protocol", lower_bound=1)
flags.DEFINE_integer("first_seed", 100, "the first seed (100: the original's)")
flags.DEFINE_string("out", None, "folder of the runs, logs and the table", required=True)
VARIANTS = {"selfgnn_paper": ("selfgnn", ["--sequence_branch=paper"])}
"""--models names that run a model with extra flags."""
flags.DEFINE_list("models", ["selfgnn", "selfgnn_paper", "hardgnn"] + list(baselines.MODELS),
                  "models to compare (selfgnn_paper: SelfGNN with --sequence_branch paper)")
flags.DEFINE_list("protocols", ["original", "clean"], "protocols to run")
launch.define_launch_flags()
flags.DEFINE_multi_string("compare", [], "DATA=PAPER: put DATA beside the published PAPER rows")
flags.DEFINE_bool("report_only", False, "only write the table from the runs already finished")
FLAGS = flags.FLAGS
HARDGNN = ("--hard_k=3", "--cl_weight=0.1")
SET_HERE = ("model", "protocol", "seed", "out_dir", "save_path", "select_on", "eval_history")
REPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.py")


def plan(models, protocols, seeds, passed, hard_passed, baseline_passed=()):
    """[(run name, flag lines)] in the order they run: seed by seed, so that a partial
    comparison already has every model. hard_passed go to HardGNN's runs only,
    baseline_passed (--baseline_grid, --baseline_patience) to the baselines' only."""
    runs = []
    for seed in seeds:
        for protocol in protocols:
            for name in models:
                model, extra = VARIANTS.get(name, (name, []))
                lines = list(passed) + [f"--model={model}", f"--protocol={protocol}",
                                        f"--seed={seed}"] + extra
                if model == "hardgnn":  # K = 3, lambda = 0.1 unless given
                    given = {line.split("=")[0] for line in hard_passed}
                    lines += [f for f in HARDGNN if f.split("=")[0] not in given]
                    lines += list(hard_passed)
                if model in baselines.MODELS:
                    lines += list(baseline_passed)
                runs.append((f"{name}-{protocol}-seed{seed}", lines))
    return runs


def check(models, protocols):
    known = ("selfgnn", "hardgnn") + tuple(VARIANTS) + tuple(baselines.MODELS)
    for model in models:
        if model not in known:
            raise ValueError(f"--models {model}: not a model; known: {', '.join(known)}")
    for protocol in protocols:
        if protocol not in ("original", "clean"):
            raise ValueError(f"--protocols {protocol}: use original and/or clean")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        check(FLAGS.models, FLAGS.protocols)
        main_flags.from_flags(FLAGS)  # the passed flags must be valid on their own
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    hard, base = set(hard_params.HARD_NAMES), set(baseline_params.NAMES)
    names = sorted(n for n, *_ in main_flags.SPECS if FLAGS[n].present and n not in SET_HERE)
    passed = [FLAGS[n].serialize() for n in names if n not in hard | base]
    hard_passed = [FLAGS[n].serialize() for n in names if n in hard]
    baseline_passed = [FLAGS[n].serialize() for n in names if n in base]
    runs_dir = launch.runs_folder(FLAGS.out)
    code = 0
    if not FLAGS.report_only:  # the flag files of running runs stay as they are
        runs = [(name, launch.write_flag_file(
            os.path.join(FLAGS.out, "flags", f"{name}.flags"),
            lines + [f"--out_dir={runs_dir}", f"--save_path={name}"]))
            for name, lines in plan(FLAGS.models, FLAGS.protocols,
                                    range(FLAGS.first_seed, FLAGS.first_seed + FLAGS.seeds),
                                    passed, hard_passed, baseline_passed)]
        todo = launch.unfinished(runs, runs_dir)
        print(f"{len(runs)} runs, {len(runs) - len(todo)} finished before, {len(todo)} to run")
        start = time.time()
        code = launch.launch(todo, FLAGS.out, FLAGS.launcher, FLAGS.jobs, FLAGS.partition,
                             FLAGS.gpus, FLAGS.time, job_name="compare")
        if FLAGS.launcher == "slurm":
            return code
        print(f"ran {len(todo)} runs in {(time.time() - start) / 60:.1f} min")
    if not os.path.isdir(runs_dir):
        print(f"error: {runs_dir}: no runs yet", file=sys.stderr)
        return 2
    cmd = [sys.executable, REPORT, runs_dir, "--out", FLAGS.out, "--seeds_only", "--plot",
           "--name", "compare"] + [f"--compare={c}" for c in FLAGS.compare]
    report = subprocess.run(cmd)
    return code or report.returncode


if __name__ == "__main__":
    app.run(main, argv=params.normalize_bool_args(sys.argv, main_flags.SPECS))
