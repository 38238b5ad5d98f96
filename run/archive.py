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
"""
import filecmp
import os
import shutil
import sys

from absl import flags

from selfgnn import recovery, script_flags

FILES = ("results.json", recovery.PER_USER, "log.txt")
"""What a run's record holds; results.json is required, the others copied when there."""

SAID = {"new": "archived", "differs": "replaced", "same": "already archived",
        "unfinished": "unfinished, left out"}

USAGE = "usage: python run/archive.py RUNS DEST [--replace]"


def plan(runs_root, dest):
    """[(run, status, files)] for every run folder under `runs_root`: `status` is
    'new', 'same' (DEST holds these files already), 'differs' or 'unfinished'."""
    plans = []
    for path in recovery.results_files(runs_root):
        folder = os.path.dirname(path)
        run = os.path.relpath(folder, runs_root)
        files = [f for f in FILES if os.path.isfile(os.path.join(folder, f))]
        if recovery.run_status(folder) != "finished":
            plans.append((run, "unfinished", files))
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
    os.makedirs(target, exist_ok=True)
    for name in files:
        tmp = os.path.join(target, f".{name}.tmp")
        shutil.copyfile(os.path.join(runs_root, run, name), tmp)
        os.replace(tmp, os.path.join(target, name))
    for name in set(FILES) - set(files):
        if os.path.isfile(os.path.join(target, name)):
            os.remove(os.path.join(target, name))


def parse_args(argv):
    """(flag values, [RUNS, DEST]) of `argv`; a bad flag or not two folders raises flags.Error."""
    fv = script_flags.flag_values()
    flags.DEFINE_bool("replace", False, "overwrite a run DEST holds with different files",
                      flag_values=fv)
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
    plans = plan(runs_root, dest)
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
        said = SAID[status]
        counts[said] = counts.get(said, 0) + 1
        print(f"{run}: {said}" + (f" ({', '.join(files)})" if status in ("new", "differs")
                                  else ""))
    print(", ".join(f"{n} {said}" for said, n in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
