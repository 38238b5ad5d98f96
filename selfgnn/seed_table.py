"""The table across seeds: one row per configuration, mean ± std [95% CI], paired p-values.

`selfgnn.aggregate` groups runs that differ only in `--seed` into rows; this module
lays them out per data set, after the published rows of that data set
(`selfgnn/published.csv`), as Markdown, CSV rows and a chart. `run/report.py` (its
`--seeds_only` page and its "Across seeds" section) and `run/compare.py` (through
report.py) print it.
"""
import sys

from selfgnn import aggregate, published, tables

METRICS = published.METRICS
LABELS = dict(published.COMPARED)


def group(dataset, compare):
    """The column group's title: the data set, and the paper's set it is compared with."""
    paper = compare.get(dataset, dataset)
    return dataset if paper == dataset else f"{dataset} (vs published {paper})"


P_METRICS = ("HR10", "NDCG10")
"""Metrics of the p-value columns."""


def cell(c):
    """'mean ± std [low, high]' (95% CI of the mean); the bare mean for one seed."""
    if c["n"] < 2:
        return f"{c['mean']:.4f}"
    low, high = c["mean"] - c["ci"], c["mean"] + c["ci"]
    return f"{c['mean']:.4f} ± {c['std']:.4f} [{low:.4f}, {high:.4f}]"


def p_cell(p):
    """A p-value for the table: 3 significant digits, '<1e-4' below 1e-4 ('' if none)."""
    if p == "":
        return ""
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def p_values(row, rows):
    """{metric: p} of `row` against SelfGNN on the same data and protocol ('' if none)."""
    ref = next((r for r in rows if r.label == "SelfGNN" and r.dataset == row.dataset
                and r.protocol == row.protocol), None)
    if ref is None or ref is row:
        return {m: "" for m in P_METRICS}
    try:
        return {m: aggregate.compare_rows(row, ref, m) for m in P_METRICS}
    except (FileNotFoundError, ValueError) as e:
        print(f"warning: no paired test for {row.label}: {e}", file=sys.stderr)
        return {m: "" for m in P_METRICS}


def build(rows, compare, metrics=METRICS):
    """(Markdown lines, CSV rows): per data set, the published rows, then each configuration
    of ours (runs differing only in --seed) with mean ± std [95% CI] and paired p-values.
    The Markdown table shows the columns of `metrics` (a subset of METRICS, in their
    order); the CSV rows hold all of them."""
    lines, out_csv = [], []
    head = (["model", "protocol", "seeds"] + [published.LABELS[m] for m in metrics]
            + [f"p {published.LABELS[m]} vs SelfGNN" for m in P_METRICS])
    for d in dict.fromkeys(r.dataset for r in rows):
        md_rows = [[LABELS.get(p["model"], p["model"] + " (paper)"), "paper", None]
                   + [f"{p[m]:.3f}" for m in metrics] + [None] * len(P_METRICS)
                   for p in published.load(compare.get(d, d))]
        mine = sorted((r for r in rows if r.dataset == d), key=row_order)
        for row in mine:
            cells, pvals = row.cells(), p_values(row, rows)
            md_rows.append([row.label, row.protocol, str(len(row.runs))]
                           + [cell(cells[m]) for m in metrics]
                           + [p_cell(v) for v in pvals.values()])
            out_csv.append(dict(row=row.label, dataset=d, protocol=row.protocol,
                                seeds=" ".join(map(str, row.seeds)),
                                **{f"{m}_{k}": cells[m][k] for m in METRICS
                                   for k in ("mean", "std", "ci")},
                                **{f"p_{m}_vs_SelfGNN": v for m, v in pvals.items()}))
        lines += ["", f"### {group(d, compare)}", ""] + tables.markdown(head, md_rows)
    return lines, out_csv


def row_order(row):
    """Protocol original first, then clean; in each, SelfGNN, HardGNN, then the baselines."""
    protocol = ("original", "clean").index(row.protocol) if row.protocol in (
        "original", "clean") else 2
    return protocol, 0 if row.label == "SelfGNN" else 1 if row.label.startswith("HardGNN") else 2


SEEDS_NOTE = ("Runs that differ only in --seed are one row: mean ± sample std over the seeds "
              "[95% Student-t confidence interval of the mean]. p: two-sided paired t-test "
              "over the test users (each user's metric averaged over the row's seeds) against "
              "SelfGNN under the same protocol. Protocols: original = the paper's (validation "
              "item trained on, epoch chosen on test NDCG, test item in the test history); "
              "clean = validation item held out, epoch (and baselines' grid) chosen on it, test "
              "history without the test item.")


def markdown(rows, compare, seed_lines):
    """The `--seeds_only` page of run/report.py: `seed_lines` (`build`'s) and the published
    sources."""
    text = ["# Models compared across seeds", "", SEEDS_NOTE] + list(seed_lines)
    datasets = dict.fromkeys(r.dataset for r in rows)
    sources = sorted({p["source"] for d in datasets for p in published.load(compare.get(d, d))})
    if sources:
        text += ["", "Published rows (protocol 'paper': the original's): " + "; ".join(sources)
                 + ". Not checked against the paper's text (README, *Comparing with the paper*)."]
    return "\n".join(text) + "\n"


def plot(rows, path):
    """Per data set, HR@10 and NDCG@10 of every row (mean over seeds, 95% CI as error bars)."""
    from hardgnn import plots
    plt = plots.pyplot(lambda message: print(message, file=sys.stderr))
    if plt is None:
        return None
    datasets = list(dict.fromkeys(r.dataset for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(7 * len(datasets), 4), squeeze=False)
    for ax, d in zip(axes[0], datasets):
        mine = [r for r in rows if r.dataset == d]
        width = 0.8 / max(len(mine), 1)
        for i, row in enumerate(mine):
            cells = row.cells()
            means = [cells[m]["mean"] for m in P_METRICS]
            errors = [0.0 if cells[m]["n"] < 2 else cells[m]["ci"] for m in P_METRICS]
            ax.bar([j + i * width for j in range(len(P_METRICS))], means, width, yerr=errors,
                   capsize=2, label=f"{row.label} ({row.protocol})")
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(P_METRICS))])
        ax.set_xticklabels([published.LABELS[m] for m in P_METRICS])
        ax.set_title(f"{d}: mean over seeds, 95% CI")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
