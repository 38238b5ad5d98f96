"""selfgnn/evaluation.py: a test pass in padded batches against the whole set at once."""
import io

import numpy as np
import pytest

from tests.tiny_trainer import tiny_trainer


def reference(evaluator, target):
    """(users, ranks) of every test user from one unpadded, eager call of the model: the
    positive's 0-based rank is the number of negatives scoring at least as high."""
    users = evaluator.sampler.test_users()
    size = evaluator.params.batch
    parts = [evaluator.sampler.test_batch(users[i:i + size], target)
             for i in range(0, len(users), size)]
    real = {name: np.concatenate([getattr(tb, name)[:tb.num_valid] for tb in parts])
            for name in ("users", "candidates", "sequence", "mask")}     # [n, ...] each
    nodes = evaluator.model.node_embeddings(training=False)
    scores = evaluator.model.candidate_scores(nodes, **real).numpy()      # [n, C]
    return users, np.sum(scores[:, :-1] >= scores[:, -1:], axis=1)


@pytest.mark.parametrize("target", [None, "before_test"])
def test_batched_pass_gives_the_ranks_and_means_of_the_whole_set(tiny_data_dir, tmp_path,
                                                                 target):
    evaluator = tiny_trainer(tiny_data_dir, tmp_path).evaluator
    n, batch = len(evaluator.sampler.test_users()), evaluator.params.batch
    assert n % batch != 0  # the last batch is padded and cut to its real users
    res = evaluator.test_epoch(target)
    users, ranks = reference(evaluator, target)
    got_users, got_ranks = evaluator.last_ranks
    assert np.array_equal(got_users, users) and np.array_equal(got_ranks, ranks)
    for k in (5, 10, 20):
        assert res[f"HR{k}"] == pytest.approx(np.mean(ranks < k))
        gain = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
        assert res[f"NDCG{k}"] == pytest.approx(gain.mean())
    assert (res["HR"], res["NDCG"]) == (res["HR10"], res["NDCG10"])  # --shoot 10


def test_log_lines_are_the_originals(tiny_data_dir, tmp_path):
    out = io.StringIO()
    evaluator = tiny_trainer(tiny_data_dir, tmp_path, out=out, uid=3).evaluator
    res = evaluator.test_epoch()
    users = evaluator.sampler.test_users()
    tb = evaluator.sampler.test_batch(users[:evaluator.params.batch])
    nodes = evaluator.eval_nodes()
    first = evaluator.test_scores(nodes.final_user, nodes.final_item, tb.users, tb.candidates,
                                  tb.sequence, tb.mask).numpy()                  # [b, C]
    lines = out.getvalue().splitlines()
    uid = [line for line in lines if line.startswith("uid 3 score: ")]
    assert len(uid) == 2  # one per batch, as the original's print of preds[args.uid]
    assert float(uid[0].split(": ")[1]) == pytest.approx(first.reshape(-1)[3])
    # the @1 and @15 sums the original prints are never filled
    assert f"epochNdcg1:0.0,epochHit1:0.0,epochNdcg5:{res['NDCG5']},epochHit5:{res['HR5']}" in lines
    assert (f"epochNdcg15:0.0,epochHit15:0.0,epochNdcg20:{res['NDCG20']},"
            f"epochHit20:{res['HR20']}") in lines
