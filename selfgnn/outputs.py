"""What a run writes for people and tools, besides its resumable state (`recovery`).

In `<out_dir>/<save_path>/`:
- `best/`: `tf.train.CheckpointManager` of the model with the best NDCG (the
  original's `Models/<save_path>`) and `history.his`, the original's metrics dict
  (TrainLoss, TestHR, ...) pickled at the same moments (`History/<save_path>.his`);
- `per_user.csv`: each test user's rank and HR/NDCG at the reported epoch;
- `results.json`: flags, every epoch's losses and metrics, the best epoch and the
  final test, rewritten atomically after every epoch (strict JSON);
- `log.txt`: the log lines; `tensorboard/`: scalars per epoch;
- `--export_tf1_checkpoint PREFIX`: the best model as the original's TF1 checkpoint.
"""
import os
import pickle

import tensorflow as tf

from selfgnn import published, recovery, tf1_checkpoint
from selfgnn.logs import write_scalar


class RunOutputs:
    """The files above for one run folder; `open` once the folder is claimed."""

    def __init__(self, run_dir, checkpoint, log):
        self.run_dir, self.checkpoint, self.log = run_dir, checkpoint, log

    def path(self, name):
        return os.path.join(self.run_dir, name)

    def open(self):
        """Opens log.txt, the best/ manager and the TensorBoard writer."""
        with recovery.writing(self.run_dir):
            self.log.open(self.path("log.txt"))
            self.best = tf.train.CheckpointManager(self.checkpoint, self.path("best"),
                                                   max_to_keep=1)
            self.writer = tf.summary.create_file_writer(self.path("tensorboard"))

    def save_best(self, step, history, save_path):
        """`saveHistory`: the best model and the metrics dict."""
        recovery.save_checkpoint(self.best, step)
        recovery.write_atomic(self.path("history.his"), lambda f: pickle.dump(history, f),
                              binary=True)
        self.log("Model Saved: %s" % save_path)

    def write_results(self, results):
        recovery.write_json_atomic(self.path("results.json"), results)

    def scalars(self, epoch, splits):
        """TensorBoard scalars `<split>/<name>` of epoch `epoch`; splits: {split: {name: value}}."""
        with self.writer.as_default():
            for split, values in splits.items():
                for name, val in (values or {}).items():
                    write_scalar(f"{split}/{name}", val, epoch)
        with recovery.writing(self.path("tensorboard")):
            self.writer.flush()

    def published_comparison(self, data, result, what, results):
        """After the `max` line, for the paper's data sets: `result` beside the published
        rows, printed and kept in `results`."""
        comparison = published.compare(data, result)
        if comparison is None:
            return
        for line in published.side_by_side(comparison, what):
            self.log.plain(line)
        results["published_comparison"] = dict(comparison, ours_are=what)

    def export_tf1(self, path, model, optimizer):
        """`--export_tf1_checkpoint`: the best model (else the current one) in the original's
        variable names, readable by its `tf.compat.v1.train.Saver`."""
        if self.best.latest_checkpoint:
            self.checkpoint.restore(self.best.latest_checkpoint)
        with recovery.writing(path):
            tf1_checkpoint.export_tf1(path, model, optimizer)
        self.log("TF1 checkpoint written: %s" % path)
