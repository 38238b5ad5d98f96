"""Crash safety: the `latest` state of a run, atomic writes, graceful stop.

After every epoch (and on SIGINT/SIGTERM, after the current step) the trainer
saves a checkpoint in `<run>/latest/` holding the model, the optimizer with its
step, the TF random generators and the run's state as one JSON string (the epoch,
a mid-epoch position if any, the numpy generator's state, the best-so-far record,
the history and the results), then a readable copy of that state in
`<run>/latest_state.json`. The two newest checkpoints are kept; a resume takes the
newest one that restores and falls back to the older one with a warning naming the
damaged file, so neither JSON file is needed to resume and a moved run folder
resumes too.
"""
import contextlib
import glob
import json
import math
import os
import re
import shutil
import signal
import threading

from selfgnn import metrics


class NonFiniteError(RuntimeError):
    """A NaN or Inf in the loss or the gradients (--nan_policy stop)."""


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived; the state was saved after the current step."""

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = signum


class WriteError(RuntimeError):
    """A file of the run folder could not be written (disk full, quota, permissions)."""


class StateError(ValueError):
    """The run folder has checkpoints in `latest/` and none of them restores."""


def _write_error(path, reason):
    return WriteError(f"cannot write {path} ({reason}); free space there or pass another "
                      f"--out_dir, then run the same command again: the last saved state is kept")


@contextlib.contextmanager
def writing(path, tf_errors=True):
    """Turns an OS write failure (and, with `tf_errors`, a TensorFlow one: the block only
    writes) at `path` into one WriteError."""
    try:
        yield
    except OSError as e:
        raise _write_error(e.filename or path, e.strerror or e) from e
    except Exception as e:
        import tensorflow as tf
        if not (tf_errors and isinstance(e, tf.errors.OpError)):
            raise
        raise _write_error(path, e.message.strip().splitlines()[0]) from e


@contextlib.contextmanager
def ending_recorded(results, path, log):
    """Records how a run ended early, then lets the error go on.

    A StopRequested, NonFiniteError or WriteError inside the block sets `results`'
    status ("stopped" for a signal, else "failed") and error, writes them to the JSON
    file `path` and logs the message. If that write fails too (the disk is still
    full), the original error is what is raised: it is the one that explains the run.
    """
    try:
        yield
    except (StopRequested, NonFiniteError, WriteError) as e:
        results.update(status="stopped" if isinstance(e, StopRequested) else "failed",
                       error=str(e))
        try:
            write_json_atomic(path, results)
            log(str(e))
        except (WriteError, OSError):
            pass
        raise


def write_atomic(path, write, binary=False):
    """`write(file)` to a temporary file, synced, then renamed over `path`; the temporary
    file is removed if anything fails, and an OS failure is one WriteError."""
    tmp = f"{path}.tmp{os.getpid()}"
    with writing(path):
        try:
            with open(tmp, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def strict(obj):
    """`obj` with every non-finite float as None: strict JSON that any parser reads."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


def write_json_atomic(path, obj):
    """`obj` as strict JSON (NaN and Inf written as null), atomically."""
    write_atomic(path, lambda f: json.dump(strict(obj), f, indent=1, allow_nan=False))


PER_USER = "per_user.csv"
"""The reported epoch's per-user test metrics in a run folder (`write_per_user`)."""


def write_per_user(run_dir, users, ranks, epoch):
    """`<run_dir>/per_user.csv`: user, epoch, rank and HR/NDCG at 5, 10, 20, atomically."""
    cols = metrics.per_user(ranks)

    def write(f):
        f.write(",".join(["user", "epoch", "rank"] + list(cols)) + "\n")
        for i, (user, rank) in enumerate(zip(users, ranks)):
            f.write(",".join([str(int(user)), str(int(epoch)), str(int(rank))]
                             + [repr(float(c[i])) for c in cols.values()]) + "\n")
    write_atomic(os.path.join(run_dir, PER_USER), write)


def run_status(run_dir):
    """The `status` in `<run_dir>/results.json` ('running', 'finished', ...), None if there
    is no such file, 'unreadable' if it is damaged (a rerun resumes from `latest/`)."""
    path = os.path.join(run_dir, "results.json")
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("status")
    except (OSError, ValueError, AttributeError):
        return "unreadable"


