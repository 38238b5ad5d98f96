"""bench/hard_profile.py: its parts compute what HardGNN's step computes, and its table."""
import io
import os

import numpy as np

from hardgnn.model import HardGNN
from selfgnn import data_handler, main_flags, trainer
from tests import scripts

hard_profile = scripts.load("bench/hard_profile.py", "hard_profile")


def test_the_draw_part_mines_the_negatives_of_the_step(tiny_data_dir, tmp_path):
    p = main_flags.preset_params("tiny", data_dir=str(tiny_data_dir), out_dir=str(tmp_path),
                                 model="hardgnn", hard_k=3, cl_weight=0.1,
                                 keepRate=1.0)  # no dropout: both calls see one model
    data = data_handler.load_dataset(os.path.join(tiny_data_dir, "tiny"), p.graphNum,
                                     p.testSize)
    t = trainer.Trainer(p, data, model_cls=HardGNN, logger=trainer.Logger(io.StringIO()))
    batch = t.sampler.train_batch(t.sampler.epoch_users()[:p.batch])
    parts = hard_profile.parts(t.model, [trainer.batch_spec(p)])
    mined = parts["draw"](batch).numpy()                              # [B, K]
    assert mined.shape == (p.batch, 3)
    np.testing.assert_array_equal(mined, t.model.forward(batch, True)["draws"]["mined"])
    assert parts["item_values"](batch)[3].shape == (data.num_items, p.latdim)


def test_markdown_by_hand():
    text = hard_profile.markdown({"selfgnn_step": 0.5, "hardgnn_step": 0.8, "graph_stage": 0.1,
                                  "item_values": 0.3, "draw": 0.35})
    assert "| HardGNN's extra | 0.300 |" in text
    assert "| item stage over every item, no gradient (item_values - graph_stage) | 0.200 |" in text
    assert "| user rows + draw_negatives (draw - item_values) | 0.050 |" in text
    assert text.count("\n| ") == 6
