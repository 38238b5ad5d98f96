"""HardGNN: mining against a NumPy brute force, gradients, the cl_weight 0 invariant."""
import io
import os

import numpy as np
import pytest
import scipy.sparse as sp
import tensorflow as tf

from hardgnn import params as hard_params
from hardgnn.model import HardGNN
from selfgnn import data_handler, trainer
from selfgnn.model import SelfGNN
from selfgnn.sampler import TrainBatch
from tests.tiny_trainer import tiny_trainer

U, I, B, K = 6, 12, 4, 3


def make_model(cls=None, **overrides):
    base = dict(graphNum=2, gnn_layer=1, att_layer=1, latdim=8, num_attention_heads=2, ssldim=4,
                pos_length=5, batch=B, hard_k=K, seed=1)
    base.update(overrides)
    p = hard_params.preset_params("none", **base)
    rng = np.random.default_rng(0)
    edges = [(rng.integers(0, U, 10).astype(np.int32), rng.integers(0, I, 10).astype(np.int32))
             for _ in range(2)]
    train = sp.csr_matrix((np.ones(8), ([0, 0, 1, 1, 2, 3, 3, 3], [0, 1, 2, 3, 4, 5, 6, 0])),
                          shape=(U, I))
    return (cls or HardGNN)(p, U, I, edges, train), train


def brute_force(anchor, items, train, users, targets, k):
    q = anchor / np.linalg.norm(anchor, axis=1, keepdims=True)
    x = items / np.linalg.norm(items, axis=1, keepdims=True)
    out = []
    for row, (u, t) in enumerate(zip(users, targets)):
        sims = x @ q[row]
        banned = set(train[u].indices) | {t}
        order = [i for i in np.argsort(-sims, kind="stable") if i not in banned]
        out.append(order[:k])
    return np.array(out)


def test_mined_items_match_numpy_and_avoid_seen_items_and_target():
    model, train = make_model()
    rng = np.random.default_rng(3)
    anchor = rng.normal(size=(B, 8)).astype(np.float32)
    final_item = rng.normal(size=(I, 8)).astype(np.float32)
    users, targets = np.array([0, 1, 3, 2], np.int32), np.array([1, 7, 9, 4], np.int32)
    items = tf.math.l2_normalize(final_item, -1)
    ones = tf.ones([B])
    mined = model.mine(tf.constant(anchor), items, users, model.seen(users, targets, ones),
                       ones).numpy()
    expected = brute_force(anchor, final_item, train, users, targets, K)
    np.testing.assert_array_equal(np.sort(mined, 1), np.sort(expected, 1))
    for row, u in enumerate(users):
        assert not set(mined[row]) & (set(train[u].indices) | {targets[row]})


def test_random_mode_draws_distinct_eligible_items():
    model, train = make_model(neg_mode="random")
    users, targets = np.array([0, 1, 3, 2], np.int32), np.array([5, 7, 9, 4], np.int32)
    seen = []
    for _ in range(30):
        ones = tf.ones([B])
        mined = model.mine(tf.zeros([B, 8]), tf.zeros([I, 8]), users,
                           model.seen(users, targets, ones), ones).numpy()
        for row, u in enumerate(users):
            assert len(set(mined[row])) == K
            assert not set(mined[row]) & (set(train[u].indices) | {targets[row]})
        seen.append(mined[0])
    eligible = set(range(I)) - set(train[0].indices) - {5}
    assert set(np.concatenate(seen)) == eligible  # every eligible item gets drawn


def test_gradient_reaches_only_the_target_and_mined_items():
    """The selection over all items carries no gradient: only used rows get one."""
    model, _ = make_model()
    rng = np.random.default_rng(4)
    anchor = tf.Variable(rng.normal(size=(B, 8)).astype(np.float32))
    final_item = tf.Variable(rng.normal(size=(I, 8)).astype(np.float32))
    users, targets = np.array([0, 1, 3, 2], np.int32), np.array([1, 7, 9, 4], np.int32)
    weights = tf.constant([1.0, 1.0, 0.0, 1.0])  # row 2 is padding
    with tf.GradientTape() as tape:
        loss, mined = model.contrastive_loss(anchor, final_item, users, targets, weights)
    g_anchor, g_items = tape.gradient(loss, [anchor, final_item])
    used = set(targets[[0, 1, 3]]) | set(mined.numpy()[[0, 1, 3]].ravel())
    touched = set(np.flatnonzero(np.abs(tf.convert_to_tensor(g_items).numpy()).sum(1) > 0))
    assert touched == used
    assert np.all(g_anchor.numpy()[2] == 0) and np.any(g_anchor.numpy()[0] != 0)


