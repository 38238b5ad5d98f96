"""The paper-style table of runs beside the published numbers.

    python run/report.py Runs/ml-100k Runs/ml-100k-hard --out Runs/report --plot

Collects every `results.json` under the given folders and writes `<out>/report.md`
and `<out>/report.csv`: the data sets of the runs as column groups (HR@10, NDCG@10,
HR@20, NDCG@20), the published rows of those data sets first (the SelfGNN paper's
main table and the HardGNN report, `selfgnn/published.csv`), then one row per run,
each of its cells followed by its difference to the published SelfGNN cell. A
protocol table says, per run, how its numbers were obtained: the epochs, the rule
that chose the reported epoch (test NDCG, the original's, or the validation item),
and the test history (`original`: the history includes the test item, see the
README's *The test history*; `exclude_target`). `--plot` adds `report.png`, a
grouped bar chart per data set (needs matplotlib); `--metrics HR10,NDCG10` keeps only
those columns in the Markdown tables; `--seeds_only` writes only the table across seeds.
"""
import json
import os
import sys

from absl import flags

from selfgnn import aggregate, published, recovery, script_flags, seed_table, tables

METRICS = published.METRICS
LABELS = seed_table.LABELS


def find_runs(paths):
    """Every results.json under `paths` (a run folder or a folder of runs), in path order."""
    found = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path}: no such file or folder")
        if os.path.isfile(path):
            found.append(path)
            continue
        found += recovery.results_files(path)
    if not found:
        raise FileNotFoundError(f"no results.json under {', '.join(paths)}")
    return found


def describe(path):
    """One run's row: label, data set, metrics and protocol, from its results.json."""
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    flags = r["flags"]
    label = aggregate.model_label(flags)
    best = r.get("best")
    values = best if best else r.get("final_test")
    if not values:
        raise ValueError(f"{path}: the run has no test result yet (status {r.get('status')})")
    trained = len(r.get("epochs", []))
    return {
        "label": f"{label} (this port: {flags['save_path']})", "dataset": flags["data"],
        "values": {m: values[m] for m in METRICS}, "path": path,
        "epochs": f"{trained} of {flags['epoch']}" if trained != flags["epoch"] else str(trained),
        "reported": (f"best epoch {best['epoch']}" if best else "final test"),
        "selected_on": ("validation item (before the test item)"
                        if flags.get("select_on") == "validation" else "test NDCG (the original's rule)")
        if best else "-",
        "history": flags.get("eval_history", "original"), "status": r.get("status"),
    }


def table(runs, compare, metrics=METRICS):
    """(data sets, Markdown lines, CSV rows) of the paper-style table; `compare` maps a
    run's data set to the published one to put beside it (default: the same name). The
    Markdown columns are those of `metrics`; the CSV rows hold all of METRICS."""
    datasets = list(dict.fromkeys(run["dataset"] for run in runs))
    paper = {d: compare.get(d, d) for d in datasets}
    rows = []  # (label, source, {dataset: values})
    models = list(dict.fromkeys(p["model"] for d in datasets for p in published.load(paper[d])))
    for model in models:
        cells = {d: published.load(paper[d], model) for d in datasets}
        source = next(iter(p[0]["source"] for p in cells.values() if p))
        rows.append((model, source, {d: p[0] if p else None for d, p in cells.items()}))
    selfgnn = {d: (published.load(paper[d], "SelfGNN") or [None])[0] for d in datasets}
    head = ["model"] + [f"{seed_table.group(d, compare)} {published.LABELS[m]}"
                        for d in datasets for m in metrics]
    md_rows, out_csv = [], []
    for label, source, cells in rows:
        shown = [f"{cells[d][m]:.3f}" if cells[d] else "" for d in datasets for m in metrics]
        md_rows.append([LABELS.get(label, label + " (paper)")] + shown)
        for d in datasets:
            if cells[d]:
                out_csv.append(dict(row=label, kind="published", dataset=paper[d], source=source,
                                    **{m: cells[d][m] for m in METRICS}))
    for run in runs:
        shown = []
        for d in datasets:
            for m in metrics:
                if run["dataset"] != d:
                    shown.append("")
                    continue
                value = run["values"][m]
                ref = selfgnn[d]
                shown.append(f"{value:.4f}" + (f" ({value - ref[m]:+.4f})" if ref else ""))
        md_rows.append([run["label"]] + shown)
        ref = selfgnn[run["dataset"]]
        out_csv.append(dict(row=run["label"], kind="this port", dataset=run["dataset"],
                            source=run["path"], **run["values"],
                            **{f"diff_{m}": (run["values"][m] - ref[m]) if ref else ""
                               for m in METRICS},
                            epochs=run["epochs"], reported=run["reported"],
                            selected_on=run["selected_on"], history=run["history"]))
    return datasets, tables.markdown(head, md_rows), out_csv


