"""--nan_policy messages: the flags to change, with their values, for the model trained."""
import pytest

from hardgnn import params as hard_params
from selfgnn import nonfinite, params, recovery


def test_knobs_name_hardgnns_contrastive_flags_for_hardgnn_only():
    hard = hard_params.preset_params("tiny", hard_k=3, cl_weight=0.2, cl_temp=0.5)
    assert nonfinite.knobs(hard, "hardgnn", skip_batch=False) == (
        "lower --lr (now 0.01), raise --cl_temp (now 0.5) or lower --cl_weight (now 0.2)")
    # the same flags trained as SelfGNN (or with no InfoNCE term) have no such knob
    assert nonfinite.knobs(hard, "selfgnn", skip_batch=False) == "lower --lr (now 0.01)"
    assert nonfinite.knobs(hard.replace(cl_weight=0.0), "hardgnn", skip_batch=False) == (
        "lower --lr (now 0.01)")
    assert nonfinite.knobs(params.preset_params("tiny"), "selfgnn").endswith(
        "or pass --nan_policy skip_batch (a run fails when it skips more than --max_skipped "
        "0.1 of its steps)")


def test_stop_error_says_where_the_last_good_state_is():
    p = params.preset_params("tiny")
    err = nonfinite.stop_error(p, "selfgnn", "preLoss", 2, 7, "Runs/tiny/latest/ckpt-3")
    assert isinstance(err, recovery.NonFiniteError)
    assert str(err).startswith("non-finite preLoss at epoch 2, step 7: the update was not "
                               "applied; the last good state is kept in Runs/tiny/latest/ckpt-3;")
    assert "no epoch had finished" in str(nonfinite.stop_error(p, "selfgnn", "x", 0, 0, None))


def test_check_skipped_warns_then_fails_beyond_max_skipped():
    p = params.preset_params("tiny", max_skipped=0.25)
    lines = []
    nonfinite.check_skipped(p, "selfgnn", [{"skipped_steps": 1}], 1, 1, 4, lines.append)
    assert lines == ["warning: skipped 1 of 4 steps of epoch 1 (non-finite); 2 of 8 steps "
                     "so far"]
    with pytest.raises(recovery.NonFiniteError, match=r"skipped 3 of 8 steps \(38%\), more "
                                                      r"than --max_skipped 0.25"):
        nonfinite.check_skipped(p, "selfgnn", [{"skipped_steps": 1}], 1, 2, 4, lines.append)
