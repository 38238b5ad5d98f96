"""Gather every results.json under a folder into one table: `python run/collect.py DIR`.

Writes `DIR/collected.csv` and `DIR/collected.md` (one row per run: the flags that
differ between runs, status, best epoch and its HR/NDCG at 10 and 20, the final
test) and, when the runs vary `hard_k` and `cl_weight`, the HardGNN grid plots.
"""
import json
import os
import sys

from absl import flags

from selfgnn import recovery, script_flags, tables

METRICS = ("HR10", "NDCG10", "HR20", "NDCG20")


def find_results(root):
    for path in recovery.results_files(root):
        with open(path, encoding="utf-8") as f:
            yield os.path.relpath(os.path.dirname(path), root), json.load(f)


def table(runs):
    """Rows with the varying flags, status, best and final metrics."""
    names = sorted({n for _, r in runs for n in r["flags"]})
    varying = [n for n in names if len({json.dumps(r["flags"].get(n)) for _, r in runs}) > 1
               and n not in ("save_path", "out_dir")]
    rows = []
    for run, r in runs:
        best = r.get("best") or {}
        final = r.get("final_test") or {}
        row = {"run": run, **{n: r["flags"].get(n) for n in varying}, "status": r.get("status"),
               "best_epoch": best.get("epoch")}
        row.update({m: best.get(m) for m in METRICS})
        row.update({f"valid_{m}": (best.get("valid") or {}).get(m) for m in ("HR10", "NDCG10")})
        row.update({f"final_{m}": final.get(m) for m in ("HR10", "NDCG10")})
        rows.append(row)
    return rows, varying


def cell(value):
    """A Markdown cell: floats to 4 decimals, None empty."""
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def markdown(rows):
    """The Markdown table of `rows` (dicts with the same keys), one line each."""
    keys = list(rows[0])
    return "\n".join(tables.markdown(keys, [[cell(r[k]) for k in keys] for r in rows])) + "\n"


USAGE = "usage: python run/collect.py DIR (DIR: the folder searched for results.json files)"


def parse_args(argv):
    """(flag values, positional arguments) of `argv`, the arguments without the program
    name; a bad flag or not exactly one folder (without --help) raises flags.Error."""
    fv = script_flags.flag_values()
    rest = fv(["collect.py"] + list(argv))[1:]
    if len(rest) != 1 and not fv.help:
        raise flags.Error(f"expected one folder, got {len(rest)}")
    return fv, rest


def main(argv=None):
    parsed, code = script_flags.parse(parse_args, argv, __doc__, USAGE)
    if code is not None:
        return code
    root = parsed[1][0]
    runs = list(find_results(root))
    if not runs:
        print(f"error: no results.json under {root}", file=sys.stderr)
        return 2
    rows, varying = table(runs)
    tables.write_csv(os.path.join(root, "collected.csv"), rows)
    text = markdown(rows)
    with open(os.path.join(root, "collected.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    if {"hard_k", "cl_weight"} <= set(varying):
        from hardgnn import plots
        grid = [dict(r, K=r["hard_k"], **{"lambda": r["cl_weight"]}) for r in rows
                if r["best_epoch"] is not None]
        best = max(grid, key=lambda r: (r["valid_NDCG10"] or r["NDCG10"] or 0.0))
        plots.plot_grid(grid, best, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
