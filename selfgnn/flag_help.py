"""What a person reads about the flags: `--help` grouped, and a run's describing line.

`usage(groups)` prints (title, specs) groups of the flag tables (`selfgnn.params`,
`hardgnn.params`, `baselines.params`) with their defaults and help; `describe(p, model)`
is the line a run logs after `Start`, naming the model and its key flags.
"""
from selfgnn.params import FLAG_SPECS

DATA_FLAGS = ("data", "data_dir", "preset", "percent", "allow_empty_graphs", "testSize",
              "graphNum", "protocol", "eval_history", "val_item", "select_on", "test")
RUN_FLAGS = ("save_path", "out_dir", "seed", "epoch", "tstEpoch", "resume", "deterministic",
             "nan_policy", "max_skipped", "load_model", "load_tf1_checkpoint",
             "export_tf1_checkpoint", "strategy", "spread_graphs", "jit_compile",
             "mixed_precision", "uid", "tf_log_level")
"""The flags `usage` lists under *Data and protocol* and *Run*; the rest are the model's."""


KEY_FLAGS = ("data", "seed", "protocol", "epoch", "lr", "batch", "latdim", "graphNum")
HARD_KEY_FLAGS = ("hard_k", "cl_weight", "cl_temp", "neg_mode", "hard_anchor")
"""The flags a run's second log line names (HardGNN's for a HardGNN run)."""


def describe(p, model):
    """'Model hardgnn: --data amazon --seed 100 ... --hard_k 3 --cl_weight 0.1 ...'.

    `model`: the trained class's NAME (selfgnn or hardgnn).
    """
    names = KEY_FLAGS + (HARD_KEY_FLAGS if model == "hardgnn" else ())
    return f"Model {model}: " + " ".join(f"--{n} {getattr(p, n)}" for n in names)


def usage(groups, doc=""):
    """`--help`: `doc`, then each (title, specs) group's flags with default and help."""
    lines = [doc.strip(), ""] if doc else []
    for title, specs in groups:
        lines.append(f"{title}:")
        for name, kind, default, help_text in specs:
            kind = kind.replace("enum:", "")
            lines.append(f"  --{name} ({kind}, default {default!r})")
            lines.append(f"      {help_text}")
        lines.append("")
    return "\n".join(lines)


def help_groups(specs=FLAG_SPECS):
    """SelfGNN's flags as (title, specs): the model, data and protocol, the run."""
    pick = {name: spec for spec in specs for name in [spec[0]]}
    data = [pick[n] for n in DATA_FLAGS if n in pick]
    run = [pick[n] for n in RUN_FLAGS if n in pick]
    model = [s for s in specs if s[0] not in DATA_FLAGS + RUN_FLAGS]
    return [("SelfGNN model (the original's flags; --data NAME applies its shell script)", model),
            ("Data and protocol", data), ("Run", run)]
