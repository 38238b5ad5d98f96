"""Where a run starts: resumed from `latest/`, loaded from another run or a TF1 checkpoint, or new.

`start` only reads (the run folder is claimed and cleared after it); the Trainer
applies what it returns. `load_model` is the original's `Recommender.loadModel`.
"""
import collections
import os
import pickle

import tensorflow as tf

from selfgnn import tf1_checkpoint

Start = collections.namedtuple("Start", "epoch mid resumed state history")
"""epoch: the first epoch to train; mid: the position inside it (or None); resumed: from
`latest/`; state: the resumed `recovery.LatestState` dict (or None); history: the metrics
history to continue (or None: a new one)."""


def load_model(checkpoint, out_dir, name, tst_epoch, log):
    """`loadModel`: restores `<out_dir>/<name>/best` into `checkpoint`; returns (history, start).

    The start epoch is the original's `len(TrainLoss) * tstEpoch - (tstEpoch - 1)`
    (at least 0: an empty history, as a converted TF1 model has, starts at epoch 0).
    """
    run_dir = os.path.join(out_dir, name)
    latest = tf.train.latest_checkpoint(os.path.join(run_dir, "best"))
    history_path = os.path.join(run_dir, "history.his")
    if latest is None or not os.path.isfile(history_path):
        raise FileNotFoundError(
            f"--load_model {name}: no saved model in {run_dir} (expected best/ and "
            f"history.his written by a run with --save_path {name})")
    try:
        checkpoint.restore(latest).assert_existing_objects_matched()
        with open(history_path, "rb") as f:
            history = pickle.load(f)
    except (tf.errors.OpError, AssertionError, ValueError, pickle.UnpicklingError,
            EOFError) as e:
        raise ValueError(f"--load_model {name}: {latest} or {history_path} cannot be read "
                         f"({str(e).strip().splitlines()[0][:160]}); load a run with the "
                         f"same model flags, or train it again") from e
    log("Model Loaded")
    return history, max(len(history["TrainLoss"]) * tst_epoch - (tst_epoch - 1), 0)


def load_tf1(path, model, optimizer, log):
    """`--load_tf1_checkpoint`: the original's Saver files into `model` and `optimizer`."""
    try:
        what = tf1_checkpoint.load_tf1(path, model, optimizer)
    except tf.errors.OpError as e:  # an index that reads, data that does not
        raise tf1_checkpoint.CheckpointMismatch(
            f"{path}: not a readable TF checkpoint ({e.message.splitlines()[0][:160]}); give "
            f"the prefix the original's Saver wrote, e.g. Models/amazon") from e
    log("Model Loaded: %s (%s)" % (path, what))


def start(p, mode, latest, checkpoint, model, optimizer, log):
    """The Start of a run in `mode` (`run_folder.inspect`): resume, load or begin."""
    state = latest.load() if mode == "resume" else None
    if state is not None:
        mid = state["mid_epoch"]
        log("Resumed from %s: epoch %d%s" % (state["checkpoint"], state["epoch_done"] + 1,
                                              f", step {mid['step']}" if mid else ""))
        return Start(state["epoch_done"] + 1, mid, True, state, state["history"])
    if p.load_model is not None:
        history, epoch = load_model(checkpoint, p.out_dir, p.load_model, p.tstEpoch, log)
        return Start(epoch, None, False, None, history)
    if p.load_tf1_checkpoint:
        load_tf1(p.load_tf1_checkpoint, model, optimizer, log)
        return Start(0, None, False, None, None)
    log("Variables Inited")
    return Start(0, None, False, None, None)
