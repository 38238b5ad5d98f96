"""Crash safety: the `latest` state of a run, atomic JSON writes, graceful stop.

After every epoch (and on SIGINT/SIGTERM, after the current step) the trainer
saves `<run>/latest/` (a `tf.train.Checkpoint`: model, optimizer with its step,
and the TF random generators) and then `<run>/latest_state.json` (the epoch,
a mid-epoch position if any, the numpy generator's state, the best-so-far record,
the history and the results), each written atomically. The state file names its
checkpoint and the two newest checkpoints are kept, so a kill at any moment leaves
a consistent pair to resume from.
"""
import json
import os
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


def write_json_atomic(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


PER_USER = "per_user.csv"
"""The reported epoch's per-user test metrics in a run folder (`write_per_user`)."""


def write_per_user(run_dir, users, ranks, epoch):
    """`<run_dir>/per_user.csv`: user, epoch, rank and HR/NDCG at 5, 10, 20, atomically."""
    cols = metrics.per_user(ranks)
    path = os.path.join(run_dir, PER_USER)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(",".join(["user", "epoch", "rank"] + list(cols)) + "\n")
        for i, (user, rank) in enumerate(zip(users, ranks)):
            f.write(",".join([str(int(user)), str(int(epoch)), str(int(rank))]
                             + [repr(float(c[i])) for c in cols.values()]) + "\n")
    os.replace(tmp, path)


def run_status(run_dir):
    """The `status` in `<run_dir>/results.json` ('running', 'finished', ...), or None."""
    path = os.path.join(run_dir, "results.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("status")


def results_files(root):
    """The path of every `results.json` under `root`, in sorted folder order."""
    return [os.path.join(folder, "results.json") for folder, _, files in sorted(os.walk(root))
            if "results.json" in files]


class LatestState:
    """The resumable state of one run folder."""

    def __init__(self, run_dir, checkpoint):
        import tensorflow as tf  # here, so that run/sweep.py can use run_status without TF
        self.path = os.path.join(run_dir, "latest_state.json")
        self.checkpoint = checkpoint
        self.manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "latest"),
                                                  max_to_keep=2)

    def save(self, state, step):
        """Checkpoint `ckpt-<step>` first, then the state file that points at it."""
        state = dict(state, checkpoint=self.manager.save(checkpoint_number=step))
        write_json_atomic(self.path, state)
        return state["checkpoint"]

    def load(self):
        """The saved state with its checkpoint restored, or None if there is none."""
        if not os.path.isfile(self.path):
            return None
        with open(self.path, encoding="utf-8") as f:
            state = json.load(f)
        self.checkpoint.restore(state["checkpoint"]).assert_existing_objects_matched()
        return state


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
