"""selfgnn/aggregate.py: runs grouped across seeds, CIs and the paired test, by hand."""
import json
import math
import os

import pytest

from selfgnn import aggregate, recovery
from tests.run_files import write_run


def test_mean_std_and_95_ci_of_three_seeds():
    # mean 0.2; std = sqrt((0.01 + 0 + 0.01) / 2) = 0.1; t(0.975, 2 dof) = 4.30265
    # half-width = 4.30265 * 0.1 / sqrt(3) = 0.248414
    c = aggregate.mean_ci([0.1, 0.2, 0.3])
    assert c["mean"] == pytest.approx(0.2) and c["std"] == pytest.approx(0.1)
    assert c["ci"] == pytest.approx(0.248414, abs=1e-6) and c["n"] == 3
    one = aggregate.mean_ci([0.4])
    assert one["mean"] == 0.4 and math.isnan(one["std"]) and math.isnan(one["ci"])
    with pytest.raises(ValueError):
        aggregate.mean_ci([])


def test_paired_t_test_by_hand():
    # d = a - b = [1, 0, 0, 1]: mean 0.5, sd sqrt(1/3), t = 0.5 / (sd / 2) = sqrt(3), 3 dof,
    # two-sided p = 2 * P(T_3 > 1.7320508) = 0.18169
    a, b = [1, 0, 1, 1], [0, 0, 1, 0]
    assert aggregate.paired_p(a, b) == pytest.approx(0.18169, abs=1e-5)
    assert aggregate.paired_p(a, a) == 1.0
    assert aggregate.paired_p([1, 1], [0, 0]) == 0.0  # every user better by the same amount
    assert math.isnan(aggregate.paired_p([1], [0]))
    with pytest.raises(ValueError):
        aggregate.paired_p([1, 0], [1, 0, 1])


def test_runs_differing_only_in_seed_are_one_row(tmp_path):
    root = str(tmp_path)
    paths = [write_run(root, "s1", 1, [0, 3, 12]), write_run(root, "s2", 2, [1, 30, 12]),
             write_run(root, "h1", 1, [0, 0, 0], model="hardgnn", hard_k=3, cl_weight=0.1),
             write_run(root, "c1", 1, [5, 5, 5], protocol="clean")]
    rows = aggregate.group_runs(paths)
    assert [(r.label, r.protocol, r.seeds) for r in rows] == [
        ("SelfGNN", "original", [1, 2]), ("HardGNN K=3 lambda=0.1", "original", [1]),
        ("SelfGNN", "clean", [1])]
    # HR@10 of seed 1: ranks 0, 3 hit, 12 misses -> 2/3; seed 2: rank 1 -> 1/3
    cells = rows[0].cells()
    assert cells["HR10"]["mean"] == pytest.approx(0.5) and cells["HR10"]["n"] == 2
    users, per_user = rows[0].per_user_mean()
    assert users.tolist() == [0, 1, 2]
    # user 0: NDCG 1/log2(2) = 1 and 1/log2(3) = 0.6309 -> 0.81546; user 1: (1/log2(5) + 0) / 2
    assert per_user["NDCG10"] == pytest.approx([(1 + 1 / math.log2(3)) / 2,
                                                1 / math.log2(5) / 2, 0.0])
    # HardGNN hits all three users (HR 1, 1, 1) vs SelfGNN's per-user mean (1, 0.5, 0)
    p = aggregate.compare_rows(rows[1], rows[0], "HR10")
    assert p == pytest.approx(aggregate.paired_p([1, 1, 1], [1, 0.5, 0]))


def test_unfinished_runs_are_left_out_and_missing_per_user_is_named(tmp_path):
    path = write_run(str(tmp_path), "a", 1, [0, 1])
    with open(path) as f:
        result = json.load(f)
    with open(path, "w") as f:
        json.dump(dict(result, status="running"), f)
    assert aggregate.group_runs([path]) == []
    done = write_run(str(tmp_path), "b", 1, [0, 1])
    os.remove(os.path.join(tmp_path, "b", recovery.PER_USER))
    row = aggregate.group_runs([done])[0]
    with pytest.raises(FileNotFoundError, match="per_user.csv"):
        row.per_user_mean()


def test_model_label_names_the_paper_sequence_branch():
    assert aggregate.model_label({"model": "selfgnn"}) == "SelfGNN"
    assert aggregate.model_label({"model": "selfgnn", "sequence_branch": "paper"}) == (
        "SelfGNN, paper sequence branch")
    assert aggregate.model_label({"model": "hardgnn", "hard_k": 3, "cl_weight": 0.1,
                                  "sequence_branch": "original"}) == "HardGNN K=3 lambda=0.1"


def test_config_key_counts_a_flag_at_its_default_as_absent():
    """A run written before --sequence_branch existed is the same configuration."""
    old = {"model": "selfgnn", "data": "ml-100k", "seed": 100}
    assert aggregate.config_key(dict(old, sequence_branch="original", seed=101)) == (
        aggregate.config_key(old))
    assert aggregate.config_key(dict(old, sequence_branch="paper")) != aggregate.config_key(old)