def markdown(runs, compare, datasets, lines, seed_lines=()):
    """The report page: the table (`table`'s data sets and Markdown lines), the protocol
    of each run, the table across seeds and the sources."""
    missing = [d for d in datasets if not published.load(compare.get(d, d))]
    text = ["# This port beside the published numbers", "",
            "Cells of this port's rows: the value, then (in brackets) its difference to the "
            "published SelfGNN cell of the same data set.", ""] + lines
    if missing:
        text += ["", f"No published numbers for {', '.join(missing)}."]
    text += ["", "## Protocol of each run", ""] + tables.markdown(
        ["run", "data set", "epochs trained", "numbers reported", "chosen on", "test history",
         "status"],
        [[str(run[k]) for k in ("label", "dataset", "epochs", "reported", "selected_on",
                                "history", "status")] for run in runs])
    if seed_lines:
        text += ["", "## Across seeds", "", seed_table.SEEDS_NOTE] + list(seed_lines)
    sources = sorted({p["source"] for d in datasets for p in published.load(compare.get(d, d))})
    if compare:
        text += ["", "Compared across data sets: " + ", ".join(
            f"{d} beside the published {p}" for d, p in compare.items()) + ". These are not "
            "the paper's data: the differences measure the data as much as the code."]
    if sources:
        text += ["", "Published numbers: " + "; ".join(sources) + ". The paper's rows were not "
                 "checked against its text (README, *Comparing with the paper*). The paper "
                 "reports its best epoch on test NDCG with the original history "
                 "(`original`)."]
    return "\n".join(text) + "\n"


def plot(runs, path, compare):
    """Grouped bars per data set: each metric, the published SelfGNN (and HardGNN) and ours."""
    from hardgnn import plots
    plt = plots.pyplot(lambda message: print(message, file=sys.stderr))
    if plt is None:
        return None
    datasets = list(dict.fromkeys(run["dataset"] for run in runs))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.8), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        bars = [(f"{label}", p[0]) for model, label in published.COMPARED
                for p in [published.load(compare.get(d, d), model)] if p]
        bars += [(run["label"], run["values"]) for run in runs if run["dataset"] == d]
        width = 0.8 / len(bars)
        for i, (label, values) in enumerate(bars):
            ax.bar([j + i * width for j in range(len(METRICS))], [values[m] for m in METRICS],
                   width, label=label)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(METRICS))])
        ax.set_xticklabels([published.LABELS[m] for m in METRICS])
        ax.set_title(seed_table.group(d, compare))
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def parse_compare(text):
    """`DATA=PAPER` -> (DATA, PAPER), PAPER one of the published data sets."""
    data, _, paper = text.partition("=")
    known = sorted({p["dataset"] for p in published.load()})
    if not data or paper not in known:
        raise ValueError(f"--compare {text!r}: expected DATA=PAPER with PAPER one of "
                         f"{', '.join(known)}")
    return data, paper


def parse_metrics(names):
    """The `--metrics` list, checked, in METRICS' order."""
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(f"--metrics {','.join(names)}: expected a comma-separated list of "
                         f"{', '.join(METRICS)}")
    return tuple(m for m in METRICS if m in names)


USAGE = ("usage: python run/report.py RUN [RUN ...] [--out DIR] [--compare DATA=PAPER] "
         "[--metrics HR10,NDCG10] [--plot]")


def parse_args(argv):
    """(flag values, positional arguments: the runs) of `argv`, the arguments without the
    program name; a bad flag raises flags.Error."""
    fv = script_flags.flag_values()
    flags.DEFINE_string("out", "report", "output folder", flag_values=fv)
    flags.DEFINE_bool("plot", False, "also write report.png", flag_values=fv)
    flags.DEFINE_multi_string("compare", [], "DATA=PAPER: put runs on DATA beside the published "
                              "rows of PAPER (amazon, gowalla, movielens, yelp), e.g. "
                              "ml-1m=movielens; repeatable", flag_values=fv)
    flags.DEFINE_bool("seeds_only", False, "only the table across seeds (finished runs grouped "
                      "by configuration)", flag_values=fv)
    flags.DEFINE_string("name", "report", "file name stem of the outputs", flag_values=fv)
    flags.DEFINE_list("metrics", list(METRICS), "the metric columns of the Markdown tables "
                      "(the CSV files hold all of them)", flag_values=fv)
    runs = fv(["report.py"] + list(argv))[1:]
    if not runs and not fv.help:
        raise flags.Error("expected at least one run folder, folder of runs or results.json")
    return fv, runs


def main(argv=None):
    parsed, code = script_flags.parse(
        parse_args, argv, __doc__, USAGE,
        notes="\nRUN: run folders, folders of runs, or results.json files.\n")
    if code is not None:
        return code
    args, runs_given = parsed
    try:
        compare = dict(parse_compare(text) for text in args.compare)
        metrics = parse_metrics(args.metrics)
        paths = find_runs(runs_given)
        runs = [] if args.seeds_only else [describe(path) for path in paths]
        seeds = aggregate.group_runs(paths)
    except (FileNotFoundError, ValueError, KeyError, json.JSONDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, args.name)
    seed_lines, seed_rows = seed_table.build(seeds, compare, metrics)
    if args.seeds_only:
        if not seeds:
            print("error: no finished run to tabulate", file=sys.stderr)
            return 2
        text = seed_table.markdown(seeds, compare, seed_lines)
        tables.write_csv(stem + ".csv", seed_rows)
    else:
        datasets, lines, out_csv = table(runs, compare, metrics)
        text = markdown(runs, compare, datasets, lines, seed_lines)
        tables.write_csv(stem + ".csv", out_csv)
        tables.write_csv(stem + "_seeds.csv", seed_rows)
    with open(stem + ".md", "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    if args.plot:
        drawn = (seed_table.plot(seeds, stem + ".png") if args.seeds_only
                 else plot(runs, stem + ".png", compare))
        if drawn:
            print(f"chart: {drawn}")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
