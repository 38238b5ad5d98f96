"""Peak memory per data set, fitted on the measured peaks, and the GPUs each fits.

    python bench/memory_model.py     # reads bench/results/sizes/sizes.json and
                                     # bench/results/paper_branch/latest.json, writes
                                     # bench/results/memory_model.{json,md}

A run's memory grows with its embedding tables (G (U + I) d values: the variables, their
two Adam moments and gradient, and the graph stage's per-layer outputs kept for the
backward pass are all tables of that shape) and with its graph edges (the sorted edge
indices, the host's matrices and sampler). The model is

    peak bytes = c0 + c_table * G (U + I) d + c_edge * edges

least squares over the measured peak RSS of `bench/run.py --size all --scale ...`
(every shape and scale a process of its own, SelfGNN then HardGNN K = 3), reported
with each point's leave-one-out error. c0 holds TensorFlow's runtime and the Python
process, which stay on the host; the device estimate is the fit minus the runtime's
own RSS (`runtime_rss`, a fresh process after one TensorFlow op), so it also counts the
host's copy of the data and is an upper bound of what the accelerator holds, before
the CUDA context (not measured: no GPU here). `--sequence_branch paper` adds its
attention: its bytes per attention score come from the one measured paper-branch peak
(`python bench/run.py --size amazonlike --paper_branch --out bench/results/paper_branch`,
which counts the scores of its steps), and a data set's figure is for its worst case,
every history full: B x heads x L^2 x att_layer scores (the branch cuts groups of rows
to their histories, so shorter ones need less).
"""
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from selfgnn import params, tables  # noqa: E402

GIB = 2 ** 30
GPUS = (8, 16, 24, 40, 80)
"""Accelerator memory sizes (GB as sold, 10^9 bytes) the table checks."""
SHAPE_DATA = {"amazonlike": "amazon", "gowallalike": "gowalla", "movielenslike": "movielens",
              "yelplike": "yelp"}


def table_values(data, p):
    """G (U + I) d: the values of one embedding table set of `data` (sizes.json's)."""
    return data["graphs"] * (data["users"] + data["items"]) * p.latdim


def attention_scores(p):
    """B heads L^2 att_layer: the paper sequence branch's attention scores of one batch
    whose histories are all full (its most)."""
    return p.batch * p.num_attention_heads * p.pos_length ** 2 * p.att_layer


def features(run):
    """[1, G (U + I) d, graph edges] of one sizes.json run."""
    p = params.preset_params(SHAPE_DATA[run["size"].split()[0]])
    return [1.0, float(table_values(run["data"], p)), float(run["data"]["graph_edges"])]


