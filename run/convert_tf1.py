"""Convert an original TF1 checkpoint into the port's run folder.

    python run/convert_tf1.py --tf1_checkpoint Models/amazon --save_path amazon_tf1 \\
        [--history History/amazon.his]

writes `Runs/amazon_tf1/best/` (a `tf.train.Checkpoint` of model and optimizer)
and `Runs/amazon_tf1/history.his`, so that `python run/main.py --data amazon
--load_model amazon_tf1` evaluates or continues it (from the epoch the original
would resume at when its history file is given, else from epoch 0). The model's
sizes (graphNum, gnn_layer, att_layer, latdim, ssldim, pos_length, users, items)
are read from the checkpoint's shapes; the other flags are run/main.py's.
"""
import os
import pickle
import shutil
import sys

import numpy as np
from absl import app, flags, logging

from selfgnn import params

params.define_flags()
flags.DEFINE_string("tf1_checkpoint", None, "prefix of the original's checkpoint")
flags.DEFINE_string("history", None, "the original's History/<save_path>.his (optional)")
flags.mark_flag_as_required("tf1_checkpoint")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    import tensorflow as tf

    from selfgnn import tf1_checkpoint, trainer
    from selfgnn.model import SelfGNN
    from selfgnn.optimizer import TF1Adam
    try:
        sizes = tf1_checkpoint.structure(FLAGS.tf1_checkpoint)
        users, items = sizes.pop("users"), sizes.pop("items")
        config = params.from_flags(FLAGS).replace(**sizes)
        empty = (np.zeros(1, np.int32), np.zeros(1, np.int32))
        model = SelfGNN(config, users, items, [empty] * config.graphNum)
        optimizer = TF1Adam([(n, v) for n, v in model.tf1_variables() if v.trainable],
                            config.lr, config.decay, config.decay_step)
        loaded = tf1_checkpoint.load_tf1(FLAGS.tf1_checkpoint, model, optimizer)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    run_dir = os.path.join(config.out_dir, config.save_path)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, "best"), max_to_keep=1).save(
        checkpoint_number=int(optimizer.step.numpy()))
    history = os.path.join(run_dir, "history.his")
    if FLAGS.history:
        shutil.copyfile(FLAGS.history, history)
    else:
        with open(history, "wb") as f:
            pickle.dump({key: [] for key in trainer.HISTORY_KEYS}, f)
    print(f"{FLAGS.tf1_checkpoint}: {loaded}; sizes {dict(sizes, users=users, items=items)}")
    print(f"written to {run_dir}: use --load_model {config.save_path} with the same sizes")
    return 0


if __name__ == "__main__":
    app.run(main, argv=params.normalize_bool_args(sys.argv))
