"""Runs that differ only in their seed, as one row: mean, std, 95% CI and a paired test.

A row is every finished run with the same configuration (all flags but those in
`NOT_CONFIG`: the seed and where things are written). Per metric it reports the mean
over seeds, the sample standard deviation (ddof 1) and the half-width of the 95%
Student-t confidence interval of the mean, t_{0.975, n-1} * std / sqrt(n) (none for
one seed). Two rows on the same test users are compared by a **paired t-test over
users** (`scipy.stats.ttest_rel`, two-sided): each user's metric is first averaged over
the row's seeds (from each run's `per_user.csv`), so the test asks whether the two
models differ on the same users, the noise between seeds included in each user's mean.
"""
import csv
import json
import math
import os

import numpy as np
from scipy import stats

from selfgnn import main_flags, recovery
from selfgnn.published import METRICS

NOT_CONFIG = ("seed", "save_path", "out_dir", "data_dir", "resume", "uid",
              "export_tf1_checkpoint", "deterministic", "nan_policy", "max_skipped",
              "tf_log_level", "preset", "fast_kernels")
"""Flags that do not make two runs different configurations."""

MODEL_LABELS = {"selfgnn": "SelfGNN", "mostpop": "MostPop", "itemknn": "ItemKNN",
                "bprmf": "BPR-MF", "lightgcn": "LightGCN", "sasrec": "SASRec",
                "gru4rec": "GRU4Rec"}


def model_label(flags):
    """'SelfGNN', 'HardGNN K=3 lambda=0.1', 'SASRec', ... from a run's flags; ', paper
    sequence branch' where --sequence_branch paper."""
    model = flags.get("model", "selfgnn")
    paper = ", paper sequence branch" if flags.get("sequence_branch") == "paper" else ""
    if model == "hardgnn":
        return (f"HardGNN K={flags['hard_k']} lambda={flags['cl_weight']:g}"
                + (f" {flags['neg_mode']}" if flags.get("neg_mode", "hard") != "hard" else "")
                + paper)
    return MODEL_LABELS.get(model, model) + paper


DEFAULTS = {name: default for name, _, default, _ in main_flags.SPECS}


def config_key(flags):
    """The run's configuration: its flags without NOT_CONFIG, as a hashable string. A flag
    at its default counts as absent, so that a run written before the flag existed is
    the same configuration as one at its default."""
    return json.dumps({k: v for k, v in flags.items() if k not in NOT_CONFIG
                       and not (k in DEFAULTS and v == DEFAULTS[k])}, sort_keys=True)


def mean_ci(values, level=0.95):
    """{'mean', 'std', 'ci', 'n'} of `values`; std and ci are NaN for fewer than 2 values."""
    x = np.asarray(values, np.float64)
    n = len(x)
    if n == 0:
        raise ValueError("no values to aggregate")
    if n < 2:
        return {"mean": float(x.mean()), "std": math.nan, "ci": math.nan, "n": n}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * std / math.sqrt(n))
    return {"mean": float(x.mean()), "std": std, "ci": half, "n": n}


def paired_p(a, b):
    """Two-sided p-value of the paired t-test between per-user values `a` and `b`.

    NaN for fewer than 2 users; where the statistic is undefined (zero variance of the
    differences): 1.0 when the two rows are identical, 0.0 when every user differs by the
    same non-zero amount.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need the same users: {a.shape} vs {b.shape}")
    diff = a - b
    if len(diff) < 2:
        return math.nan
    if not np.any(diff):
        return 1.0
    if np.all(diff == diff[0]):
        return 0.0
    return float(stats.ttest_rel(a, b).pvalue)


def read_per_user(run_dir):
    """(users [n] int, {metric: [n] float}) from `<run_dir>/per_user.csv`."""
    path = os.path.join(run_dir, recovery.PER_USER)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: missing (written with the reported epoch by this "
                                f"version of run/main.py; rerun the run to get it)")
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    users = np.array([int(r["user"]) for r in rows], np.int64)
    order = np.argsort(users, kind="stable")
    return users[order], {m: np.array([float(r[m]) for r in rows])[order] for m in METRICS}


class Row:
    """The runs of one configuration: label, data set, protocol, seeds and their values."""

    def __init__(self, results, run_dir):
        flags = results["flags"]
        self.key = config_key(flags)
        self.label = model_label(flags)
        self.dataset = flags["data"]
        self.protocol = flags.get("protocol", "original")
        self.runs = []
        self._per_user = None  # per_user_mean(), read once
        self.add(results, run_dir)

    def add(self, results, run_dir):
        values = results.get("best") or results.get("final_test")
        if not values:
            raise ValueError(f"{run_dir}: no test result yet (status {results.get('status')})")
        self.runs.append({"dir": run_dir, "seed": results["flags"].get("seed"),
                          "values": {m: values[m] for m in METRICS}})
        self._per_user = None

    @property
    def seeds(self):
        return [r["seed"] for r in self.runs]

    def cells(self):
        """{metric: mean_ci over the seeds}."""
        return {m: mean_ci([r["values"][m] for r in self.runs]) for m in METRICS}

    def per_user_mean(self):
        """(users, {metric: per-user value averaged over the seeds}), read once."""
        if self._per_user is None:
            self._per_user = self._read_per_user_mean()
        return self._per_user

    def _read_per_user_mean(self):
        users, sums = None, None
        for run in self.runs:
            u, cols = read_per_user(run["dir"])
            if users is None:
                users, sums = u, {m: cols[m].copy() for m in METRICS}
                continue
            if not np.array_equal(u, users):
                raise ValueError(f"{run['dir']}: other test users than {self.runs[0]['dir']}")
            for m in METRICS:
                sums[m] += cols[m]
        return users, {m: v / len(self.runs) for m, v in sums.items()}


def group_runs(paths):
    """Rows from `results.json` paths (finished runs only), in first-seen order."""
    rows = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
        if results.get("status") != "finished":
            continue
        run_dir = os.path.dirname(path)
        key = config_key(results["flags"])
        if key in rows:
            rows[key].add(results, run_dir)
        else:
            rows[key] = Row(results, run_dir)
    return list(rows.values())


def compare_rows(row, reference, metric):
    """Paired p-value of `row` against `reference` on `metric` (the same test users)."""
    users_a, a = row.per_user_mean()
    users_b, b = reference.per_user_mean()
    if not np.array_equal(users_a, users_b):
        raise ValueError(f"{row.label} and {reference.label} were tested on other users")
    return paired_p(a[metric], b[metric])
