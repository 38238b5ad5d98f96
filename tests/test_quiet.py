"""TensorFlow's start-up noise: silenced at --tf_log_level 3, shown at 0."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def import_tf(level):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = ("import os; from selfgnn import quiet; tf = quiet.import_tensorflow(%d); "
            "print(tf.constant(2) * 3); os.write(2, b'after\\n')" % level)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=dict(env, PYTHONPATH=ROOT), timeout=120)


@pytest.mark.slow
def test_level_3_silences_the_import_and_restores_stderr():
    proc = import_tf(3)
    assert proc.returncode == 0 and "tf.Tensor(6" in proc.stdout
    assert proc.stderr == "after\n"  # nothing from TensorFlow; stderr works again


@pytest.mark.slow
def test_level_0_shows_tensorflow_s_own_lines():
    proc = import_tf(0)
    assert proc.returncode == 0
    assert proc.stderr.endswith("after\n") and len(proc.stderr.splitlines()) > 1


def test_stderr_silenced_restores_the_descriptor(capfd):
    from selfgnn import quiet
    with quiet.stderr_silenced():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"
