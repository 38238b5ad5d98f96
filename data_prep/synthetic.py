"""Seeded synthetic data sets in the exact file format of the original SelfGNN code.

The generator reproduces the preprocessing pipeline of the released SelfGNN
notebooks (``preprocess_to_trnmat.ipynb`` and ``preprocess_to_sequence.ipynb``
of HKUDS/SelfGNN, section 2 of the project's reference), starting from
generated instead of downloaded interactions, so tests and benchmarks need no
outside data.  ``<out>/<name>/`` receives four pickle files:

* ``trn_mat_time``: ``[trnMat, subMats, timeMat]``.  ``trnMat`` is a float64
  ``csr_matrix`` (U, I) holding 1.0 per training interaction; ``subMats`` is a
  list of G ``np.intc`` ``csr_matrix`` (one per equal-width time interval of the
  training interactions) holding the unix timestamp of each interaction;
  ``timeMat`` holds the interval index of each training interaction (index 0
  is not stored, as with the original ``dok_matrix`` assignment).
* ``sequence``: per user, all items (0-based) sorted by time, test and
  validation items included (the original builds it before removing them).
* ``tst_int``: per user, the test item (the latest interaction) or ``None``.
* ``test_dict``: 1-based test user id -> ``negatives`` 1-based item ids drawn
  uniformly with replacement, rejecting the user's interacted items.

Test users are ``np.random.RandomState(seed).permutation(U)[:test_users]`` as
in the notebook.  Training interactions exclude the test item of test users and
then the latest remaining (validation) item of every user.

Usage: ``python -m data_prep.synthetic --preset tiny --out /tmp/ds``.
"""
import dataclasses
import os
import sys
import time

import numpy as np
import pandas as pd
from absl import flags

from data_prep import pipeline
from data_prep.readers import DataPrepError
from selfgnn import script_flags

