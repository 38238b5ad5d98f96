"""A Trainer on the generated tiny data set, built one way for every test (not a test module)."""
import io
import os

from selfgnn import data_handler, params, trainer
from selfgnn.model import SelfGNN


def tiny_trainer(data_dir, out_dir, model_cls=SelfGNN, out=None, preset=params.preset_params,
                 **flags):
    """A `trainer.Trainer` of `model_cls` on `<data_dir>/tiny`: the parameters of
    `preset("tiny", ...)` with `flags`; its log lines go to `out` (default: kept in memory)."""
    p = preset("tiny", data_dir=str(data_dir), out_dir=str(out_dir), **flags)
    data = data_handler.load_dataset(os.path.join(str(data_dir), "tiny"), p.graphNum, p.testSize)
    return trainer.Trainer(p, data, model_cls=model_cls,
                           logger=trainer.Logger(io.StringIO() if out is None else out))