def test_contrastive_loss_by_numpy():
    model, _ = make_model(cl_temp=0.2)
    rng = np.random.default_rng(5)
    anchor = rng.normal(size=(B, 8)).astype(np.float32)
    final_item = rng.normal(size=(I, 8)).astype(np.float32)
    users, targets = np.array([0, 1, 3, 2], np.int32), np.array([1, 7, 9, 4], np.int32)
    loss, mined = model.contrastive_loss(tf.constant(anchor), tf.constant(final_item), users,
                                         targets, tf.ones([B]))
    q = anchor / np.linalg.norm(anchor, axis=1, keepdims=True)
    x = final_item / np.linalg.norm(final_item, axis=1, keepdims=True)
    per = []
    for row in range(B):
        logits = np.r_[q[row] @ x[targets[row]], x[mined.numpy()[row]] @ q[row]] / 0.2
        per.append(np.log(np.exp(logits).sum()) - logits[0])
    assert loss.numpy() == pytest.approx(np.mean(per), rel=1e-5)


def batch(model):
    seq = np.zeros([B, 5], np.int32)
    mask = np.zeros([B, 5], np.float32)
    seq[:2, -1], mask[:2, -1] = [3, 4], 1
    # Rows 0 (user 2, target 8: 2 pairs) and 1 (user 4, target 9: 3 pairs); rows 2, 3 padding.
    uids = [2, 2, 4, 4, 4] * 2
    iids = [8, 8, 9, 9, 9, 10, 11, 0, 1, 2]
    locs = [0, 0, 1, 1, 1] * 2
    empty = np.zeros(0, np.int32)
    return TrainBatch(np.array(uids, np.int32), np.array(iids, np.int32),
                      np.array(locs, np.int32), seq, mask, (empty, empty), (empty, empty))


def test_batch_rows_and_anchor_kinds():
    model, _ = make_model()
    users, targets, valid = (t.numpy() for t in model.batch_rows(batch(model)))
    np.testing.assert_array_equal(users[:2], [2, 4])
    np.testing.assert_array_equal(targets[:2], [8, 9])
    np.testing.assert_array_equal(valid, [1, 1, 0, 0])
    outputs = model.forward(batch(model), training=False)
    nodes = outputs["nodes"]
    for kind, expected in (("sequence", outputs["att_user"]),
                           ("short_term", tf.gather(nodes.user_short[-1], users)),
                           ("long_term", tf.gather(nodes.final_user, users))):
        hard = make_model(hard_anchor=kind)[0]
        np.testing.assert_array_equal(hard.anchors(outputs, users).numpy(), expected.numpy())


def test_hard_in_rec_replaces_negatives_with_mined_items():
    model, _ = make_model(hard_in_rec=True)
    b = batch(model)
    outputs = model.forward(b, training=False)
    mined = tf.constant([[5, 6, 7], [0, 1, 2], [0, 0, 0], [0, 0, 0]], tf.int32)
    users, targets, weights = model.batch_rows(b)
    new = model.rec_negatives(outputs, b, mined,
                              model.seen(users, targets, weights))["preds"].numpy()
    # Negative pairs: row 0 gets mined[0][0], [0][1]; row 1 gets mined[1][0], [1][1], [1][2].
    iids = np.array([5, 6, 0, 1, 2], np.int32)
    expected = model.pair_scores(outputs["nodes"], outputs["att_user"], b.uids[5:], iids,
                                 b.u_locs[5:]).numpy()
    np.testing.assert_allclose(new[5:], expected)
    np.testing.assert_array_equal(new[:5], outputs["preds"].numpy()[:5])
    model_c, _ = make_model(hard_in_rec=True, curriculum=True)
    for epoch, replaced in ((0, []), (1, [5, 7]), (2, [5, 6, 7, 8]), (9, [5, 6, 7, 8, 9])):
        model_c.start_epoch(epoch)  # epoch n + 1: the first min(n, K) pairs of each row
        preds = model_c.rec_negatives(outputs, b, mined, model.seen(users, targets, weights))
        got = preds["preds"].numpy()
        for pair in range(5, 10):
            want = new[pair] if pair in replaced else outputs["preds"].numpy()[pair]
            assert got[pair] == pytest.approx(want, rel=1e-6), (epoch, pair)


def test_hard_k_larger_than_eligible_items_is_an_error():
    with pytest.raises(ValueError, match="--hard_k 10 is more than the 9 items user 3"):
        make_model(hard_k=10)


