"""Where a run starts: resumed, loaded with --load_model (the original's rule), or new."""
import pickle

import numpy as np
import pytest
import tensorflow as tf

from selfgnn import params, starting
from tests.tiny_trainer import tiny_trainer


class FakeLatest:
    def __init__(self, state):
        self.state = state

    def load(self):
        return self.state


def start(mode, latest=None, **overrides):
    lines = []
    p = params.preset_params("tiny", **overrides)
    return starting.start(p, mode, latest or FakeLatest(None), None, None, None,
                          lines.append), lines


def test_a_new_run_starts_at_epoch_zero():
    s, lines = start("new")
    assert s == starting.Start(0, None, False, None, None) and lines == ["Variables Inited"]


def test_resume_continues_after_the_saved_epoch_inside_the_next():
    state = {"checkpoint": "latest/ckpt-7", "epoch_done": 4, "history": {"TrainLoss": [1.0]},
             "mid_epoch": {"epoch": 5, "step": 2}}
    s, lines = start("resume", FakeLatest(state))
    assert (s.epoch, s.mid, s.resumed, s.history) == (5, {"epoch": 5, "step": 2}, True,
                                                      {"TrainLoss": [1.0]})
    assert lines == ["Resumed from latest/ckpt-7: epoch 5, step 2"]


def test_resume_without_an_intact_state_starts_new():
    s, lines = start("resume")
    assert (s.epoch, s.resumed) == (0, False) and lines == ["Variables Inited"]


def test_missing_model_to_load(tmp_path):
    with pytest.raises(FileNotFoundError, match="--load_model absent: no saved model"):
        start("new", load_model="absent", out_dir=str(tmp_path))


@pytest.mark.parametrize("train_losses,tst_epoch,epoch", [(0, 1, 0), (1, 1, 1), (3, 1, 3),
                                                           (3, 5, 11), (1, 5, 1)])
def test_load_model_start_epoch_is_the_originals(tmp_path, train_losses, tst_epoch, epoch):
    """len(TrainLoss) * tstEpoch - (tstEpoch - 1), at least 0."""
    v = tf.Variable([1.0, 2.0])
    ckpt = tf.train.Checkpoint(v=v)
    tf.train.CheckpointManager(ckpt, str(tmp_path / "a" / "best"), 1).save()
    with open(tmp_path / "a" / "history.his", "wb") as f:
        pickle.dump({"TrainLoss": [0.5] * train_losses}, f)
    v.assign([0.0, 0.0])
    lines = []
    history, start_epoch = starting.load_model(ckpt, str(tmp_path), "a", tst_epoch, lines.append)
    assert start_epoch == epoch and history == {"TrainLoss": [0.5] * train_losses}
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
    assert lines == ["Model Loaded"]


def test_load_model_of_another_model_says_what_to_do(tmp_path):
    tf.train.CheckpointManager(tf.train.Checkpoint(w=tf.Variable([1.0])),
                               str(tmp_path / "a" / "best"), 1).save()
    (tmp_path / "a" / "history.his").write_bytes(pickle.dumps({"TrainLoss": []}))
    other = tf.train.Checkpoint(x=tf.Variable([[1.0]]))
    with pytest.raises(ValueError, match="--load_model a: .* cannot be read .*same model flags"):
        starting.load_model(other, str(tmp_path), "a", 1, print)


@pytest.mark.slow
def test_load_model_restores_weights_and_continues_where_the_original_would(tiny_data_dir,
                                                                            tmp_path):
    first = tiny_trainer(tiny_data_dir, tmp_path, epoch=1, tstEpoch=1, save_path="a")
    assert first.run()["best"]["epoch"] == 0  # saved after epoch 0: the final weights
    saved = {n: v.numpy().copy() for n, v in first.model.tf1_variables()}
    saved_step = int(first.optimizer.step.numpy())
    second = tiny_trainer(tiny_data_dir, tmp_path, epoch=4, tstEpoch=1, save_path="b",
                          load_model="a")
    # len(TrainLoss) * tstEpoch - (tstEpoch - 1) = 1 * 1 - 0
    history, start_epoch = starting.load_model(second.checkpoint, str(tmp_path), "a", 1, print)
    assert start_epoch == 1 and len(history["TrainLoss"]) == 1
    for name, var in second.model.tf1_variables():
        np.testing.assert_array_equal(var.numpy(), saved[name])
    assert int(second.optimizer.step.numpy()) == saved_step
    results = tiny_trainer(tiny_data_dir, tmp_path, epoch=4, tstEpoch=1, save_path="c",
                           load_model="a").run()
    assert [e["epoch"] for e in results["epochs"]] == [1, 2, 3]

