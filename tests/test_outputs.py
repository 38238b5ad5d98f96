"""selfgnn/outputs.py: the files of a run folder, read back."""
import glob
import io
import json
import pickle

import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from selfgnn import published
from selfgnn.logs import Logger
from selfgnn.outputs import RunOutputs


@pytest.fixture
def opened(tmp_path):
    """(outputs, the checkpointed variable, the printed lines) in an empty run folder."""
    var = tf.Variable([1.0, 2.0])
    out = io.StringIO()
    outputs = RunOutputs(str(tmp_path), tf.train.Checkpoint(v=var), Logger(out))
    outputs.log("before the folder opens")
    outputs.open()
    return outputs, var, out


def test_log_file_starts_with_the_lines_logged_before_open(opened, tmp_path):
    outputs, _, _ = opened
    outputs.log.plain("after")
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert lines[0].endswith(": before the folder opens") and lines[1] == "after"


def test_best_checkpoint_and_history_round_trip(opened, tmp_path):
    outputs, var, out = opened
    history = {"TrainLoss": [0.5], "TestHR": [0.25]}
    outputs.save_best(3, history, "tiny")
    var.assign([7.0, 8.0])
    outputs.save_best(4, dict(history, TestHR=[0.25, 0.5]), "tiny")
    assert len(tf.train.get_checkpoint_state(str(tmp_path / "best")).all_model_checkpoint_paths) == 1
    var.assign([0.0, 0.0])
    tf.train.Checkpoint(v=var).restore(outputs.best.latest_checkpoint)
    assert var.numpy().tolist() == [7.0, 8.0]
    with open(tmp_path / "history.his", "rb") as f:
        assert pickle.load(f) == {"TrainLoss": [0.5], "TestHR": [0.25, 0.5]}
    assert "Model Saved: tiny" in out.getvalue()


def test_results_are_strict_json(opened, tmp_path):
    outputs, _, _ = opened
    outputs.write_results({"best": {"HR": 0.5}, "status": "running"})
    assert json.loads((tmp_path / "results.json").read_text()) == {
        "best": {"HR": 0.5}, "status": "running"}


def test_scalars_are_tensorboard_events_per_split(opened, tmp_path):
    outputs, _, _ = opened
    outputs.scalars(2, {"train": {"Loss": 1.5}, "test": {"HR": 0.25}, "valid": None})
    seen = {}
    for path in glob.glob(str(tmp_path / "tensorboard" / "events.*")):
        for record in tf.data.TFRecordDataset(path):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                seen[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert seen == {("train/Loss", 2): 1.5, ("test/HR", 2): 0.25}


def test_published_comparison_is_printed_and_kept_for_paper_data_sets_only(opened):
    outputs, _, out = opened
    result = {"HR10": 0.4, "NDCG10": 0.25, "HR20": 0.5, "NDCG20": 0.27}
    results = {}
    outputs.published_comparison("ml-100k", result, "best epoch", results)
    assert results == {} and "Published numbers" not in out.getvalue()
    outputs.published_comparison("amazon", result, "best epoch", results)
    selfgnn = published.load("amazon", "SelfGNN")[0]
    assert results["published_comparison"]["ours_are"] == "best epoch"
    row = next(r for r in results["published_comparison"]["published"]
               if r["model"] == "SelfGNN")
    assert row["diff"]["HR10"] == pytest.approx(0.4 - selfgnn["HR10"])
    assert "Published numbers for amazon beside this run (best epoch):" in out.getvalue()
