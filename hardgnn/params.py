"""HardGNN's flags, added to SelfGNN's table (`selfgnn.params.FLAG_SPECS`).

`HardParams` is SelfGNN's configuration plus these; `run/main.py`'s command line
(`selfgnn.main_flags`) adds them beside the baselines' and `--model`.
"""
from selfgnn import params

HARD_FLAG_SPECS = (
    ("hard_k", "int", 5, "K: negatives per anchor for the InfoNCE term"),
    ("cl_weight", "float", 0.1, "lambda: weight of the InfoNCE term (0: exactly SelfGNN)"),
    ("cl_temp", "float", 0.1, "tau: InfoNCE temperature (the original's --temp keeps its meaning)"),
    ("hard_anchor", "enum:sequence|short_term|long_term", "sequence",
     "anchor: sequence-branch output, the user's latest interval-graph embedding, or the "
     "long-term user embedding"),
    ("neg_mode", "enum:hard|random|dns|mix|ppr", "hard",
     "hard: top-K cosine among never-interacted items; random: K uniform never-interacted "
     "items (the 'without hard negatives' ablation); dns: each ranking pair's negative is the "
     "best-scoring of --dns_pool uniform never-interacted items; mix: that item mixed with "
     "the positive (--mix_alpha); ppr: K items of the user's --ppr_band of personalized "
     "PageRank ranks"),
    ("hard_in_rec", "bool", False, "also use the mined items as the ranking loss's negatives"),
    ("dns_pool", "int", 16, "H: candidates per ranking pair for --neg_mode dns and mix"),
    ("rec_loss", "enum:hinge|bpr", "hinge",
     "ranking loss: hinge max(0, 1 - f d) (SelfGNN's) or BPR -ln sigmoid(f d), "
     "d = score(pos) - score(neg), f = 1 - soft_alpha"),
    ("soft_alpha", "float", 0.0, "SDNS soft factor alpha in [0, 1): f = 1 - alpha"),
    ("mix_alpha", "float", 0.5,
     "--neg_mode mix: the negative embedding is alpha e_pos + (1 - alpha) e_neg"),
    ("ppr_band", "str", "0.02,0.1",
     "--neg_mode ppr: LOW,HIGH rank fractions of the catalogue (0.02,0.1 = ranks 2% to 10%)"),
    ("curriculum", "bool", False,
     "at epoch n (from 1) use only min(n - 1, hard_k) hard negatives per user (PinSAGE)"),
    ("shared_negatives", "bool", False,
     "one set of negatives per batch for all users (PinSAGE; what the published HardGNN "
     "code effectively did)"),
)
STRATEGIES = {
    "hard": dict(neg_mode="hard"),
    "random": dict(neg_mode="random"),
    "hard_in_rec": dict(neg_mode="hard", hard_in_rec=True),
    "dns": dict(neg_mode="dns"),
    "sdns": dict(neg_mode="dns", rec_loss="bpr", soft_alpha=0.5),
    "mix": dict(neg_mode="mix"),
    "ppr": dict(neg_mode="ppr"),
    "curriculum": dict(neg_mode="hard", hard_in_rec=True, curriculum=True),
    "shared": dict(neg_mode="hard", shared_negatives=True),
}
"""Named negative-sampling strategies (HardGNN flags) for `run/grid_search.py --strategies`."""
HARD_NAMES = tuple(name for name, _, _, _ in HARD_FLAG_SPECS)
ALL_SPECS = params.FLAG_SPECS + HARD_FLAG_SPECS
HardParams = params.make_params_class(ALL_SPECS, "HardParams")


def parse_band(text):
    """`--ppr_band LOW,HIGH` -> (low, high), rank fractions with 0 <= low < high <= 1."""
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--ppr_band must be LOW,HIGH (two rank fractions such as "
                         f"0.02,0.1), got {text!r}") from None
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"--ppr_band needs 0 <= LOW < HIGH <= 1, got {text!r}")
    return low, high


def check_hard_params(p):
    """Bounds of the HardGNN flags (hard_k against the data is checked by the model)."""
    if p.hard_k < 1:
        raise ValueError(f"--hard_k must be >= 1, got {p.hard_k}")
    if p.cl_weight < 0:
        raise ValueError(f"--cl_weight must be >= 0, got {p.cl_weight}")
    if p.cl_temp <= 0:
        raise ValueError(f"--cl_temp must be > 0, got {p.cl_temp}")
    if p.dns_pool < 1:
        raise ValueError(f"--dns_pool must be >= 1, got {p.dns_pool}")
    for name in ("soft_alpha", "mix_alpha"):
        if not 0.0 <= getattr(p, name) < 1.0:
            raise ValueError(f"--{name} must be in [0, 1), got {getattr(p, name)}")
    parse_band(p.ppr_band)
    if p.hard_in_rec and p.neg_mode in ("dns", "mix"):
        raise ValueError(f"--hard_in_rec does nothing with --neg_mode {p.neg_mode}, which "
                         f"chooses the ranking negatives itself; drop one of them")
    if p.shared_negatives and p.neg_mode == "ppr":
        raise ValueError("--shared_negatives is not available with --neg_mode ppr (each "
                         "user has its own PPR band); use hard, random, dns or mix")
    return p


def preset_params(data, **overrides):
    """HardParams for `data` (preset applied) with `overrides`."""
    return check_hard_params(params.preset_params(data, HardParams, **overrides))
