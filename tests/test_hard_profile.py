"""bench/hard_profile.py: its parts compute what HardGNN's step computes, and its table."""
import numpy as np

from hardgnn.model import HardGNN
from selfgnn import main_flags, trainer
from tests import scripts
from tests.tiny_trainer import tiny_trainer

hard_profile = scripts.load("bench/hard_profile.py", "hard_profile")


def test_the_draw_part_mines_the_negatives_of_the_step(tiny_data_dir, tmp_path):
    t = tiny_trainer(tiny_data_dir, tmp_path, HardGNN, preset=main_flags.preset_params,
                     model="hardgnn", hard_k=3, cl_weight=0.1,
                     keepRate=1.0)  # no dropout: both calls see one model
    p = t.params
    batch = t.sampler.train_batch(t.sampler.epoch_users()[:p.batch])
    parts = hard_profile.parts(t.model, [trainer.batch_spec(p)])
    mined = parts["draw"](batch).numpy()                              # [B, K]
    assert mined.shape == (p.batch, 3)
    np.testing.assert_array_equal(mined, t.model.forward(batch, True)["draws"]["mined"])
    assert parts["item_values"](batch)[3].shape == (t.data.num_items, p.latdim)


def test_markdown_by_hand():
    text = hard_profile.markdown({"selfgnn_step": 0.5, "hardgnn_step": 0.8, "graph_stage": 0.1,
                                  "item_values": 0.3, "draw": 0.35})
    assert "| HardGNN's extra | 0.300 |" in text
    assert "| item stage over every item, no gradient (item_values - graph_stage) | 0.200 |" in text
    assert "| user rows + draw_negatives (draw - item_values) | 0.050 |" in text
    assert text.count("\n| ") == 6
