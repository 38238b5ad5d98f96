"""The baselines' flags, added to SelfGNN's by `selfgnn.main_flags` (`run/main.py --model`)."""

FLAG_SPECS = (
    ("baseline_grid", "bool", True,
     "baselines: try the model's built-in hyperparameter grid and keep the point with the best "
     "validation NDCG (--nobaseline_grid: the model's defaults only)"),
)
