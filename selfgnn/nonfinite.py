"""`--nan_policy`: a step whose loss terms or gradients are not finite is never applied.

`stop` ends the run with one error (`stop_error`); `skip_batch` skips the step, warns
at the end of the epoch and fails the run once more than `--max_skipped` of its steps
so far were skipped (`check_skipped`). The messages name the flags to change with
their values, and only state that exists.
"""
from selfgnn import recovery


def knobs(p, model, skip_batch=True):
    """The flags that make a non-finite step less likely, with their values; `model`: the
    trained class's NAME (selfgnn or hardgnn)."""
    found = [f"lower --lr (now {p.lr:g})"]
    if model == "hardgnn" and p.cl_weight > 0:
        found.append(f"raise --cl_temp (now {p.cl_temp:g}) or lower --cl_weight "
                     f"(now {p.cl_weight:g})")
    if skip_batch:
        found.append(f"or pass --nan_policy skip_batch (a run fails when it skips more than "
                     f"--max_skipped {p.max_skipped:g} of its steps)")
    return ", ".join(found)


def stop_error(p, model, where, ep, step, saved):
    """The --nan_policy stop error; `saved`: the newest `latest/` checkpoint, or None."""
    kept = (f"the last good state is kept in {saved}" if saved
            else "no epoch had finished, so no state was saved")
    return recovery.NonFiniteError(f"non-finite {where} at epoch {ep}, step {step}: the update "
                                   f"was not applied; {kept}; {knobs(p, model)}")


def check_skipped(p, model, previous, ep, skipped, steps, log):
    """--nan_policy skip_batch at the end of epoch `ep`: warns; raises NonFiniteError beyond
    --max_skipped. `previous`: the train records of the epochs before."""
    total = skipped + sum(t.get("skipped_steps") or 0 for t in previous)
    all_steps = steps * (len(previous) + 1)
    log(f"warning: skipped {skipped} of {steps} steps of epoch {ep} (non-finite); "
        f"{total} of {all_steps} steps so far")
    if total > p.max_skipped * all_steps:
        raise recovery.NonFiniteError(
            f"skipped {total} of {all_steps} steps ({total / all_steps:.0%}), more than "
            f"--max_skipped {p.max_skipped:g}: the run is failed; "
            f"{knobs(p, model, skip_batch=False)}")
