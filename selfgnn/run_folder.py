"""A run folder belongs to one configuration and to one process at a time.

`<out_dir>/<save_path>/config.json` records the flags that define the run (every flag
but `MAY_CHANGE`) and their fingerprint. A command whose flags differ is refused,
naming both values and the fix; `--noresume` starts the folder over instead. A
finished run is never redone by the same command (`inspect` says 'finished'; a sweep
requeue is then harmless); a larger `--epoch` extends it.

`.lock` is held with `fcntl.flock` by the process writing the folder; the OS
releases it when that process ends, by a crash too, so a second process cannot
interleave its writes with the first's. Reads only (no TensorFlow) until `claim`.
"""
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil

CONFIG = "config.json"
LOCK = ".lock"
MAY_CHANGE = ("out_dir", "save_path", "data_dir", "resume", "uid", "export_tf1_checkpoint",
              "nan_policy", "max_skipped", "tf_log_level", "preset")
"""Flags a resumed run may change: where things are, what is printed or exported, the
non-finite policy, and --preset (the values it sets are compared). `--epoch` too for
SelfGNN and HardGNN (the run is extended)."""
RUN_FILES = ("best", "latest", "grid", "tensorboard", "latest_state.json", "results.json",
             "history.his", "per_user.csv", CONFIG)
"""What a run writes besides log.txt; removed when a folder starts over."""


def make_folders(path):
    """Makes `path` and its missing parents; returns the folders it made, innermost first
    (if making one fails, those made before are removed and the error raised)."""
    made, head = [], os.path.abspath(path)
    while not os.path.lexists(head):
        made.append(head)
        head = os.path.dirname(head)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        remove_folders(made)
        raise
    return made


def remove_folders(folders):
    """Removes `folders` (innermost first) that are still empty; one another run now uses
    stays."""
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            pass


class FolderConflict(ValueError):
    """The run folder holds another configuration, or another process is writing it."""


def may_change(params):
    """MAY_CHANGE, and --epoch for SelfGNN and HardGNN (Params and HardParams, which carry
    no --model, are one of them)."""
    extendable = ("epoch",) if getattr(params, "model", "selfgnn") in ("selfgnn",
                                                                        "hardgnn") else ()
    return MAY_CHANGE + extendable


def config_of(params):
    """The flags that define the run of `params`, as a JSON-ready dict."""
    skip = may_change(params)
    return {name: getattr(params, name) for name, *_ in params.specs if name not in skip}


def fingerprint(config):
    """SHA-256 of the config's canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()


def read_json(path, fix):
    """The JSON object in `path`, or None if there is none; a damaged file is an error
    naming the file and `fix`."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise FolderConflict(f"{path}: cannot be read ({e}); {fix}") from e


def _stored_flags(run_dir, warn):
    """The flags of the run in `run_dir` (config.json, else results.json), or None."""
    for name, key in ((CONFIG, "config"), ("results.json", "flags")):
        try:
            stored = read_json(os.path.join(run_dir, name), "")
        except FolderConflict as e:
            warn(f"warning: {str(e).rstrip('; ')}; checking the flags against the other files")
            continue
        if stored and stored.get(key) is not None:
            return stored[key]
    return None


def _differences(mine, theirs):
    """'--name stored (this command: value)' per differing flag, --model first."""
    names = sorted((n for n in set(mine) & set(theirs) if mine[n] != theirs[n]),
                   key=lambda n: (n != "model", n))
    return [f"--{n} {theirs[n]!r} (this command: {mine[n]!r})" for n in names]


def inspect(run_dir, params, warn=print):
    """'new', 'resume', 'finished' or 'start_over' for `params` in `run_dir`.

    Raises FolderConflict when the folder holds a run with other defining flags and
    `--resume` is on.
    """
    if not os.path.isdir(run_dir) or not any(os.path.exists(os.path.join(run_dir, f))
                                             for f in RUN_FILES):
        return "new"
    if not params.resume:
        return "start_over"
    theirs = _stored_flags(run_dir, warn)
    if theirs is not None:
        skip = may_change(params)
        diff = _differences(config_of(params), {k: v for k, v in theirs.items() if k not in skip})
        if diff:
            more = f" and {len(diff) - 1} more ({'; '.join(diff[1:3])})" if len(diff) > 1 else ""
            raise FolderConflict(
                f"{run_dir} holds a run with {diff[0]}{more}; pass another --save_path for "
                f"this configuration, or --noresume to start that folder over")
    try:
        results = read_json(os.path.join(run_dir, "results.json"), "")
    except FolderConflict as e:
        warn(f"warning: {str(e).rstrip('; ')}; the run resumes from its latest checkpoint")
        return "resume"
    if results and results.get("status") == "finished":
        done = results.get("flags", {}).get("epoch")
        if "epoch" not in may_change(params) or done is None or params.epoch <= done:
            return "finished"
    return "resume"


def finished_message(run_dir):
    """One line for a finished run: where its results are, its reported test metrics."""
    results = read_json(os.path.join(run_dir, "results.json"), "")
    best = results.get("best") or results.get("final_test") or {}
    shown = ", ".join(f"{k} {best[k]:.4f}" for k in ("HR", "NDCG") if k in best)
    at = f" (epoch {best['epoch']}: {shown})" if "epoch" in best else f" ({shown})" if shown else ""
    return (f"{run_dir} holds this run, finished{at}; its results are in "
            f"{os.path.join(run_dir, 'results.json')}. Pass --noresume to run it again")


class Claim:
    """The lock on a run folder and, once `commit` is called, its config.json."""

    def __init__(self, run_dir, params):
        self.run_dir, self.params = run_dir, params
        self.created, self.made_lock = [], False
        self.fd = None

    def acquire(self):
        self.created = make_folders(self.run_dir)
        path = os.path.join(self.run_dir, LOCK)
        self.made_lock = not os.path.exists(path)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            pid = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            self.fd, self.created, self.made_lock = None, [], False
            raise FolderConflict(f"{self.run_dir} is being written by another process (pid "
                                 f"{pid}); wait for it to end, or pass another --save_path")
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def commit(self, start_over):
        """The run begins: its config is written; `start_over` removes a previous run's files."""
        if start_over:
            for name in RUN_FILES:
                path = os.path.join(self.run_dir, name)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                elif os.path.lexists(path):
                    os.remove(path)
        from selfgnn import recovery
        config = config_of(self.params)
        recovery.write_json_atomic(os.path.join(self.run_dir, CONFIG),
                                   {"config": config, "fingerprint": fingerprint(config)})
        self.created, self.made_lock = [], False

    def release(self):
        """Unlocks; before `commit`, also removes what `acquire` created."""
        if self.made_lock:
            try:
                os.remove(os.path.join(self.run_dir, LOCK))
            except OSError:
                pass
        remove_folders(self.created)
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


@contextlib.contextmanager
def claim(run_dir, params):
    """`with claim(run_dir, params) as c:` holds the folder's lock; call `c.commit(...)`
    once the run has loaded what it needs (a failed load leaves nothing behind)."""
    c = Claim(run_dir, params).acquire()
    try:
        yield c
    finally:
        c.release()