def results_files(root):
    """The path of every `results.json` under `root`, in sorted folder order."""
    return [os.path.join(folder, "results.json") for folder, _, files in sorted(os.walk(root))
            if "results.json" in files]


STATE_KEY = "run_state/.ATTRIBUTES/VARIABLE_VALUE"
"""The run state's tensor in a `latest/` checkpoint."""


class LatestState:
    """The resumable state of one run folder: `latest/` checkpoints that carry the state."""

    def __init__(self, run_dir, *, warn=print, **objects):
        """`objects`: the trackables to checkpoint (model=..., optimizer=...)."""
        import tensorflow as tf  # here, so that run/sweep.py can use run_status without TF
        self.run_dir, self.warn = run_dir, warn
        self.path = os.path.join(run_dir, "latest_state.json")
        self.directory = os.path.join(run_dir, "latest")
        self.state = tf.Variable("", dtype=tf.string, trainable=False)
        self.objects = objects
        self.checkpoint = tf.train.Checkpoint(run_state=self.state, **objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=2)

    def save(self, state, step):
        """Checkpoint `ckpt-<step>` with the state in it, then its readable copy."""
        self.state.assign(json.dumps(state))
        path = save_checkpoint(self.manager, step)
        write_json_atomic(self.path, dict(state, checkpoint=os.path.relpath(path, self.run_dir)))
        return path

    def prefixes(self):
        """The checkpoint prefixes in `latest/`, newest first (a file of each suffices)."""
        if not os.path.isdir(self.directory):
            return []
        steps = set()
        for name in os.listdir(self.directory):
            match = re.match(r"ckpt-(\d+)\.(index|data-)", name)
            if match:
                steps.add(int(match.group(1)))
        return [os.path.join(self.directory, f"ckpt-{n}") for n in sorted(steps, reverse=True)]

    def _read(self, prefix):
        """Restores `prefix` and returns the run state it carries. A checkpoint written
        before the state moved into it (no `run_state`) is read with its
        `latest_state.json`, which must name it."""
        import tensorflow as tf
        if tf.train.load_checkpoint(prefix).has_tensor(STATE_KEY):
            self.checkpoint.restore(prefix).assert_existing_objects_matched()
            return json.loads(self.state.numpy().decode())
        with open(self.path, encoding="utf-8") as f:
            state = json.load(f)
        if os.path.basename(state["checkpoint"]) != os.path.basename(prefix):
            raise ValueError(f"written before the state moved into the checkpoints, and "
                             f"latest_state.json names {state['checkpoint']}")
        tf.train.Checkpoint(**self.objects).restore(prefix).assert_existing_objects_matched()
        return state

    def load(self):
        """The state of the newest checkpoint that restores (its values restored), or None
        if `latest/` holds none; StateError if none of them restores."""
        damaged = []
        for prefix in self.prefixes():
            try:
                state = self._read(prefix)
            except Exception as e:  # noqa: BLE001 (OpError, IndexError, AssertionError, ...)
                damaged.append(f"{os.path.relpath(prefix, self.run_dir)} "
                               f"({str(e).strip().splitlines()[0][:120]})")
                continue
            for bad in damaged:
                self.warn(f"warning: {bad} is damaged; resuming from the older "
                          f"{os.path.relpath(prefix, self.run_dir)}")
            return dict(state, checkpoint=prefix)
        if damaged:
            raise StateError(f"no checkpoint in {self.directory} restores: {'; '.join(damaged)}; "
                             f"pass --noresume to start the run over")
        return None


def remove_latest(run_dir):
    """Removes the resumable state of `run_dir`: `latest/` and `latest_state.json`."""
    with writing(run_dir):
        _remove(os.path.join(run_dir, "latest"))
        _remove(os.path.join(run_dir, "latest_state.json"))


def save_checkpoint(manager, step):
    """`manager.save` as `ckpt-<step>`; a failed write is one WriteError and leaves no
    temporary files (the checkpoints saved before stay)."""
    with writing(manager.directory):
        try:
            return manager.save(checkpoint_number=step)
        finally:
            for tmp in glob.glob(os.path.join(manager.directory, "*_temp*")):
                _remove(tmp)


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


class StopSignal:
    """Within `with StopSignal() as stop:`, SIGINT/SIGTERM set `stop.received` instead of
    killing the process (main thread only; previous handlers restored on exit)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):
        self.received = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False
