"""Checkpoints of the original TF1 code (`tf.train.Saver`, `Models/<save_path>`).

The port's variables carry the original's names in its creation order
(`SelfGNN.tf1_variables()`, ../shared/TF1_CHECKPOINT_VARIABLES.md), so a TF1
checkpoint maps onto them by name. The optimizer state is optional: `NAME/Adam`,
`NAME/Adam_1`, `beta1_power`, `beta2_power` and the global step `Variable` are
loaded when present, so training continues where the original stopped (the
learning-rate decay included).
"""
import os

import tensorflow as tf

OPTIMIZER_SCALARS = ("Variable", "beta1_power", "beta2_power")


class CheckpointMismatch(ValueError):
    """A TF1 checkpoint does not fit the model: the message lists every problem."""


def _reader(path):
    try:
        return tf.train.load_checkpoint(path)
    except (tf.errors.OpError, ValueError) as e:  # OpError itself: 'not an sstable'
        raise CheckpointMismatch(f"{path}: not a readable TF checkpoint ({e}); give the "
                                 f"prefix the original's Saver wrote, e.g. Models/amazon") from e


def _slot_names(optimizer):
    for name, m, v in zip(optimizer.names, optimizer.m, optimizer.v):
        yield f"{name}/Adam", m
        yield f"{name}/Adam_1", v


def load_tf1(path, model, optimizer=None):
    """Assigns a TF1 checkpoint to `model` (and `optimizer` if it holds Adam state).

    Every model variable must be present with the same shape and the checkpoint
    must hold nothing else than model and Adam variables; otherwise one
    CheckpointMismatch names every missing, extra and mis-shaped variable.
    Returns a short description of what was loaded.
    """
    reader = _reader(path)
    stored = reader.get_variable_to_shape_map()
    expected = dict(model.tf1_variables())
    slots = dict(_slot_names(optimizer)) if optimizer is not None else {}
    known = set(expected) | set(slots) | set(OPTIMIZER_SCALARS)
    problems = []
    missing = sorted(set(expected) - set(stored))
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    extra = sorted(n for n in stored if n not in known and not n.endswith(("/Adam", "/Adam_1")))
    if extra:
        problems.append(f"extra: {', '.join(extra)}")
    for name, var in expected.items():
        if name in stored and list(stored[name]) != var.shape.as_list():
            problems.append(f"{name}: checkpoint shape {list(stored[name])}, model shape "
                            f"{var.shape.as_list()}")
    if problems:
        raise CheckpointMismatch(f"{path} does not fit the model ({'; '.join(problems)}); check "
                                 f"--data, --graphNum, --gnn_layer, --att_layer, --latdim, "
                                 f"--ssldim and --pos_length against the original run")
    for name, var in expected.items():
        var.assign(reader.get_tensor(name))
    loaded = f"{len(expected)} model variables"
    if optimizer is not None and all(n in stored for n in list(slots) + list(OPTIMIZER_SCALARS)):
        for name, var in slots.items():
            var.assign(reader.get_tensor(name))
        optimizer.step.assign(int(reader.get_tensor("Variable")))
        optimizer.beta1_power.assign(reader.get_tensor("beta1_power"))
        optimizer.beta2_power.assign(reader.get_tensor("beta2_power"))
        loaded += f", Adam state at step {int(optimizer.step.numpy())}"
    return loaded


def export_tf1(path, model, optimizer=None):
    """Writes the model (and Adam state) under the original's names at prefix `path`.

    Every variable has the original's dtype (float32; the global step int32, as the
    original's `tf.Variable(0, trainable=False)`), so a TF1 `tf.train.Saver().restore
    (sess, path)` in the original code loads it; a `checkpoint` state file next to it
    names it as the latest.
    """
    named = list(model.tf1_variables())
    if optimizer is not None:
        named += list(_slot_names(optimizer))
        step = tf.cast(optimizer.step, tf.int32)  # the original's tf.Variable(0): int32 (line 248)
        named += [("Variable", step), ("beta1_power", optimizer.beta1_power),
                  ("beta2_power", optimizer.beta2_power)]
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tf.raw_ops.SaveV2(prefix=path, tensor_names=[n for n, _ in named],
                      shape_and_slices=[""] * len(named),
                      tensors=[tf.convert_to_tensor(v) for _, v in named])
    base = os.path.basename(path)
    with open(os.path.join(directory, "checkpoint"), "w", encoding="utf-8") as f:
        f.write(f'model_checkpoint_path: "{base}"\nall_model_checkpoint_paths: "{base}"\n')
    return path


def structure(path):
    """Model sizes implied by a TF1 checkpoint's shapes (to rebuild a model without data)."""
    shapes = _reader(path).get_variable_to_shape_map()
    try:
        graphs, users, latdim = shapes["uEmbed"]
        items = shapes["iEmbed"][1]
    except KeyError as e:
        raise CheckpointMismatch(f"{path}: no {e} variable; not a SelfGNN checkpoint") from e
    unused = sum(n.startswith("defaultParamName") and "/" not in n for n in shapes)
    norms = sum(n.startswith("LayerNorm") and n.endswith("/beta") for n in shapes)
    return dict(users=users, items=items, graphNum=graphs, latdim=latdim,
                gnn_layer=unused // (2 * graphs), att_layer=norms - 4,
                ssldim=shapes["meta2"][1], pos_length=shapes["posEmbed"][0])

