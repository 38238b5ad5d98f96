"""TensorFlow without its start-up noise (`--tf_log_level`).

TensorFlow 2.21 prints its oneDNN and CUDA banner twice on import, whatever
TF_CPP_MIN_LOG_LEVEL says (the lines come before its logging is set up), and a
`cuInit` error when it probes for a GPU on a machine without one. At level 3
(the default) both happen with the process's stderr pointed at /dev/null; any
Python error on the way is still raised, with stderr restored.
"""
import contextlib
import os


@contextlib.contextmanager
def stderr_silenced():
    """File descriptor 2 points at /dev/null inside the block (C++ output included)."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow(level):
    """Imports TensorFlow at C++ log `level` (0-3; TF_CPP_MIN_LOG_LEVEL wins if set) and
    lists its devices, silently at 3; returns the module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(level))
    quiet = int(os.environ["TF_CPP_MIN_LOG_LEVEL"]) >= 3
    with stderr_silenced() if quiet else contextlib.nullcontext():
        import tensorflow as tf
        tf.config.list_physical_devices()
    return tf
