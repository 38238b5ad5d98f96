"""--strategy: sharding by hand, shard losses summing to the batch's, mirrored = one device."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from hardgnn import params as hard_params
from hardgnn.model import HardGNN
from selfgnn import distribute
from selfgnn.model import SelfGNN
from selfgnn.sampler import TrainBatch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def hand_batch():
    # 4 rows; rows 0, 1 and 3 have pairs (row 2 none): positives then negatives.
    rows = np.array([0, 0, 1, 3, 3, 3], np.int32)
    return TrainBatch(
        uids=np.concatenate([rows + 10, rows + 10]).astype(np.int32),
        iids=np.array([1, 1, 2, 4, 4, 4, 7, 8, 9, 5, 6, 0], np.int32),
        u_locs=np.concatenate([rows, rows]),
        sequence=np.arange(1, 13, dtype=np.int32).reshape(4, 3),
        mask=np.array([[0, 1, 1], [1, 1, 1], [0, 0, 0], [0, 0, 1]], np.float32),
        ssl_uids=(np.arange(10, dtype=np.int32),), ssl_iids=(np.arange(10, 20, dtype=np.int32),))


@pytest.mark.parametrize("replica,uids,iids,ssl", [
    (0, [10, 10, 11, 10, 10, 11], [1, 1, 2, 7, 8, 9], [0, 1, 2, 5, 6, 7]),
    (1, [13, 13, 13, 13, 13, 13], [4, 4, 4, 5, 6, 0], [3, 4, 8, 9]),
])
def test_shard_batch_by_hand(replica, uids, iids, ssl):
    part, shard = distribute.shard_batch(hand_batch(), tf.constant(replica), 2, 4)
    np.testing.assert_array_equal(part.uids, uids)
    np.testing.assert_array_equal(part.iids, iids)
    np.testing.assert_array_equal(part.u_locs, np.array(uids) - 10)  # global rows kept
    np.testing.assert_array_equal(part.ssl_uids[0], ssl)  # pair (i, 5 + i) stays together
    np.testing.assert_array_equal(part.ssl_iids[0], np.array(ssl) + 10)
    assert (float(shard.pairs), float(shard.rows), float(shard.first)) == (6.0, 3.0,
                                                                          float(replica == 0))
    # the history keeps its 4 rows; the other block's rows are emptied (item 0, mask 0)
    mine = np.arange(4) // 2 == replica
    batch = hand_batch()
    np.testing.assert_array_equal(part.sequence, np.where(mine[:, None], batch.sequence, 0))
    np.testing.assert_array_equal(part.mask, np.where(mine[:, None], batch.mask, 0))


def tiny_model(cls, **kw):
    rng = np.random.default_rng(0)
    U, I = 7, 9
    p = hard_params.preset_params(
        "none", graphNum=2, gnn_layer=2, att_layer=2, latdim=8, num_attention_heads=2, ssldim=4,
        pos_length=5, batch=4, reg=0.01, ssl_reg=0.1, keepRate=0.5, seed=3, **kw)
    edges = [(rng.integers(0, U, 12).astype(np.int32), rng.integers(0, I, 12).astype(np.int32))
             for _ in range(2)]
    if cls is HardGNN:
        train = np.zeros((U, I), np.float32)
        train[rng.integers(0, U, 15), rng.integers(0, I, 15)] = 1
        return HardGNN(p, U, I, edges, train)
    return SelfGNN(p, U, I, edges)


def model_batch():
    rows = np.array([0, 0, 1, 3, 3, 3], np.int32)
    rng = np.random.default_rng(1)
    seq = rng.integers(0, 9, (4, 5)).astype(np.int32)
    return TrainBatch(
        uids=np.concatenate([rows, rows]) + 1, iids=rng.integers(0, 9, 12).astype(np.int32),
        u_locs=np.concatenate([rows, rows]), sequence=seq,
        mask=(rng.random((4, 5)) < 0.7).astype(np.float32),
        ssl_uids=tuple(rng.integers(0, 7, 8).astype(np.int32) for _ in range(2)),
        ssl_iids=tuple(rng.integers(0, 9, 8).astype(np.int32) for _ in range(2)))


@pytest.mark.parametrize("cls,kw", [(SelfGNN, dict()),
                                    (SelfGNN, dict(sequence_branch="paper")),
                                    (HardGNN, dict(hard_k=2, cl_weight=0.5,
                                                   sequence_branch="paper")),
                                    (HardGNN, dict(hard_k=2, cl_weight=0.5)),
                                    (HardGNN, dict(hard_k=2, cl_weight=0.5,
                                                   hard_in_rec=True))])
@pytest.mark.parametrize("replicas", [2, 3])
def test_shard_terms_and_gradients_sum_to_the_whole_batch(cls, kw, replicas):
    model = tiny_model(cls, **kw)
    batch = model_batch()
    masks = model.dropout_masks()  # the same dropout for the whole batch and every shard
    variables = [v for _, v in model.tf1_variables()]
    with tf.GradientTape() as tape:
        whole = model.compute_loss(batch, training=True, masks=masks)
    whole_grads = tape.gradient(whole["Loss"], variables)
    sums, grads = {}, [0.0] * len(variables)
    for r in range(replicas):
        part, shard = distribute.shard_batch(batch, tf.constant(r), replicas, 4)
        with tf.GradientTape() as tape:
            terms = model.compute_loss(part, training=True, shard=shard, masks=masks)
        for g_sum, (i, g) in zip(list(grads), enumerate(tape.gradient(terms["Loss"], variables))):
            grads[i] = g_sum + (0.0 if g is None else tf.convert_to_tensor(g))
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v)
    for k, v in whole.items():
        assert sums[k] == pytest.approx(float(v), rel=1e-5), k
    for want, got in zip(whole_grads, grads):
        want = 0.0 if want is None else tf.convert_to_tensor(want)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def run_strategy(data_dir, out_dir, strategy, model, *overrides):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "mirrored_run.py"),
                           str(data_dir), str(out_dir), strategy, model, *overrides],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def one_device(tiny_data_dir, tmp_path_factory):
    """model -> its run on the default strategy (one run per model for the module)."""
    runs = {}

    def get(model):
        if model not in runs:
            runs[model] = run_strategy(tiny_data_dir, tmp_path_factory.mktemp("one"), "default",
                                       model)
        return runs[model]
    return get


@pytest.mark.parametrize("model,spread", [("selfgnn", True), ("hardgnn", True),
                                          ("selfgnn", False)])
@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device(tiny_data_dir, one_device, tmp_path,
                                                         model, spread):
    """2 epochs on tiny data, dropout on (keepRate 0.5), same seed; with --spread_graphs
    replica 0 propagates graphs 0 and 1 of tiny's 3, replica 1 graph 2, and the test
    pass (outside the replicas, "one") all of them.

    Tolerance: losses rel 1e-5, test metrics equal, node embeddings rel 1e-4. Raw
    weights are not compared: the sequence branch attends over one token, so the
    gradients of its query/key layers are float rounding noise, which Adam scales
    to full-size steps on one device and on two alike (they never change a score).
    """
    one = one_device(model)
    two = run_strategy(tiny_data_dir, tmp_path / "two", "mirrored", model,
                       f"spread_graphs={spread}")
    assert (one["replicas"], two["replicas"]) == (1, 2)
    assert one["propagated"] == {"one": [0, 1, 2]}
    assert two["propagated"] == ({"0": [0, 1], "1": [2], "one": [0, 1, 2]} if spread else
                                 {"0": [0, 1, 2], "1": [0, 1, 2], "one": [0, 1, 2]})
    assert two["copies_equal"]  # both replicas hold the same weights after training
    for a, b in zip(one["epochs"], two["epochs"]):
        assert a["test"] == b["test"]
        for key, value in a["train"].items():
            assert b["train"][key] == pytest.approx(value, rel=1e-5), key
    for key in ("final_user", "final_item"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-5)
    # The graph embeddings and the LSTM get real gradients: they agree too.
    for name in ("uEmbed", "iEmbed", "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel"):
        np.testing.assert_allclose(two["weights"][name], one["weights"][name], rtol=1e-4,
                                   atol=1e-5)


def test_worker_index_from_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert distribute.worker_index() == 0
    cluster = {"worker": ["a:1", "b:2", "c:3"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": 2}}))
    assert distribute.worker_index() == 2
    cluster["chief"] = ["z:0"]
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": 0}}))
    assert distribute.worker_index() == 1
