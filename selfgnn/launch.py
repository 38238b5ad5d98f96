"""Launching many `run/main.py` runs from flag files: here, or as a SLURM array job.

Shared by `run/sweep.py` (a grid of flags) and `run/compare.py` (models x protocols x
seeds). A run is `(name, flag file)`; its output is appended to
`<folder>/logs/<name>.log` (each attempt under a `==` line with its time), and a run
whose folder says finished (`recovery.run_status`) is not launched again, so the same
command resumes.
"""
import os
import subprocess
import sys
import threading
import time
from concurrent import futures

from absl import flags

from selfgnn import recovery

MAIN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "run", "main.py")


def define_launch_flags(flag_values=flags.FLAGS):
    """--launcher, --jobs, --partition, --gpus, --time: how `launch` runs a batch of runs."""
    flags.DEFINE_enum("launcher", "local", ["local", "slurm"], "run here, or write a SLURM script",
                      flag_values=flag_values)
    flags.DEFINE_integer("jobs", 1, "runs at a time (local), or the array's % limit (slurm)",
                         lower_bound=1, flag_values=flag_values)
    flags.DEFINE_string("partition", None, "SLURM partition", flag_values=flag_values)
    flags.DEFINE_integer("gpus", 1, "GPUs per SLURM task", lower_bound=0,
                         flag_values=flag_values)
    flags.DEFINE_string("time", "24:00:00", "SLURM time limit per task", flag_values=flag_values)


def runs_folder(folder):
    """`<folder>/runs`, absolute: a flag file names it as `--out_dir`, and the launcher may
    start the run from any directory."""
    return os.path.abspath(os.path.join(folder, "runs"))


def write_flag_file(path, lines):
    """Writes one flag per line (`--name=value`) to `path`, making its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def unfinished(runs, runs_dir):
    """The `(name, flag file)` of `runs` whose `<runs_dir>/<name>` is not finished."""
    return [(n, p) for n, p in runs if recovery.run_status(os.path.join(runs_dir, n)) != "finished"]


def run_local(todo, folder, jobs, say=None):
    """Runs the flag files, `jobs` at a time; returns {run: exit code}.

    `say` (default: print, flushed) gets a line as each run starts and as it ends (`progress`).
    """
    os.makedirs(os.path.join(folder, "logs"), exist_ok=True)
    say = say or (lambda line: print(line, flush=True))
    lock, done, fresh = threading.Lock(), [], []

    def one(item):
        name, path = item
        log_path = os.path.join(folder, "logs", f"{name}.log")
        resumed = resumes(os.path.join(runs_folder(folder), name))
        begin = time.time()
        with lock:
            say(f"started {name} (log {log_path})")
        with open(log_path, "a") as log:  # a resumed run's earlier attempts stay above
            log.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} run/main.py --flagfile={path}\n")
            log.flush()
            code = subprocess.run([sys.executable, MAIN, f"--flagfile={path}"],
                                  stdout=log, stderr=subprocess.STDOUT).returncode
        seconds = time.time() - begin
        with lock:
            done.append(name)
            if code == 0 and not resumed:
                fresh.append(seconds)
            say(progress(name, code, seconds, len(done), len(todo), fresh, jobs, resumed))
        return name, code

    with futures.ThreadPoolExecutor(jobs) as pool:
        return dict(pool.map(one, todo))


def resumes(run_dir):
    """Whether an earlier attempt left state in `run_dir`: its results.json or `latest/`
    (the run resumes from there)."""
    return (recovery.run_status(run_dir) is not None
            or os.path.isdir(os.path.join(run_dir, "latest")))


def progress(name, code, seconds, done, total, fresh, jobs, resumed=False):
    """The line of a run that ended, e.g. 'a finished in 3.2 min; 4/10 done, 6 left, about
    0.5 h more at the pace so far'.

    `fresh`: the seconds of each run that ended well after starting from nothing. The
    time left is their mean x left / `jobs`. A resumed run (marked so in its line) only
    finished what an earlier attempt left, and a failed one may have stopped at once:
    neither says how long a run takes, so with no fresh run yet the line gives no time
    left. Runs of different models take very different times: it is a rough guide.
    """
    state = "finished" if code == 0 else f"FAILED (exit code {code})"
    line = (f"{name} {state} in {seconds / 60:.1f} min{' (resumed)' if resumed else ''}; "
            f"{done}/{total} done")
    left = total - done
    if left:
        line += f", {left} left"
        if fresh:
            hours = sum(fresh) / len(fresh) * left / jobs / 3600
            line += f", about {hours:.1f} h more at the pace so far"
    return line


def slurm_script(todo, folder, jobs, partition, gpus, time_limit, job_name="selfgnn-sweep"):
    """An array job with one task per flag file of `todo` (`<folder>/logs` is made: sbatch
    does not make its --output folder)."""
    logs = os.path.abspath(os.path.join(folder, "logs"))
    os.makedirs(logs, exist_ok=True)
    lines = ["#!/bin/bash", f"#SBATCH --job-name={job_name}",
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


def launch(todo, folder, launcher, jobs, partition=None, gpus=1, time_limit="24:00:00",
           job_name="selfgnn-sweep"):
    """Runs `todo` here (`launcher` 'local') or writes `<folder>/<job_name>.slurm`; returns
    the exit code for the command (0: all finished, or the script written)."""
    if not todo:
        return 0
    if launcher == "slurm":
        path = os.path.join(folder, f"{job_name}.slurm")
        with open(path, "w", encoding="utf-8") as f:
            f.write(slurm_script(todo, folder, jobs, partition, gpus, time_limit, job_name))
        print(f"wrote {path}: submit it with `sbatch {path}`")
        return 0
    codes = run_local(todo, folder, jobs)
    for name, code in sorted(codes.items()):
        print(f"{name}: {'finished' if code == 0 else f'exit code {code}'}")
    return 0 if all(c == 0 for c in codes.values()) else 1
