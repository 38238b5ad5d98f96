"""The baselines' flags, added to SelfGNN's by `selfgnn.main_flags` (`run/main.py --model`)."""

FLAG_SPECS = (
    ("baseline_grid", "bool", True,
     "baselines: try the model's built-in hyperparameter grid and keep the point with the best "
     "validation NDCG (--nobaseline_grid: the model's defaults only)"),
    ("baseline_patience", "int", 0,
     "baselines: stop a grid point once this many tested epochs in a row gave no better "
     "validation NDCG (0: train every --epoch epoch)"),
)
NAMES = tuple(name for name, *_ in FLAG_SPECS)


def check(p):
    """`p` if its baseline flags are in range, else a ValueError naming the fix."""
    if p.baseline_patience < 0:
        raise ValueError(f"--baseline_patience must be >= 0 (0: no early stop), got "
                         f"{p.baseline_patience}")
    return p
