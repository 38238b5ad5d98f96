"""Keep the record of finished runs: `python run/archive.py RUNS DEST`.

Copies, for every finished run under RUNS (a folder whose `results.json` says
`finished`), the three files a table is made from into `DEST/<run>/`:
`results.json` (flags, every epoch's validation and test metrics, the reported
epoch), `per_user.csv` (each test user's rank and metrics at that epoch: what the
paired tests and confidence intervals of `run/report.py` read) and `log.txt`. The
checkpoints, TensorBoard events and grid ranks stay behind, so a run's record is tens
of kilobytes: small enough to keep beside the text that quotes its numbers, e.g.
`docs/results/ml-1m/runs`, where `python run/report.py DEST --seeds_only` rebuilds
the table. The files hold the model's outputs only (user index, rank, metrics), no
interaction of the data set.

Copying them back into a `run/compare.py` runs folder makes that command skip the
runs, so a comparison can go on from the record alone. Unfinished runs are left out.
A run already in DEST with different files is refused (exit code 2) unless
`--replace`: a record is not overwritten by accident.

`--unfinished DIR` also keeps the finished grid points of an unfinished baseline run
(its `config.json`, `results.json`, `log.txt` and `grid/point<i>_ranks.npy`, each point
48 kB on ml-1m) in `DIR/<run>/`. Copied back into the runs folder, they make the same
command train only the points left, with the numbers of an uninterrupted run (each
point starts from the seed). The copy is replaced as points finish and removed once
the run is kept in DEST. A SelfGNN run has no such points: its progress lives in its
checkpoints, which are not kept.
"""
import filecmp
import json
import os
import shutil
import sys

from absl import flags

from selfgnn import recovery, run_folder, script_flags

FILES = ("results.json", recovery.PER_USER, "log.txt")
"""What a run's record holds; results.json is required, the others copied when there."""

SAID = {"new": "archived", "differs": "replaced", "same": "already archived",
        "unfinished": "unfinished, left out", "points": "unfinished, finished points kept"}

USAGE = "usage: python run/archive.py RUNS DEST [--replace] [--unfinished DIR]"


def finished_points(folder):
    """The files that hold an unfinished baseline run's finished grid points:
    config.json, results.json, log.txt and `grid/point<i>_ranks.npy` of each; [] if
    no point has finished (or the run is not a baseline's)."""
    try:
        with open(os.path.join(folder, "results.json"), encoding="utf-8") as f:
            points = len(json.load(f).get("grid") or [])
    except (OSError, ValueError, AttributeError):
        return []
    grid = [os.path.join("grid", f"point{i}_ranks.npy") for i in range(points)]
    files = [run_folder.CONFIG, "results.json", "log.txt"] + grid
    if not points or not all(os.path.isfile(os.path.join(folder, f)) for f in files):
        return []
    return files


def plan(runs_root, dest, unfinished=None):
    """[(run, status, files)] for every run folder under `runs_root`: `status` is
    'new', 'same' (DEST holds these files already), 'differs', 'unfinished', or with
    `unfinished` (a folder) 'points' (an unfinished run's finished grid points)."""
    plans = []
    for path in recovery.results_files(runs_root):
        folder = os.path.dirname(path)
        run = os.path.relpath(folder, runs_root)
        files = [f for f in FILES if os.path.isfile(os.path.join(folder, f))]
        if recovery.run_status(folder) != "finished":
            points = finished_points(folder) if unfinished else []
            plans.append((run, "points", points) if points else (run, "unfinished", files))
            continue
        target = os.path.join(dest, run)
        held = [f for f in FILES if os.path.isfile(os.path.join(target, f))]
        if not held:
            status = "new"
        elif held == files and all(filecmp.cmp(os.path.join(folder, f), os.path.join(target, f),
                                               shallow=False) for f in files):
            status = "same"
        else:
            status = "differs"
        plans.append((run, status, files))
    return plans


def copy(runs_root, dest, run, files):
    """Copies `files` of `runs_root/run` into `dest/run`, each through a temporary name,
    and removes a record file the run no longer has."""
    target = os.path.join(dest, run)
    for name in files:
        os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
        tmp = os.path.join(target, f"{name}.tmp")
        shutil.copyfile(os.path.join(runs_root, run, name), tmp)
        os.replace(tmp, os.path.join(target, name))
    for name in set(FILES) - set(files):
        if os.path.isfile(os.path.join(target, name)):
            os.remove(os.path.join(target, name))


def keep_points(runs_root, unfinished, run, files):
    """`unfinished/run` made to hold exactly `files` of `runs_root/run` (its finished
    grid points)."""
    shutil.rmtree(os.path.join(unfinished, run), ignore_errors=True)
    copy(runs_root, unfinished, run, files)


def parse_args(argv):
    """(flag values, [RUNS, DEST]) of `argv`; a bad flag or not two folders raises flags.Error."""
    fv = script_flags.flag_values()
    flags.DEFINE_bool("replace", False, "overwrite a run DEST holds with different files",
                      flag_values=fv)
    flags.DEFINE_string("unfinished", None, "also keep the finished grid points of unfinished "
                        "baseline runs in this folder", flag_values=fv)
    rest = fv(["archive.py"] + list(argv))[1:]
    if len(rest) != 2 and not fv.help:
        raise flags.Error(f"expected two folders (RUNS DEST), got {len(rest)}")
    return fv, rest


def main(argv=None):
    parsed, code = script_flags.parse(parse_args, argv, __doc__, USAGE)
    if code is not None:
        return code
    fv, (runs_root, dest) = parsed
    if not os.path.isdir(runs_root):
        print(f"error: {runs_root}: not a folder", file=sys.stderr)
        return 2
    plans = plan(runs_root, dest, fv.unfinished)
    if not plans:
        print(f"error: no results.json under {runs_root}", file=sys.stderr)
        return 2
    differ = [run for run, status, _ in plans if status == "differs"]
    if differ and not fv.replace:
        print(f"error: {dest} holds {', '.join(differ)} with different files; compare them, "
              f"then rerun with --replace to overwrite", file=sys.stderr)
        return 2
    counts = {}
    for run, status, files in plans:
        if status in ("new", "differs"):
            copy(runs_root, dest, run, files)
        if status == "points":
            keep_points(runs_root, fv.unfinished, run, files)
        elif status != "unfinished" and fv.unfinished and os.path.isdir(
                os.path.join(fv.unfinished, run)):
            shutil.rmtree(os.path.join(fv.unfinished, run))  # the whole run is kept now
        said = SAID[status]
        counts[said] = counts.get(said, 0) + 1
        shown = f" ({', '.join(files)})" if status in ("new", "differs") else (
            f" ({len(files) - 3} grid point(s))" if status == "points" else "")
        print(f"{run}: {said}{shown}")
    print(", ".join(f"{n} {said}" for said, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
