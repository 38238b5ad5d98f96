"""Gather every results.json under a folder into one table: `python run/collect.py DIR`.

Writes `DIR/collected.csv` and `DIR/collected.md` (one row per run: the flags that
differ between runs, status, best epoch and its HR/NDCG at 10 and 20, the final
test) and, when the runs vary `hard_k` and `cl_weight`, the HardGNN grid plots.
"""
import argparse
import csv
import json
import os
import sys

from selfgnn import recovery

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


def markdown(rows):
    keys = list(rows[0])
    cell = lambda v: f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa
    return "\n".join(["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
                     + ["| " + " | ".join(cell(r[k]) for k in keys) + " |" for r in rows]) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", help="folder searched for results.json files")
    args = ap.parse_args(argv)
    runs = list(find_results(args.root))
    if not runs:
        print(f"error: no results.json under {args.root}", file=sys.stderr)
        return 2
    rows, varying = table(runs)
    with open(os.path.join(args.root, "collected.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    text = markdown(rows)
    with open(os.path.join(args.root, "collected.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    if {"hard_k", "cl_weight"} <= set(varying):
        from hardgnn import plots
        grid = [dict(r, K=r["hard_k"], **{"lambda": r["cl_weight"]}) for r in rows
                if r["best_epoch"] is not None]
        best = max(grid, key=lambda r: (r["valid_NDCG10"] or r["NDCG10"] or 0.0))
        plots.plot_grid(grid, best, args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
