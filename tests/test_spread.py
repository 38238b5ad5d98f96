"""bench/spread.py: the replicas' gradients add up to the batch's, and its table."""
import numpy as np
import tensorflow as tf

from selfgnn import main_flags
from tests import scripts
from tests.tiny_trainer import tiny_trainer

spread = scripts.load("bench/spread.py", "bench_spread")


def test_replica_gradients_sum_to_the_whole_batch(tiny_data_dir, tmp_path):
    """What the bench times for replica 0 of R is a real part of the step: the R
    replicas' gradients sum to the whole batch's (R = 1)."""
    t = tiny_trainer(tiny_data_dir, tmp_path, preset=main_flags.preset_params,
                     keepRate=1.0)  # no dropout: every call sees the same model
    batch = t.sampler.train_batch(t.sampler.epoch_users()[:t.params.batch])
    whole = spread.replica_gradients(t.model, t.variables, batch, 1)
    parts = [spread.replica_gradients(t.model, t.variables, batch, 3, r) for r in range(3)]
    for i, want in enumerate(whole):
        got = sum(tf.convert_to_tensor(p[i]) for p in parts if p[i] is not None)
        np.testing.assert_allclose(got, tf.convert_to_tensor(want), rtol=1e-4, atol=1e-6)


def test_markdown_rows():
    result = {"graph_s": 0.1, "replica_s": {1: 0.5, 2: 0.4, 4: 0.35, 8: 0.3},
              "spread_s": {1: 0.5, 2: 0.34, 4: 0.27, 8: 0.22},
              "speedup": {1: 1.0, 2: 1.47, 4: 1.85, 8: 2.27}}
    text = spread.markdown(result, 5)
    assert "the graph stage alone 0.100 s of one device's 0.500 s; G = 5" in text
    assert "| 2 | 0.400 | 0.340 | 1.47 |" in text
    assert text.count("\n| ") == 5  # the header and four replica counts
