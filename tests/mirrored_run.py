"""Helper of test_distribute.py, run in its own process (logical devices must be set
before TensorFlow starts): trains tiny data with one strategy on 2 logical CPUs and
prints its results, node embeddings and weights as JSON, and which interval graphs
each replica propagated while tracing ("one" outside a strategy's replicas).

    python tests/mirrored_run.py DATA_DIR OUT_DIR STRATEGY MODEL [FLAG=VALUE ...]
"""
import json
import os
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from hardgnn.model import HardGNN
from selfgnn import data_handler, main_flags, trainer
from selfgnn.model import SelfGNN


def recording(cls, propagated):
    """`cls` that notes (replica or "one", graph) for each graph it propagates."""
    def _propagate(self, k, item_rows, user_rows):
        context = tf.distribute.get_replica_context()
        where = "one" if context is None or context.num_replicas_in_sync == 1 else str(
            tf.get_static_value(context.replica_id_in_sync_group))
        propagated.setdefault(where, set()).add(k)
        return cls._propagate(self, k, item_rows, user_rows)
    return type(cls.__name__, (cls,), {"_propagate": _propagate})


def main(data_dir, out_dir, strategy, model, *overrides):
    extra = dict(hard_k=2, cl_weight=0.1) if model == "hardgnn" else {}
    for line in overrides:
        name, value = line.split("=")
        extra[name] = {"True": True, "False": False}.get(value, value)
    p = main_flags.preset_params("tiny", data_dir=data_dir, out_dir=out_dir, epoch=2,
                                 tstEpoch=1, strategy=strategy, model=model, **extra)
    data = data_handler.load_dataset(os.path.join(data_dir, "tiny"), p.graphNum, p.testSize)
    propagated = {}
    cls = recording(HardGNN if model == "hardgnn" else SelfGNN, propagated)
    t = trainer.Trainer(p, data, model_cls=cls, logger=trainer.Logger(open(os.devnull, "w")))
    result = t.run()
    nodes = t.eval_nodes()
    print(json.dumps({
        "replicas": t.strategy.num_replicas_in_sync,
        "propagated": {where: sorted(ks) for where, ks in propagated.items()},
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