def fit(x, y):
    """(coefficients, fitted values, leave-one-out relative errors) of least squares y ~ x."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    loo = []
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        c = np.linalg.lstsq(x[keep], y[keep], rcond=None)[0]
        loo.append(float(abs(x[i] @ c - y[i]) / y[i]))
    return coef, x @ coef, loo


def runtime_rss():
    """Peak RSS bytes of a fresh Python process after importing TensorFlow and one op."""
    code = ("import resource, tensorflow as tf; tf.reduce_sum(tf.ones([8])).numpy(); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout
    return int(out.split()[-1]) * 1024


def fits(nbytes, gpus=GPUS):
    """The sizes in `gpus` (GB) that hold `nbytes`."""
    return [g for g in gpus if nbytes <= g * 1e9]


def model(sizes, latest, runtime):
    """The fit, the per-set predictions and the paper branch's extra, as a dict."""
    runs, seen = [], set()
    for run in sizes["runs"]:  # amazonlike and its x1 scale are the same set: keep one
        key = (run["data"]["users"], run["data"]["items"], run["data"]["graph_edges"])
        if key not in seen:
            seen.add(key)
            runs.append(run)
    x = [features(r) for r in runs]
    y = [r["peak_rss_gib"] * GIB for r in runs]
    coef, fitted, loo = fit(x, y)
    paper_rows = [r for r in latest["models"] if r.get("attention_scores")]
    if latest["size"] != "amazonlike" or not paper_rows:
        raise ValueError("the bench result has no paper-branch row on amazonlike: run python "
                         "bench/run.py --size amazonlike --paper_branch --out "
                         "bench/results/paper_branch first")
    base = next(r for r in runs if r["label"] == "amazonlike")
    paper_extra = latest["peak_rss_gib"] * GIB - float(np.dot(features(base), coef))
    per_score = paper_extra / paper_rows[0]["attention_scores"]
    points = [{"size": r["label"], "measured_gib": m / GIB, "fitted_gib": f / GIB,
               "leave_one_out_error": e} for r, m, f, e in zip(runs, y, fitted, loo)]
    sets = []
    for run in runs:
        if run["factor"] is not None:  # the scale series: not one of the paper's sets
            continue
        p = params.preset_params(SHAPE_DATA[run["size"]])
        g_d = run["data"]["graphs"] * p.latdim
        device = float(np.dot(features(run), coef)) - runtime
        paper = device + per_score * attention_scores(p)
        sets.append({"data": SHAPE_DATA[run["size"]], "bytes_per_user": coef[1] * g_d,
                     "bytes_per_item": coef[1] * g_d, "bytes_per_edge": coef[2],
                     "device_gib": device / GIB, "fits": fits(device),
                     "paper_branch_gib": paper / GIB, "paper_fits": fits(paper)})
    return {"coefficients": {"c0_bytes": coef[0], "bytes_per_table_value": coef[1],
                             "bytes_per_edge": coef[2]},
            "runtime_rss_gib": runtime / GIB, "points": points,
            "max_leave_one_out_error": max(loo),
            "paper_branch": {"measured_gib": latest["peak_rss_gib"],
                             "attention_scores": paper_rows[0]["attention_scores"],
                             "bytes_per_attention_score": per_score},
            "sets": sets}


def markdown(m):
    c = m["coefficients"]
    lines = [f"peak bytes = {c['c0_bytes'] / GIB:.2f} GiB + {c['bytes_per_table_value']:.0f} B "
             f"x G (U + I) d + {c['bytes_per_edge']:.0f} B x graph edges; TensorFlow's runtime "
             f"alone {m['runtime_rss_gib']:.2f} GiB; leave-one-out error at most "
             f"{100 * m['max_leave_one_out_error']:.0f}%", ""]
    lines += tables.markdown(
        ["size", "measured peak RSS GiB", "fitted GiB", "leave-one-out error"],
        [[p["size"], f"{p['measured_gib']:.2f}", f"{p['fitted_gib']:.2f}",
          f"{100 * p['leave_one_out_error']:.0f}%"] for p in m["points"]])
    b = m["paper_branch"]
    lines += ["", f"`--sequence_branch paper`: {b['bytes_per_attention_score']:.1f} B per "
              f"attention score, from the one measured peak ({b['measured_gib']:.2f} GiB, "
              f"amazonlike, {b['attention_scores'] / 1e6:.0f} M scores a step); below, each "
              f"set's most (every history full: B x heads x L^2 x att_layer)", ""]
    lines += tables.markdown(
        ["data", "B / user", "B / item", "B / edge", "device GiB", "fits (GB)",
         "paper branch GiB, at most", "fits (GB)"],
        [[s["data"], f"{s['bytes_per_user']:,.0f}", f"{s['bytes_per_item']:,.0f}",
          f"{s['bytes_per_edge']:.0f}", f"{s['device_gib']:.2f}",
          ", ".join(map(str, s["fits"])) or "none", f"{s['paper_branch_gib']:.1f}",
          ", ".join(map(str, s["paper_fits"])) or "none"] for s in m["sets"]])
    return "\n".join(lines) + "\n"


def main():
    results = os.path.join(ROOT, "bench", "results")
    with open(os.path.join(results, "sizes", "sizes.json")) as f:
        sizes = json.load(f)
    with open(os.path.join(results, "paper_branch", "latest.json")) as f:
        latest = json.load(f)
    m = model(sizes, latest, runtime_rss())
    text = markdown(m)
    tables.write_result(results, "memory_model", m, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