@pytest.mark.slow
def test_cl_weight_zero_is_selfgnn(tiny_data_dir, tmp_path):
    """The same run to float rounding: HardGNN's items carry the whole computation's
    values and their read rows' gradients, SelfGNN's only their read rows (each equal to
    the whole computation to rounding, tests/test_model.py), so bits may differ."""
    runs, weights = [], []
    for model_cls, p in (
            (SelfGNN, hard_params.preset_params("tiny", epoch=3, tstEpoch=1)),
            (HardGNN, hard_params.preset_params("tiny", cl_weight=0.0, hard_k=3, epoch=3,
                                                tstEpoch=1))):
        p = p.replace(data_dir=str(tiny_data_dir), out_dir=str(tmp_path / model_cls.__name__))
        data = data_handler.load_dataset(os.path.join(str(tiny_data_dir), "tiny"), p.graphNum,
                                         p.testSize)
        t = trainer.Trainer(p, data, model_cls=model_cls, logger=trainer.Logger(io.StringIO()))
        runs.append(t.run())
        weights.append({n: v.numpy() for n, v in t.model.tf1_variables()})
    selfgnn, hard = runs
    # The embeddings, the LSTM and the SAL's meta network. Not the attention weights:
    # softmax ignores the key biases and the sequence branch's one-token attention its
    # queries and keys, so their gradients are rounding noise, which Adam scales up to
    # steps of size lr (the original does the same).
    for name in ("uEmbed", "iEmbed", "rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel",
                 "meta2", "meta3"):
        np.testing.assert_allclose(weights[1][name], weights[0][name], rtol=1e-3, atol=1e-5,
                                   err_msg=name)
    assert [e["test"] for e in selfgnn["epochs"]] == [e["test"] for e in hard["epochs"]]
    assert selfgnn["final_test"] == hard["final_test"]
    for a, b in zip(selfgnn["epochs"], hard["epochs"]):
        for key in ("Loss", "preLoss", "regLoss", "sslLoss"):
            assert b["train"][key] == pytest.approx(a["train"][key], rel=1e-5), key
        assert b["train"]["clLoss"] > 0


def seen_of(model, b):
    users, targets, weights = model.batch_rows(b)
    return model.seen(users, targets, weights)


def test_dns_with_a_pool_covering_the_catalogue_picks_the_best_unseen_item():
    """With H = 400 draws over 12 items every unseen item is in each pool (almost surely):
    the DNS negative is then the best-scoring never-interacted item of the pair's user."""
    model, train = make_model(neg_mode="dns", dns_pool=400)
    b = batch(model)
    outputs = model.forward(b, training=False)
    got = model.rec_negatives(outputs, b, None, seen_of(model, b))["preds"].numpy()
    nodes, att = outputs["nodes"], outputs["att_user"]
    for pair in range(5, 10):
        user, row = b.uids[pair], b.u_locs[pair]
        banned = set(train[user].indices) | {b.iids[pair - 5]}
        scores = [float(model.pair_scores(nodes, att, [user], [i], [row])[0])
                  if i not in banned else -np.inf for i in range(I)]
        assert got[pair] == pytest.approx(max(scores), rel=1e-5)
    np.testing.assert_array_equal(got[:5], outputs["preds"].numpy()[:5])


def test_mix_equals_dns_with_the_soft_factor():
    """Scores are linear in the item embedding: mixing the negative with the positive
    (alpha) gives f d with f = 1 - alpha, SDNS's soft factor (same pools: same seed)."""
    b = batch(make_model()[0])
    terms = {}
    for name, kw in (("mix", dict(neg_mode="mix", mix_alpha=0.3)),
                     ("soft", dict(neg_mode="dns", soft_alpha=0.3))):
        model = make_model(**kw)[0]
        terms[name] = {k: float(v) for k, v in model.compute_loss(b, training=False).items()}
    assert terms["mix"]["preLoss"] == pytest.approx(terms["soft"]["preLoss"], rel=1e-5)
    assert terms["mix"]["preLoss"] != pytest.approx(
        {k: float(v) for k, v in make_model(neg_mode="dns")[0].compute_loss(
            b, training=False).items()}["preLoss"], rel=1e-3)


def test_shared_negatives_are_one_set_unseen_by_the_whole_batch():
    for mode in ("hard", "random"):
        model, train = make_model(neg_mode=mode, shared_negatives=True)
        users, targets = np.array([0, 1, 3, 2], np.int32), np.array([5, 7, 9, 4], np.int32)
        weights = tf.constant([1.0, 1.0, 1.0, 0.0])  # row 3 (user 2) is padding
        seen = model.seen(users, targets, weights)
        mined = model.mine(tf.constant(np.random.default_rng(0).normal(size=(B, 8)), tf.float32),
                           tf.math.l2_normalize(tf.random.normal([I, 8]), -1), users, seen,
                           weights).numpy()
        assert (mined == mined[0]).all() and len(set(mined[0])) == K
        banned = set(train[[0, 1, 3]].indices) | {5, 7, 9}
        assert not set(mined[0]) & banned


