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
import sys

from absl import app, flags

from selfgnn import launch, main_flags, params

main_flags.define_flags()
flags.DEFINE_multi_string("grid", [], "NAME=V1,V2,...: a flag of run/main.py and its values")
flags.DEFINE_string("sweep_dir", "Runs/sweep", "folder of the flag files, runs and logs")
launch.define_launch_flags()
FLAGS = flags.FLAGS
RUN_FLAGS = {name for name, _, _, _ in main_flags.SPECS}


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
    runs = []
    for values in itertools.product(*[v for _, v in grid]):
        combo = list(zip([n for n, _ in grid], values))
        name = run_name(combo)
        lines = list(base) + [f"--{n}={v}" for n, v in combo]
        lines += [f"--out_dir={launch.runs_folder(sweep_dir)}", f"--save_path={name}"]
        runs.append((name, launch.write_flag_file(
            os.path.join(sweep_dir, "flags", f"{name}.flags"), lines)))
    return runs


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        grid = parse_grid(FLAGS.grid)
        main_flags.from_flags(FLAGS)  # the base flags must be valid on their own
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    base = [FLAGS[n].serialize() for n in sorted(RUN_FLAGS)
            if FLAGS[n].present and n not in ("out_dir", "save_path")]
    sweep_dir = FLAGS.sweep_dir
    runs = flag_files(grid, base, sweep_dir)
    todo = launch.unfinished(runs, launch.runs_folder(sweep_dir))
    print(f"{len(runs)} runs, {len(runs) - len(todo)} finished before, {len(todo)} to run")
    return launch.launch(todo, sweep_dir, FLAGS.launcher, FLAGS.jobs, FLAGS.partition,
                         FLAGS.gpus, FLAGS.time, job_name="sweep")


if __name__ == "__main__":
    app.run(main, argv=params.normalize_bool_args(sys.argv, main_flags.SPECS))
