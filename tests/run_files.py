"""A finished run folder written by hand, for the aggregation tests (not a test module)."""
import json
import os

import numpy as np

from selfgnn import metrics, recovery


def write_run(root, name, seed, ranks, model="selfgnn", **flags):
    """Writes `root/name` with `per_user.csv` of the 0-based test ranks `ranks` (users 0..n-1)
    and a finished `results.json` whose flags are data "d", protocol original and `flags`;
    returns the results.json path."""
    run_dir = os.path.join(root, name)
    os.makedirs(run_dir)
    users = np.arange(len(ranks))
    recovery.write_per_user(run_dir, users, np.array(ranks), epoch=1)
    cols = {k: float(v.mean()) for k, v in metrics.per_user(np.array(ranks)).items()}
    result = {"flags": dict(dict(data="d", model=model, seed=seed, save_path=name, out_dir=root,
                                 protocol="original", epoch=3), **flags),
              "status": "finished", "best": dict(cols, epoch=1)}
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump(result, f)
    return os.path.join(run_dir, "results.json")
