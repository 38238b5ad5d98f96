"""Log lines in the original's format, the progress bar and TensorBoard scalars."""
import datetime
import sys

import tensorflow as tf
from tensorflow.core.framework import summary_pb2


class Logger:
    """`Utils/TimeLogger.log`: '<datetime>: <msg>' lines, also appended to a file.

    Lines logged before `open` are written to the file when it opens, so a run's
    log.txt starts with its first line although the folder is claimed later.
    """

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.file = None
        self.pending = []
        self.interactive = getattr(self.stream, "isatty", lambda: False)()

    def open(self, path):
        self.file = open(path, "a", encoding="utf-8")
        self._write("".join(self.pending))
        self.pending = []

    def _write(self, text):
        if self.file:
            self.file.write(text)
            self.file.flush()
        else:
            self.pending.append(text)

    def __call__(self, msg, oneline=False):
        line = "%s: %s" % (datetime.datetime.now(), msg)
        if oneline:  # the original's '\r' progress lines; kept off log files and pipes
            if self.interactive:
                print(line, end="\r", file=self.stream, flush=True)
            return
        print(line, file=self.stream, flush=True)
        self._write(line + "\n")

    def plain(self, msg=""):
        """A bare print() of the original (no time stamp)."""
        print(msg, file=self.stream, flush=True)
        self._write(msg + "\n")


def progress_bar(done, total, width=20):
    """'[#####...............]  25%' for the terminal progress line."""
    filled = width * done // max(total, 1)
    return "[%s%s] %3d%%" % ("#" * filled, "." * (width - filled), 100 * done // max(total, 1))


def make_print(name, ep, total_epochs, reses):
    """`makePrint`: 'Epoch 3/150, Test: HR = 0.3712, NDCG = 0.2177  '."""
    ret = "Epoch %d/%d, %s: " % (ep, total_epochs, name)
    for metric, val in reses.items():
        ret += "%s = %.4f, " % (metric, val)
    return ret[:-2] + "  "


_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class=summary_pb2.DATA_CLASS_SCALAR)


def write_scalar(tag, value, step):
    """A TensorBoard scalar via core `tf.summary.write` (tf.summary.scalar needs the
    tensorboard package, which TensorFlow no longer installs)."""
    tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=_SCALAR_METADATA)
