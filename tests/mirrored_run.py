"""Helper of test_distribute.py, run in its own process (logical devices must be set
before TensorFlow starts): trains tiny data with one strategy on 2 logical CPUs and
prints its results, node embeddings and weights as JSON."""
import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from hardgnn.model import HardGNN
from selfgnn import data_handler, main_flags, trainer
from selfgnn.model import SelfGNN


def main(data_dir, out_dir, strategy, model):
    extra = dict(hard_k=2, cl_weight=0.1) if model == "hardgnn" else {}
    p = main_flags.preset_params("tiny", data_dir=data_dir, out_dir=out_dir, epoch=2,
                                 tstEpoch=1, strategy=strategy, model=model, **extra)
    data = data_handler.load_dataset(os.path.join(data_dir, "tiny"), p.graphNum, p.testSize)
    t = trainer.Trainer(p, data, model_cls=HardGNN if model == "hardgnn" else SelfGNN,
                        logger=trainer.Logger(open(os.devnull, "w")))
    result = t.run()
    nodes = t.eval_nodes()
    print(json.dumps({
        "replicas": t.strategy.num_replicas_in_sync,
        "epochs": [{"train": e["train"], "test": e["test"]} for e in result["epochs"]],
        "final_user": nodes.final_user.numpy().tolist(),
        "final_item": nodes.final_item.numpy().tolist(),
        "weights": {n: v.numpy().tolist() for n, v in t.model.tf1_variables()},
        "copies_equal": all(
            all((c.numpy() == v.values[0].numpy()).all() for c in v.values)
            for v in t.variables if hasattr(v, "values")),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