T_MIN = 1388534400  # 2014-01-01 00:00:00 UTC
T_MAX = 1406073600  # 2014-07-23 00:00:00 UTC
FILE_NAMES = pipeline.FILES


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Shape, randomness and latent-structure knobs of a synthetic data set."""

    name: str
    users: int
    items: int
    graphs: int
    test_users: int
    negatives: int
    mean_len: float
    min_len: int = 5
    max_len: int | None = None
    seed: int = 100
    alpha: float = 0.9
    clusters: int | None = None
    fav_share: float = 0.8


# The paper-shaped presets (data-set directory names amazon, gowalla, movielens, yelp).
# users: the original's released pickles (HKUDS/SelfGNN Datasets/*/tst_int has one entry
#   per user: 11,199 / 48,653 / 24,312 / 19,751).
# items: the released pickles' item counts (USER/ITEM of a run on them: the item
#   embeddings of Sovik-Ghosh/SelfGNNplus logdir/*_64/parameters.txt are 30,821 / 52,621 /
#   8,688 / 38,391 rows; the largest test item in each tst_int is below them).  The paper's
#   Table 1 (arXiv 2405.20878) could not be read from here, so these are not its numbers.
# graphs G: graphNum of the original's amazon.sh 5, gowalla.sh 3, movielens.sh 6, yelp.sh 12.
# test_users 10,000 and negatives 999: every release.
# mean_len (interactions / users):
#   gowalla: 1,207,242 / 48,653 = 24.81, from the released pickle: trnMat.nnz 1,148,589
#     (printed by juanyeffrey/HardGNN Google-Colab/HardGNN_Gowalla.ipynb) + one validation
#     item per user (48,653) + one test item per test user (10,000).
#   movielens, yelp: ESTIMATES, no published count found (MovieLens-10M 2002-2009 users with
#     20+ ratings: ~3.65M, 150 per user; Yelp 2009-2019 after the 20:20,15,5 passes: ~790K,
#     40 per user).  Replace them with Table 1's interactions / users when it is read.
PRESETS = {
    "tiny": SyntheticConfig("tiny", 80, 60, 3, 40, 99, 10, 5, 20, 100),
    "small": SyntheticConfig("small", 1000, 800, 4, 500, 199, 20, 5, None, 100),
    "amazonlike": SyntheticConfig("amazon", 11199, 30821, 5, 10000, 999, 33.6, 5, None, 100),
    "gowallalike": SyntheticConfig("gowalla", 48653, 52621, 3, 10000, 999, 24.81, 5, None, 100),
    "movielenslike": SyntheticConfig("movielens", 24312, 8688, 6, 10000, 999, 150.0, 5, None,
                                     100),
    "yelplike": SyntheticConfig("yelp", 19751, 38391, 12, 10000, 999, 40.0, 5, None, 100),
}


def validate(config):
    """Raise ValueError with a one-line, actionable message if config is unusable."""
    checks = [
        (bool(config.name) and os.sep not in config.name and config.name not in (".", ".."),
         f"name {config.name!r} must be a plain directory name; pass e.g. --name mydata"),
        (config.users >= 1, f"users ({config.users}) must be >= 1; raise --users"),
        (config.graphs >= 1, f"graphs ({config.graphs}) must be >= 1; raise --graphs"),
        (1 <= config.test_users <= config.users,
         f"test_users ({config.test_users}) must be between 1 and users ({config.users}); "
         "lower --test_users or raise --users"),
        (config.negatives >= 1, f"negatives ({config.negatives}) must be >= 1; raise --negatives"),
        (config.min_len >= 3, f"min_len ({config.min_len}) must be >= 3 (test, validation and "
         "one training item per user)"),
        (config.mean_len >= config.min_len,
         f"mean_len ({config.mean_len}) must be >= min_len ({config.min_len}); raise --mean_len"),
        (config.max_len is None or config.max_len >= config.min_len,
         f"max_len ({config.max_len}) must be >= min_len ({config.min_len})"),
        (config.items >= 2 * config.min_len,
         f"items ({config.items}) must be >= 2 * min_len ({2 * config.min_len}) so users get "
         "distinct items and negatives can be sampled; raise --items"),
        (config.alpha > 0, f"alpha ({config.alpha}) must be > 0"),
        (0.0 <= config.fav_share <= 1.0, f"fav_share ({config.fav_share}) must be in [0, 1]"),
        (config.clusters is None or 1 <= config.clusters <= config.items,
         f"clusters ({config.clusters}) must be between 1 and items ({config.items})"),
    ]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)


def _cdf(weights):
    """Cumulative distribution of weights whose last entry is exactly 1.0."""
    cdf = np.cumsum(weights) / weights.sum()
    cdf[-1] = 1.0
    return cdf


def _draw_items(rng, config, lengths):
    """Distinct items per user (user-sorted, draw order) from clustered power-law popularity."""
    n_users, n_items = config.users, config.items
    n_clusters = config.clusters or int(np.clip(n_items // 30, 2, 50))
    popularity = (rng.permutation(n_items) + 1.0) ** -config.alpha
    cluster_of = rng.permutation(n_items) % n_clusters
    members = [np.flatnonzero(cluster_of == c) for c in range(n_clusters)]
    item_by_slot = np.concatenate(members)
    cluster_cdf = np.concatenate([c + _cdf(popularity[m]) for c, m in enumerate(members)])
    cluster_end = np.cumsum([m.size for m in members])
    global_cdf = _cdf(popularity)
    favourites = rng.integers(n_clusters, size=(n_users, 2))
    single = rng.random(n_users) < 0.5
    favourites[single, 1] = favourites[single, 0]

    acc_users = np.empty(0, np.int64)
    acc_items = np.empty(0, np.int64)
    pending, need = np.arange(n_users), lengths.copy()
    for round_no in range(1000):
        batch = 2 * need[pending] + 4
        users = np.repeat(pending, batch)
        position = np.arange(users.size) - np.repeat(np.cumsum(batch) - batch, batch)
        # Interest drifts from the first to the second favourite cluster over time.
        late = rng.random(users.size) < (position + 0.5) / np.repeat(batch, batch)
        cluster = np.where(late, favourites[users, 1], favourites[users, 0])
        u = rng.random(users.size)
        slot = np.minimum(np.searchsorted(cluster_cdf, cluster + u, side="right"),
                          cluster_end[cluster] - 1)
        items = np.where(rng.random(users.size) < config.fav_share, item_by_slot[slot],
                         np.searchsorted(global_cdf, u, side="right"))
        if round_no >= 20:
            items = rng.integers(n_items, size=users.size)
        all_users = np.concatenate([acc_users, users])
        all_items = np.concatenate([acc_items, items])
        first = np.sort(np.unique(all_users * n_items + all_items, return_index=True)[1])
        order = first[np.argsort(all_users[first], kind="stable")]
        all_users, all_items = all_users[order], all_items[order]
        counts = np.bincount(all_users, minlength=n_users)
        rank = np.arange(all_users.size) - np.repeat(np.cumsum(counts) - counts, counts)
        keep = rank < lengths[all_users]
        acc_users, acc_items = all_users[keep], all_items[keep]
        need = lengths - np.bincount(acc_users, minlength=n_users)
        pending = np.flatnonzero(need > 0)
        if pending.size == 0:
            return acc_users, acc_items
    raise RuntimeError("could not draw enough distinct items per user")


def _draw_times(rng, users, n_users):
    """Distinct integer timestamps per user inside a per-user activity window."""
    span = T_MAX - T_MIN
    width = (span * rng.uniform(0.3, 1.0, n_users)).astype(np.int64)
    start = T_MIN + (rng.random(n_users) * (span - width + 1)).astype(np.int64)
    times = start[users] + rng.integers(0, width[users] + 1)
    while True:
        key = users * (span + 1) + (times - T_MIN)
        order = np.argsort(key, kind="stable")
        dup = np.zeros(users.size, bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not dup.any():
            return times[np.lexsort((times, users))]
        times[dup] = start[users[dup]] + rng.integers(0, width[users[dup]] + 1)


def _cover_all_items(rng, items, n_items):
    """Gives each never-drawn item one row taken from a popular item's surplus.

    A surplus row is any row of an item but its first, so every drawn item keeps
    at least one row; an unused item cannot clash with a user's other items.
    """
    missing = np.setdiff1d(np.arange(n_items), items)
    if not len(missing):
        return items
    order = np.argsort(items, kind="stable")
    surplus = order[np.r_[False, items[order][1:] == items[order][:-1]]]
    if len(surplus) < len(missing):
        raise ValueError(f"{len(missing)} items would have no interaction; lower --items "
                         f"or raise --mean_len")
    items = items.copy()
    items[rng.choice(surplus, size=len(missing), replace=False)] = missing
    return items


def raw_interactions(config):
    """The generated log: one row per interaction, users in order, each user's rows by time."""
    validate(config)
    rng = np.random.default_rng(config.seed)
    cap = min(config.max_len or config.items, config.items // 2)
    extra = rng.geometric(1.0 / (config.mean_len - config.min_len + 1), config.users) - 1
    lengths = np.minimum(config.min_len + extra, cap)
    users, items = _draw_items(rng, config, lengths)
    items = _cover_all_items(rng, items, config.items)
    times = _draw_times(rng, users, config.users)
    return pd.DataFrame({"user": users, "item": items, "time": times,
                         "line": np.arange(1, len(users) + 1)})


def generate(config):
    """The four data-set objects: the generated log through the notebook pipeline.

    No filter pass (every user has at least `min_len` distinct items); the
    pipeline picks the test users, test and validation items, the G equal-width
    interval graphs and the negatives exactly as `data_prep.pipeline` does for
    real data. Items are renumbered in order of first appearance.
    """
    prep = pipeline.PrepConfig(filters=(), test_users=config.test_users,
                               negatives=config.negatives, graphs=config.graphs,
                               seed=config.seed)
    try:
        data, _ = pipeline.prepare(raw_interactions(config), prep, source=config.name)
    except DataPrepError as e:
        raise ValueError(str(e)) from e
    for k, mat in enumerate(data["trn_mat_time"][1]):
        if mat.nnz == 0:
            raise ValueError(f"interval graph {k} of {config.graphs} is empty; lower --graphs "
                             "or raise --users")
    return data


def write(dataset, directory):
    """Writes the four pickles and a summary into `directory`, all or nothing."""
    pipeline.write_dataset(dataset, pipeline.summarize(dataset), directory)


OVERRIDES = ("name", "seed", "users", "items", "graphs", "test_users", "negatives", "mean_len")
"""The flags that override a preset's field of the same name."""
USAGE = "usage: python -m data_prep.synthetic [--preset NAME] [--out DIR] [--name NAME] [flags]"


def _parse_args(argv):
    """The flag values of `argv` (without the program name); flags.Error on a bad one."""
    fv = script_flags.flag_values()
    flags.DEFINE_string("preset", "tiny", f"one of {', '.join(PRESETS)}", flag_values=fv)
    flags.DEFINE_string("out", "Datasets", "parent directory (default Datasets)", flag_values=fv)
    flags.DEFINE_string("name", None, "data-set directory name (default: the preset's)",
                        flag_values=fv)
    for flag in ("seed", "users", "items", "graphs", "test_users", "negatives"):
        flags.DEFINE_integer(flag, None, f"override the preset's {flag}", flag_values=fv)
    flags.DEFINE_float("mean_len", None, "override the preset's mean_len", flag_values=fv)
    rest = fv(["python -m data_prep.synthetic"] + list(argv))[1:]
    if rest:
        raise flags.Error(f"unrecognized arguments: {' '.join(rest)}")
    return fv


def main(argv=None):
    """Command-line entry point; exits with code 2 and a one-line message on bad input."""
    args, code = script_flags.parse(
        _parse_args, argv, "Write a seeded synthetic SelfGNN data set (four pickle files) to "
        "OUT/NAME/.", USAGE, prefix="data_prep.synthetic: error")
    if code:
        raise SystemExit(code)
    if code == 0:
        return
    try:
        if args.preset not in PRESETS:
            raise ValueError(f"unknown preset {args.preset!r}; use --preset with one of "
                             f"{', '.join(PRESETS)}")
        overrides = {key: args[key].value for key in OVERRIDES if args[key].value is not None}
        config = dataclasses.replace(PRESETS[args.preset], **overrides)
        started = time.perf_counter()
        dataset = generate(config)
        directory = os.path.join(args.out, config.name)
        write(dataset, directory)
    except ValueError as error:
        print(f"data_prep.synthetic: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    trn_mat, sub_mats, _ = dataset["trn_mat_time"]
    print(f"users={config.users} items={config.items} "
          f"interactions={sum(map(len, dataset['sequence']))} training={trn_mat.nnz}")
    print(f"graph edges={[mat.nnz for mat in sub_mats]} test_users={len(dataset['test_dict'])}")
    print(f"seconds={time.perf_counter() - started:.2f} written to {directory}")


if __name__ == "__main__":
    main()
