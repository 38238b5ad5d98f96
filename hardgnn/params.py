"""HardGNN's flags, added to SelfGNN's table (`selfgnn.params.FLAG_SPECS`)."""
from absl import flags

from selfgnn import params

HARD_FLAG_SPECS = (
    ("model", "enum:auto|selfgnn|hardgnn", "auto",
     "auto: HardGNN when a HardGNN flag is given, else SelfGNN"),
    ("hard_k", "int", 5, "K: negatives per anchor for the InfoNCE term"),
    ("cl_weight", "float", 0.1, "lambda: weight of the InfoNCE term (0: exactly SelfGNN)"),
    ("cl_temp", "float", 0.1, "tau: InfoNCE temperature (the original's --temp keeps its meaning)"),
    ("hard_anchor", "enum:sequence|short_term|long_term", "sequence",
     "anchor: sequence-branch output, the user's latest interval-graph embedding, or the "
     "long-term user embedding"),
    ("neg_mode", "enum:hard|random", "hard",
     "hard: top-K cosine among never-interacted items; random: K uniform never-interacted "
     "items (the 'without hard negatives' ablation)"),
    ("hard_in_rec", "bool", False, "also use the mined items as the ranking loss's negatives"),
)
HARD_NAMES = tuple(name for name, _, _, _ in HARD_FLAG_SPECS if name != "model")
ALL_SPECS = params.FLAG_SPECS + HARD_FLAG_SPECS
HardParams = params.make_params_class(ALL_SPECS, "HardParams")


def check_hard_params(p):
    """Bounds of the HardGNN flags (hard_k against the data is checked by the model)."""
    if p.hard_k < 1:
        raise ValueError(f"--hard_k must be >= 1, got {p.hard_k}")
    if p.cl_weight < 0:
        raise ValueError(f"--cl_weight must be >= 0, got {p.cl_weight}")
    if p.cl_temp <= 0:
        raise ValueError(f"--cl_temp must be > 0, got {p.cl_temp}")
    return p


def define_flags(flag_values=flags.FLAGS):
    params.define_flags(flag_values, ALL_SPECS)


def from_flags(flag_values=flags.FLAGS):
    """Checked HardParams; `--model auto` becomes hardgnn iff a HardGNN flag was given."""
    p = params.from_flags(flag_values, HardParams)
    if p.model == "auto":
        given = any(flag_values[name].present for name in HARD_NAMES)
        p = p.replace(model="hardgnn" if given else "selfgnn")
    return check_hard_params(p)


def preset_params(data, **overrides):
    """HardParams for `data` (preset applied) with `overrides`; model defaults to hardgnn."""
    overrides.setdefault("model", "hardgnn")
    return check_hard_params(params.preset_params(data, HardParams, **overrides))
