"""Expand a grid of flags into one flag file per run, and launch them.

    python run/sweep.py --grid hard_k=3,5 --grid cl_weight=0.01,0.1 \\
        --sweep_dir Runs/sweep1 --launcher local --jobs 2 --data ml-100k --epoch 25

Every flag of run/main.py given here is copied into each run's flag file
(`<sweep_dir>/flags/<run>.flags`), with the grid values, `--out_dir <sweep_dir>/runs`
and `--save_path <run>`. `--launcher local` runs them here, `--jobs` at a time;
`--launcher slurm` writes `<sweep_dir>/sweep.slurm`, an array job with one task per
unfinished run (submit it with `sbatch`). Runs whose `results.json` says finished are
skipped, so the same command resumes a sweep. `run/collect.py <sweep_dir>` tabulates.
"""
import itertools
import os
import subprocess
import sys
from concurrent import futures

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hardgnn import params as hard_params  # noqa: E402
from selfgnn import params, recovery  # noqa: E402

hard_params.define_flags()
flags.DEFINE_multi_string("grid", [], "NAME=V1,V2,...: a flag of run/main.py and its values")
flags.DEFINE_string("sweep_dir", "Runs/sweep", "folder of the flag files, runs and logs")
flags.DEFINE_enum("launcher", "local", ["local", "slurm"], "run here, or write a SLURM script")
flags.DEFINE_integer("jobs", 1, "runs at a time (local), or the array's % limit (slurm)",
                     lower_bound=1)
flags.DEFINE_string("partition", None, "SLURM partition")
flags.DEFINE_integer("gpus", 1, "GPUs per SLURM task", lower_bound=0)
flags.DEFINE_string("time", "24:00:00", "SLURM time limit per task")
FLAGS = flags.FLAGS
MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")
RUN_FLAGS = {name for name, _, _, _ in hard_params.ALL_SPECS}


def parse_grid(entries):
    """['hard_k=3,5', ...] -> [('hard_k', ['3', '5']), ...], flags checked."""
    grid = []
    for entry in entries:
        name, _, values = entry.partition("=")
        if name not in RUN_FLAGS or not values:
            raise ValueError(f"--grid {entry!r}: write NAME=V1,V2 with NAME a flag of "
                             f"run/main.py")
        if name in ("out_dir", "save_path"):
            raise ValueError(f"--grid {name}: the sweep sets it for every run")
        grid.append((name, values.split(",")))
    return grid


def run_name(combo):
    return "_".join(f"{name}{value}" for name, value in combo) or "base"


def flag_files(grid, base, sweep_dir):
    """Writes one flag file per combination (`base`: serialized flags); returns
    [(run name, flag file)]."""
    os.makedirs(os.path.join(sweep_dir, "flags"), exist_ok=True)
    runs = []
    for values in itertools.product(*[v for _, v in grid]):
        combo = list(zip([n for n, _ in grid], values))
        name = run_name(combo)
        lines = list(base) + [f"--{n}={v}" for n, v in combo]
        lines += [f"--out_dir={os.path.join(sweep_dir, 'runs')}", f"--save_path={name}"]
        path = os.path.join(sweep_dir, "flags", f"{name}.flags")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        runs.append((name, path))
    return runs


def run_local(todo, sweep_dir, jobs):
    """Runs the flag files, `jobs` at a time; returns {run: exit code}."""
    os.makedirs(os.path.join(sweep_dir, "logs"), exist_ok=True)

    def one(item):
        name, path = item
        with open(os.path.join(sweep_dir, "logs", f"{name}.log"), "w") as log:
            return name, subprocess.run([sys.executable, MAIN, f"--flagfile={path}"],
                                        stdout=log, stderr=subprocess.STDOUT).returncode

    with futures.ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, todo))


def slurm_script(todo, sweep_dir, jobs, partition, gpus, time_limit):
    """An array job with one task per flag file of `todo`."""
    logs = os.path.abspath(os.path.join(sweep_dir, "logs"))
    lines = ["#!/bin/bash", "#SBATCH --job-name=selfgnn-sweep",
             f"#SBATCH --array=0-{len(todo) - 1}%{jobs}", f"#SBATCH --time={time_limit}",
             f"#SBATCH --output={logs}/%A_%a.out"]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if gpus:
        lines.append(f"#SBATCH --gres=gpu:{gpus}")
    lines += ["set -euo pipefail", "FLAGFILES=(" + " ".join(
        os.path.abspath(path) for _, path in todo) + ")",
              f'{sys.executable} {MAIN} --flagfile="${{FLAGFILES[$SLURM_ARRAY_TASK_ID]}}"']
    return "\n".join(lines) + "\n"


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        grid = parse_grid(FLAGS.grid)
        hard_params.from_flags(FLAGS)  # the base flags must be valid on their own
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    base = [FLAGS[n].serialize() for n in sorted(RUN_FLAGS)
            if FLAGS[n].present and n not in ("out_dir", "save_path")]
    sweep_dir = FLAGS.sweep_dir
    runs = flag_files(grid, base, sweep_dir)
    todo = [(n, p) for n, p in runs
            if recovery.run_status(os.path.join(sweep_dir, "runs", n)) != "finished"]
    print(f"{len(runs)} runs, {len(runs) - len(todo)} finished before, {len(todo)} to run")
    if not todo:
        return 0
    if FLAGS.launcher == "slurm":
        os.makedirs(os.path.join(sweep_dir, "logs"), exist_ok=True)  # sbatch does not make it
        path = os.path.join(sweep_dir, "sweep.slurm")
        with open(path, "w", encoding="utf-8") as f:
            f.write(slurm_script(todo, sweep_dir, FLAGS.jobs, FLAGS.partition, FLAGS.gpus,
                                 FLAGS.time))
        print(f"wrote {path}: submit it with `sbatch {path}`")
        return 0
    codes = run_local(todo, sweep_dir, FLAGS.jobs)
    for name, code in sorted(codes.items()):
        print(f"{name}: {'finished' if code == 0 else f'exit code {code}'}")
    return 0 if all(c == 0 for c in codes.values()) else 1


if __name__ == "__main__":
    app.run(main, argv=params.normalize_bool_args(sys.argv, hard_params.ALL_SPECS))