def test_ppr_mode_mines_inside_the_users_band():
    model, train = make_model(neg_mode="ppr", ppr_band="0.25,0.75")
    model.start_epoch(0)
    bands = model.ppr_band.numpy()
    assert bands.shape == (U, 6)  # ranks 3..8 of 12 items
    users = np.array([0, 1, 3, 2], np.int32)
    mined = model.mine(None, None, users, None, tf.ones([B])).numpy()
    for row, u in enumerate(users):
        assert set(mined[row]) <= set(bands[u])
        assert not set(bands[u]) & set(train[u].indices)


def test_curriculum_has_no_contrastive_term_in_the_first_epoch():
    model, _ = make_model(curriculum=True, cl_weight=0.5)
    b = batch(model)
    model.start_epoch(0)
    assert float(model.compute_loss(b, training=False)["clLoss"]) == 0.0
    model.start_epoch(1)
    assert float(model.compute_loss(b, training=False)["clLoss"]) > 0.0


@pytest.mark.parametrize("flags,message", [
    (dict(neg_mode="dns", hard_in_rec=True), "--hard_in_rec does nothing"),
    (dict(neg_mode="ppr", shared_negatives=True), "--shared_negatives is not available"),
    (dict(soft_alpha=1.0), r"--soft_alpha must be in \[0, 1\)"),
    (dict(dns_pool=0), "--dns_pool must be >= 1"),
    (dict(ppr_band="0.5"), "--ppr_band must be LOW,HIGH"),
])
def test_bad_strategy_flags(flags, message):
    with pytest.raises(ValueError, match=message):
        make_model(**flags)


@pytest.mark.parametrize("flags", [
    dict(neg_mode="dns"), dict(neg_mode="mix", rec_loss="bpr"), dict(neg_mode="ppr"),
    dict(neg_mode="random", shared_negatives=True, soft_alpha=0.2),
    dict(curriculum=True, hard_in_rec=True),
])
@pytest.mark.slow
def test_every_strategy_trains_on_tiny_data(tiny_data_dir, tmp_path, flags):
    t = tiny_trainer(tiny_data_dir, tmp_path, HardGNN, preset=hard_params.preset_params,
                     hard_k=3, epoch=2, tstEpoch=1, **flags)
    result = t.run()
    assert result["status"] == "finished"
    assert all(np.isfinite(e["train"]["Loss"]) for e in result["epochs"])
    if flags.get("curriculum"):
        assert result["epochs"][0]["train"]["clLoss"] == 0.0  # epoch 1: no hard negative
        assert result["epochs"][1]["train"]["clLoss"] > 0.0


class WholeHardGNN(HardGNN):
    def read_rows(self, batch):
        return None, None


@pytest.mark.parametrize("flags", [
    dict(), dict(hard_in_rec=True), dict(neg_mode="dns"), dict(neg_mode="mix"),
    dict(neg_mode="random", hard_in_rec=True), dict(hard_anchor="long_term"),
    dict(hard_anchor="short_term"), dict(shared_negatives=True, hard_in_rec=True),
    dict(sequence_branch="paper", hard_in_rec=True)])
def test_read_rows_give_the_whole_loss_and_gradients(flags):
    """Every item's values without gradient for the mining, the gradient through the read
    rows (the batch's, the mined and the pooled items) only."""
    from tests.test_model import assert_same_loss_and_gradients
    ours, whole = (make_model(cls, cl_weight=0.5, **flags)[0] for cls in (HardGNN, WholeHardGNN))
    b = batch(ours)
    users, items = ours.read_rows(b)
    assert sorted(users.numpy()) == [2, 4] and sorted(items.numpy()) == [0, 1, 2, 3, 4, 8, 9,
                                                                         10, 11]
    assert_same_loss_and_gradients(ours, whole, b)
    assert ours.forward(b, training=True)["draws"]["mined"].shape == (B, K)


def test_seen_is_each_rows_training_items_and_target():
    """By hand from the training matrix (including a user listed twice and one with none)."""
    model, train = make_model()
    users = np.array([3, 0, 3, 5], np.int32)  # user 5 has no training item
    targets = np.array([7, 11, 2, 4], np.int32)
    got = model.seen(users, targets, np.ones(B, np.float32)).numpy()
    dense = train.toarray() > 0
    expected = dense[users]
    expected[np.arange(B), targets] = True
    np.testing.assert_array_equal(got, expected)
    assert got[3].sum() == 1 and got[0].sum() == 4  # user 3: items 5, 6, 0 and target 7
