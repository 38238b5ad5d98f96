"""PNG plots of a HardGNN grid (needs matplotlib, an optional dependency)."""
import os


def pyplot(log=print):
    """matplotlib.pyplot on the Agg backend, or None (logged) when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plots (pip install matplotlib)")
        return None
    return plt


def plot_curves(curves, path, log=print):
    """Test NDCG@10 per tested epoch, one line per run: {label: results["epochs"]}."""
    plt = pyplot(log)
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, epochs in curves.items():
        tested = [e for e in epochs if e.get("test")]
        ax.plot([e["epoch"] for e in tested], [e["test"]["NDCG10"] for e in tested], ".-",
                label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("test NDCG@10")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_grid(grid_rows, best, directory, log=print):
    """HR@10 and NDCG@10 against lambda (K = best K) and against K (lambda = best lambda)."""
    plt = pyplot(log)
    if plt is None:
        return []
    written = []
    for axis, fixed, fixed_value, name in (("lambda", "K", best["K"], "vs_lambda.png"),
                                           ("K", "lambda", best["lambda"], "vs_k.png")):
        rows = sorted((r for r in grid_rows if r[fixed] == fixed_value), key=lambda r: r[axis])
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for metric in ("HR10", "NDCG10"):
            ax.plot([r[axis] for r in rows], [r[metric] for r in rows], "o-", label=metric)
            if all(r.get(f"valid_{metric}") is not None for r in rows):
                ax.plot([r[axis] for r in rows], [r[f"valid_{metric}"] for r in rows], "x--",
                        label=f"valid {metric}")
        if axis == "lambda":
            ax.set_xscale("log")
        ax.set_xlabel(axis)
        ax.set_title(f"HardGNN, {fixed} = {fixed_value:g}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(directory, name)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written
