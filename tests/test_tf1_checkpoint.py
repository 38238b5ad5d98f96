"""Original TF1 checkpoints: load, evaluate against NumPy, export, round trip, CLI."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from selfgnn import params, tf1_checkpoint
from selfgnn.model import SelfGNN
from selfgnn.optimizer import TF1Adam
from tests.numpy_reference import act, np_nodes, np_sequence
from tests.tiny_trainer import tiny_trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
U, I = 7, 9
CONFIG = dict(graphNum=2, gnn_layer=2, att_layer=2, latdim=8, num_attention_heads=2, ssldim=4,
              pos_length=5, batch=4, seed=3)


def edges():
    rng = np.random.default_rng(0)
    return [(rng.integers(0, U, 12).astype(np.int32), rng.integers(0, I, 12).astype(np.int32))
            for _ in range(2)]


def fresh_model(seed=3):
    model = SelfGNN(params.preset_params("none", **dict(CONFIG, seed=seed)), U, I, edges())
    optimizer = TF1Adam([(n, v) for n, v in model.tf1_variables()], 1e-3, 0.96, 19)
    return model, optimizer


def write_tf1(path, values, with_adam=False):
    """A checkpoint written by a TF1 graph-mode Saver, as the original writes it."""
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.get_variable(name, initializer=tf.constant(value))
                     for name, value in values.items()]
        if with_adam:
            for name, value in values.items():
                for slot in ("Adam", "Adam_1"):
                    variables.append(tf.compat.v1.get_variable(
                        f"{name}/{slot}", initializer=tf.constant(np.full_like(value, 0.5))))
            variables += [tf.compat.v1.get_variable("Variable", initializer=tf.constant(57)),
                          tf.compat.v1.get_variable("beta1_power", initializer=tf.constant(0.25)),
                          tf.compat.v1.get_variable("beta2_power", initializer=tf.constant(0.75))]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, path)


def random_values(seed=9):
    rng = np.random.default_rng(seed)
    model, _ = fresh_model()
    return {n: rng.normal(0, 0.3, v.shape).astype(np.float32) for n, v in model.tf1_variables()}


def scores(model):
    nodes = model.node_embeddings(training=False)
    seq = np.array([[0, 0, 3, 1, 2], [0, 4, 5, 6, 7]] + [[0] * 5] * 2, np.int32)
    mask = (np.arange(5)[None, :] >= np.array([[2], [1], [5], [5]])).astype(np.float32)
    users = np.array([1, 2, 0, 0], np.int32)
    cands = np.array([[0, 1, 2], [3, 4, 5], [0, 0, 0], [0, 0, 0]], np.int32)
    return model.candidate_scores(nodes, users, cands, seq, mask).numpy(), (users, cands, seq,
                                                                            mask)


def test_tf1_checkpoint_loads_and_scores_like_numpy(tmp_path):
    values = random_values()
    write_tf1(str(tmp_path / "Models" / "amazon"), values)
    model, optimizer = fresh_model()
    what = tf1_checkpoint.load_tf1(str(tmp_path / "Models" / "amazon"), model, optimizer)
    assert what == f"{len(values)} model variables"
    for name, var in model.tf1_variables():
        np.testing.assert_array_equal(var.numpy(), values[name])
    got, (users, cands, seq, mask) = scores(model)
    _, _, fu, fi = np_nodes(model, edges())
    att = np_sequence(model, fi, seq, mask)
    expected = (np.einsum("bd,bcd->bc", fu[users], fi[cands])
                + np.einsum("bd,bcd->bc", act(att), fi[cands]))
    np.testing.assert_allclose(got[:2], expected[:2], rtol=1e-3, atol=1e-3)
    assert int(optimizer.step.numpy()) == 0  # no Adam state in this checkpoint


def test_adam_state_is_loaded_when_present(tmp_path):
    write_tf1(str(tmp_path / "m"), random_values(), with_adam=True)
    model, optimizer = fresh_model()
    what = tf1_checkpoint.load_tf1(str(tmp_path / "m"), model, optimizer)
    assert what.endswith("Adam state at step 57")
    assert optimizer.beta1_power.numpy() == 0.25 and optimizer.beta2_power.numpy() == 0.75
    assert all(np.all(m.numpy() == 0.5) for m in optimizer.m + optimizer.v)


@pytest.mark.parametrize("change,message", [
    (lambda v: v.pop("meta3Bias"), "missing: meta3Bias"),
    (lambda v: v.update(extraWeight=np.zeros(3, np.float32)), "extra: extraWeight"),
    (lambda v: v.update(posEmbed=np.zeros((6, 8), np.float32)),
     r"posEmbed: checkpoint shape \[6, 8\], model shape \[5, 8\]"),
])
def test_mismatches_are_named(tmp_path, change, message):
    values = random_values()
    change(values)
    write_tf1(str(tmp_path / "m"), values)
    model, optimizer = fresh_model()
    with pytest.raises(tf1_checkpoint.CheckpointMismatch, match=message):
        tf1_checkpoint.load_tf1(str(tmp_path / "m"), model, optimizer)


def test_unreadable_checkpoint(tmp_path):
    with pytest.raises(tf1_checkpoint.CheckpointMismatch, match="not a readable TF checkpoint"):
        tf1_checkpoint.load_tf1(str(tmp_path / "nothing"), *fresh_model())


def test_export_import_round_trip_and_tf1_saver_restores_it(tmp_path):
    model, optimizer = fresh_model(seed=11)
    optimizer.step.assign(5)
    path = tf1_checkpoint.export_tf1(str(tmp_path / "out" / "port"), model, optimizer)
    again, again_opt = fresh_model(seed=12)
    assert tf1_checkpoint.load_tf1(path, again, again_opt).endswith("step 5")
    np.testing.assert_array_equal(scores(model)[0], scores(again)[0])
    assert tf.train.latest_checkpoint(str(tmp_path / "out")) == path
    exported = dict(model.tf1_variables())
    exported.update((n, v) for n, v in tf1_checkpoint._slot_names(optimizer))
    exported.update(beta1_power=optimizer.beta1_power, beta2_power=optimizer.beta2_power)
    graph = tf.Graph()  # the original's side: every variable of its graph, its dtypes
    with graph.as_default():
        variables = {name: tf.compat.v1.get_variable(name, shape=var.shape, dtype=tf.float32)
                     for name, var in exported.items()}
        variables["Variable"] = tf.compat.v1.Variable(0, trainable=False)  # model.py line 248
        assert variables["Variable"].dtype.base_dtype == tf.int32
        with tf.compat.v1.Session(graph=graph) as sess:
            tf.compat.v1.train.Saver().restore(sess, path)  # all global variables, as the original
            restored = sess.run(variables)
    assert restored.pop("Variable") == 5
    assert set(restored) == set(exported)
    for name, value in restored.items():
        np.testing.assert_array_equal(value, exported[name].numpy(), err_msg=name)


def test_structure_is_read_from_shapes(tmp_path):
    write_tf1(str(tmp_path / "m"), random_values())
    assert tf1_checkpoint.structure(str(tmp_path / "m")) == dict(
        users=U, items=I, graphNum=2, latdim=8, gnn_layer=2, att_layer=2, ssldim=4, pos_length=5)


@pytest.mark.slow
def test_main_evaluates_a_tf1_checkpoint_with_epoch_0(tiny_data_dir, tmp_path):
    """Train, export under TF1 names, then `run/main.py --epoch 0` prints the same metrics."""
    results = tiny_trainer(tiny_data_dir, tmp_path, epoch=1, tstEpoch=1,
                           export_tf1_checkpoint=str(tmp_path / "tf1" / "m")).run()
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "run", "main.py"), "--data", "tiny",
                           "--data_dir", str(tiny_data_dir), "--out_dir", str(tmp_path / "eval"),
                           "--epoch", "0", "--load_tf1_checkpoint", str(tmp_path / "tf1" / "m")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Model Loaded: " in proc.stdout and "Adam state" in proc.stdout
    m = re.search(r"Epoch 0/0, Test: HR = ([\d.]+), NDCG = ([\d.]+)", proc.stdout)
    best = results["best"]  # the exported model is the best one, epoch 0
    assert (float(m.group(1)), float(m.group(2))) == (round(best["HR"], 4), round(best["NDCG"], 4))
    evaluated = json.loads((tmp_path / "eval" / "tiny" / "results.json").read_text())
    assert evaluated["final_test"] == {k: v for k, v in best.items() if k not in ("epoch", "valid")}


@pytest.mark.slow
def test_convert_tf1_writes_a_run_that_load_model_reads(tmp_path):
    write_tf1(str(tmp_path / "Models" / "m"), random_values(), with_adam=True)
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "run", "convert_tf1.py"),
                           "--tf1_checkpoint", str(tmp_path / "Models" / "m"),
                           "--out_dir", str(tmp_path / "Runs"), "--save_path", "conv"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    model, optimizer = fresh_model(seed=1)
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer)
    ckpt.restore(tf.train.latest_checkpoint(str(tmp_path / "Runs" / "conv" / "best"))).assert_consumed()
    values = random_values()
    for name, var in model.tf1_variables():
        np.testing.assert_array_equal(var.numpy(), values[name])
    assert int(optimizer.step.numpy()) == 57
    assert (tmp_path / "Runs" / "conv" / "history.his").exists()
