"""SelfGNN model tests: a NumPy forward pass of the same weights, and the traps."""
import numpy as np
import pytest
import tensorflow as tf

from selfgnn import params as params_lib
from selfgnn.model import EveryRowSelfGNN, SelfGNN
from selfgnn.sampler import TrainBatch
from tests.numpy_reference import act, np_nodes, np_sequence

U, I = 7, 9


def make_params(**kw):
    base = dict(graphNum=2, gnn_layer=2, att_layer=2, latdim=8, num_attention_heads=2, ssldim=4,
                pos_length=5, batch=4, leaky=0.5, reg=0.01, ssl_reg=0.1, keepRate=0.5, seed=3)
    base.update(kw)
    return params_lib.preset_params("none", **base)


def make_edges(seed=0, graphs=2):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, U, 12).astype(np.int32), rng.integers(0, I, 12).astype(np.int32))
            for _ in range(graphs)]


def make_model(seed=0, cls=SelfGNN, **kw):
    model = cls(make_params(**kw), U, I, make_edges(seed, kw.get("graphNum", 2)))
    rng = np.random.default_rng(seed + 10)
    for _, var in model.tf1_variables():  # non-trivial biases, gammas and betas too
        if "Bias" in var.name or "bias" in var.name or "LayerNorm" in var.name:
            var.assign(var + rng.normal(0, 0.1, var.shape).astype(np.float32))
    return model


def test_forward_matches_numpy_reference():
    model = make_model()
    edges = make_edges(0)
    us, its, fu, fi = np_nodes(model, edges)
    nodes = model.node_embeddings(training=False)
    np.testing.assert_allclose(tf.stack(nodes.user_short).numpy(), us, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tf.stack(nodes.item_short).numpy(), its, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(nodes.final_user.numpy(), fu, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(nodes.final_item.numpy(), fi, rtol=1e-3, atol=1e-4)

    seq = np.array([[0, 0, 3, 1, 2], [0, 0, 0, 0, 0], [4, 5, 6, 7, 8], [0, 0, 0, 0, 0]], np.int32)
    mask = np.array([[0, 0, 1, 1, 1], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0] * 5], np.float32)
    users = np.array([1, 2, 3, 0], np.int32)
    cands = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 0, 0]], np.int32)
    att = np_sequence(model, fi, seq, mask)
    expected = (np.einsum("bd,bcd->bc", fu[users], fi[cands])
                + np.einsum("bd,bcd->bc", act(att), fi[cands]))
    got = model.candidate_scores(nodes, users, cands, seq, mask).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)
    # Training-time pair scores (lines 169-173) of user 1 (batch row 0) and items 0, 1, 2.
    pairs = model.pair_scores(nodes, tf.constant(att, tf.float32), np.ones(3, np.int32),
                              cands[0], np.zeros(3, np.int32)).numpy()
    np.testing.assert_allclose(pairs, expected[0], rtol=1e-3, atol=1e-3)


def test_one_lstm_shared_by_users_and_items():
    model = make_model()
    names = [n for n, _ in model.tf1_variables()]
    assert sum("basic_lstm_cell" in n for n in names) == 2
    before = model.node_embeddings(training=False)
    model.lstm.kernel.assign(model.lstm.kernel * 2.0)
    after = model.node_embeddings(training=False)
    assert not np.allclose(before.final_user.numpy(), after.final_user.numpy())
    assert not np.allclose(before.final_item.numpy(), after.final_item.numpy())


def test_dropout_only_in_training():
    model = make_model()
    a = model.node_embeddings(training=False).final_user.numpy()
    b = model.node_embeddings(training=False).final_user.numpy()
    c = model.node_embeddings(training=True).final_user.numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    one = make_model(keepRate=1.0)
    np.testing.assert_allclose(one.node_embeddings(True).final_user.numpy(),
                               one.node_embeddings(False).final_user.numpy(), rtol=1e-6)


def test_tf1_variable_names_for_amazon_preset_match_the_original_checkpoint():
    p = params_lib.preset_params("amazon", latdim=64)
    model = SelfGNN(p, 5, 6, [(np.zeros(1, np.int32), np.zeros(1, np.int32))] * p.graphNum)
    named = dict(model.tf1_variables())
    assert len(named) == 92
    assert sorted(n for n in named if n.startswith("LayerNorm")) == sorted(
        f"LayerNorm{s}/{v}" for s in [""] + [f"_{i}" for i in range(1, 8)] for v in ("beta", "gamma"))
    assert {n for n in named if n.startswith("defaultParamName")} == {
        f"defaultParamName{i}" for i in range(1, 31)}
    assert {n for n in named if n.startswith("dense")} == {
        f"dense{s}/{v}" for s in [""] + [f"_{i}" for i in range(1, 18)] for v in ("kernel", "bias")}
    shapes = {n: v.shape.as_list() for n, v in named.items()}
    assert shapes["uEmbed"] == [5, 5, 64] and shapes["iEmbed"] == [5, 6, 64]
    assert shapes["meta2"] == [192, 32] and shapes["meta3"] == [32, 1]
    assert shapes["timeEmbed"] == [2, 64] and shapes["posEmbed"] == [200, 64]
    assert shapes["rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel"] == [128, 256]
    order = [n for n, _ in model.tf1_variables()]
    assert order[:4] == ["uEmbed", "iEmbed", "posEmbed", "timeEmbed"]
    assert order.index("LayerNorm/beta") < order.index("dense/kernel") < order.index(
        "LayerNorm_1/beta") < order.index("dense_3/kernel") < order.index("LayerNorm_2/beta")


# Every (name, shape) of a checkpoint that the ORIGINAL SelfGNN code saved with
# tf.train.Saver under the amazon preset (graphNum 5, gnn_layer 3, att_layer 4, latdim 64,
# ssldim 32, pos_length 200) on 11,199 users and 30,821 items, read from that checkpoint
# (not generated by the port). Not included: each trainable variable's NAME/Adam and
# NAME/Adam_1 slots (same shape as NAME).
ORIGINAL_AMAZON_USERS, ORIGINAL_AMAZON_ITEMS = 11199, 30821
ORIGINAL_AMAZON_CHECKPOINT = """
LayerNorm/beta [64]
LayerNorm/gamma [64]
LayerNorm_1/beta [64]
LayerNorm_1/gamma [64]
LayerNorm_2/beta [64]
LayerNorm_2/gamma [64]
LayerNorm_3/beta [64]
LayerNorm_3/gamma [64]
LayerNorm_4/beta [64]
LayerNorm_4/gamma [64]
LayerNorm_5/beta [64]
LayerNorm_5/gamma [64]
LayerNorm_6/beta [64]
LayerNorm_6/gamma [64]
LayerNorm_7/beta [64]
LayerNorm_7/gamma [64]
Variable []
beta1_power []
beta2_power []
defaultParamName1 [64, 64]
defaultParamName2 [64, 64]
defaultParamName3 [64, 64]
defaultParamName4 [64, 64]
defaultParamName5 [64, 64]
defaultParamName6 [64, 64]
defaultParamName7 [64, 64]
defaultParamName8 [64, 64]
defaultParamName9 [64, 64]
defaultParamName10 [64, 64]
defaultParamName11 [64, 64]
defaultParamName12 [64, 64]
defaultParamName13 [64, 64]
defaultParamName14 [64, 64]
defaultParamName15 [64, 64]
defaultParamName16 [64, 64]
defaultParamName17 [64, 64]
defaultParamName18 [64, 64]
defaultParamName19 [64, 64]
defaultParamName20 [64, 64]
defaultParamName21 [64, 64]
defaultParamName22 [64, 64]
defaultParamName23 [64, 64]
defaultParamName24 [64, 64]
defaultParamName25 [64, 64]
defaultParamName26 [64, 64]
defaultParamName27 [64, 64]
defaultParamName28 [64, 64]
defaultParamName29 [64, 64]
defaultParamName30 [64, 64]
dense/bias [64]
dense/kernel [64, 64]
dense_1/bias [64]
dense_1/kernel [64, 64]
dense_2/bias [64]
dense_2/kernel [64, 64]
dense_3/bias [64]
dense_3/kernel [64, 64]
dense_4/bias [64]
dense_4/kernel [64, 64]
dense_5/bias [64]
dense_5/kernel [64, 64]
dense_6/bias [64]
dense_6/kernel [64, 64]
dense_7/bias [64]
dense_7/kernel [64, 64]
dense_8/bias [64]
dense_8/kernel [64, 64]
dense_9/bias [64]
dense_9/kernel [64, 64]
dense_10/bias [64]
dense_10/kernel [64, 64]
dense_11/bias [64]
dense_11/kernel [64, 64]
dense_12/bias [64]
dense_12/kernel [64, 64]
dense_13/bias [64]
dense_13/kernel [64, 64]
dense_14/bias [64]
dense_14/kernel [64, 64]
dense_15/bias [64]
dense_15/kernel [64, 64]
dense_16/bias [64]
dense_16/kernel [64, 64]
dense_17/bias [64]
dense_17/kernel [64, 64]
iEmbed [5, 30821, 64]
meta2Bias [32]
meta2 [192, 32]
meta3Bias [1]
meta3 [32, 1]
posEmbed [200, 64]
rnn/multi_rnn_cell/cell_0/basic_lstm_cell/bias [256]
rnn/multi_rnn_cell/cell_0/basic_lstm_cell/kernel [128, 256]
timeEmbed [2, 64]
uEmbed [5, 11199, 64]
"""
OPTIMIZER_SCALARS = {"Variable", "beta1_power", "beta2_power"}


def original_amazon_checkpoint():
    """{name: shape} of the literal list above."""
    out = {}
    for line in ORIGINAL_AMAZON_CHECKPOINT.strip().splitlines():
        name, shape = line.split(" ", 1)
        assert name not in out, name
        out[name] = [int(s) for s in shape.strip("[]").split(",") if s.strip()]
    return out


def test_tf1_variables_for_amazon_preset_equal_the_original_checkpoint_list():
    """Independent of the port: names and shapes as the original's Saver wrote them.

    Small user/item counts (only uEmbed and iEmbed depend on them): those two shapes are
    compared with the counts used here, everything else with the checkpoint's shapes.
    """
    original = original_amazon_checkpoint()
    assert len(original) == 92 + 3
    assert sum(n.startswith("dense") for n in original) == 2 * (2 * 3 + 4 * 3)  # 18 dense layers
    users, items = 5, 6
    p = params_lib.preset_params("amazon")
    assert (p.graphNum, p.gnn_layer, p.att_layer, p.latdim, p.ssldim, p.pos_length) == (
        5, 3, 4, 64, 32, 200)
    model = SelfGNN(p, users, items, [(np.zeros(1, np.int32), np.zeros(1, np.int32))] * p.graphNum)
    expected = {n: s for n, s in original.items() if n not in OPTIMIZER_SCALARS}
    assert expected.pop("uEmbed") == [5, ORIGINAL_AMAZON_USERS, 64]
    assert expected.pop("iEmbed") == [5, ORIGINAL_AMAZON_ITEMS, 64]
    expected["uEmbed"], expected["iEmbed"] = [5, users, 64], [5, items, 64]
    got = [(n, v.shape.as_list()) for n, v in model.tf1_variables()]
    assert len(got) == len({n for n, _ in got})  # no name twice
    assert {(n, tuple(s)) for n, s in got} == {(n, tuple(s)) for n, s in expected.items()}


def test_exported_amazon_checkpoint_holds_exactly_the_original_checkpoint_list(tmp_path):
    """The same list through `export_tf1`: model variables, NAME/Adam and NAME/Adam_1 of
    each, beta1_power, beta2_power and the global step 'Variable'."""
    from selfgnn import tf1_checkpoint
    from selfgnn.optimizer import TF1Adam
    users, items = 5, 6
    p = params_lib.preset_params("amazon")
    model = SelfGNN(p, users, items, [(np.zeros(1, np.int32), np.zeros(1, np.int32))] * p.graphNum)
    optimizer = TF1Adam(model.tf1_variables(), p.lr, 0.96, 10)
    path = tf1_checkpoint.export_tf1(str(tmp_path / "amazon"), model, optimizer)
    stored = {n: list(s) for n, s in tf.train.load_checkpoint(path)
              .get_variable_to_shape_map().items()}
    expected = original_amazon_checkpoint()
    expected["uEmbed"], expected["iEmbed"] = [5, users, 64], [5, items, 64]
    for name, shape in list(expected.items()):
        if name not in OPTIMIZER_SCALARS:
            expected[f"{name}/Adam"] = expected[f"{name}/Adam_1"] = shape
    assert len(expected) == 3 * 92 + 3
    assert stored == expected


def test_regularized_set_is_the_originals():
    model = make_model()
    reg = {v.name.split(":")[0] for v in model.regularized}
    expected = {"uEmbed", "iEmbed", "posEmbed", "timeEmbed", "meta2", "meta3"} | {
        f"defaultParamName{i}" for i in range(1, 2 * 2 * 2 + 1)}
    assert reg == expected


def batch_from(uids, iids, u_locs, ssl, model):
    p = model.params
    seq = np.zeros([p.batch, p.pos_length], np.int32)
    mask = np.zeros([p.batch, p.pos_length], np.float32)
    seq[0, -2:], mask[0, -2:] = [1, 2], 1
    return TrainBatch(np.array(uids, np.int32), np.array(iids, np.int32),
                      np.array(u_locs, np.int32), seq, mask,
                      tuple(np.array(s[0], np.int32) for s in ssl),
                      tuple(np.array(s[1], np.int32) for s in ssl))


def test_loss_terms_match_numpy():
    model = make_model(keepRate=1.0)
    ssl = [([0, 0, 1, 1, 2, 2], [1, 2, 3, 4, 5, 6]), ([3, 3], [0, 8])]
    batch = batch_from([0, 1, 0, 1], [1, 2, 5, 6], [0, 1, 0, 1], ssl, model)
    terms = {k: v.numpy() for k, v in model.compute_loss(batch, training=True).items()}
    us, its, fu, fi = np_nodes(model, make_edges(0))
    att = np_sequence(model, fi, batch.sequence, batch.mask)
    preds = (fu[batch.uids] * fi[batch.iids]).sum(-1) + (act(att[batch.u_locs])
                                                         * fi[batch.iids]).sum(-1)
    pre = np.maximum(0, 1 - (preds[:2] - preds[2:])).mean()
    np.testing.assert_allclose(terms["preLoss"], pre, rtol=1e-3)
    ssl_total = 0.0
    for k, (su, si) in enumerate(ssl):
        su, si = np.array(su), np.array(si)
        meta = np.concatenate([fu[su] * us[k][su], fu[su], us[k][su]], -1)
        hidden = act(meta @ model.meta2.numpy() + model.meta2Bias.numpy())
        w = 1 / (1 + np.exp(-(hidden @ model.meta3.numpy() + model.meta3Bias.numpy())[:, 0]))
        long = act(fu[su] * fi[si]).sum(-1)
        short = act(us[k][su] * its[k][si]).sum(-1)
        n = len(su) // 2  # first half vs second half, not the interleaved pos/neg
        target = w[:n] * long[:n] - w[n:] * long[n:]
        ssl_total += np.maximum(0, 1 - target * (short[:n] - short[n:])).sum()
    np.testing.assert_allclose(terms["sslLoss"], ssl_total, rtol=1e-3)
    l2 = sum((v.numpy().astype(np.float64) ** 2).sum() for v in model.regularized)
    np.testing.assert_allclose(terms["regLoss"], 0.01 * l2 + 0.1 * ssl_total, rtol=1e-3)
    np.testing.assert_allclose(terms["Loss"], terms["preLoss"] + terms["regLoss"], rtol=1e-6)


def test_empty_ssl_lists_give_zero_ssl_loss():
    model = make_model()
    batch = batch_from([0, 0], [1, 2], [0, 0], [([], []), ([], [])], model)
    assert model.compute_loss(batch)["sslLoss"].numpy() == 0.0


def test_sequence_attention_q_k_get_almost_no_gradient():
    """Attention over one token: weights exp(s) / (exp(s) + 1e-8) ~ 1, so Q and K barely matter."""
    model = make_model(keepRate=1.0)
    batch = batch_from([0, 1, 0, 1], [1, 2, 5, 6], [0, 0, 0, 0], [([], []), ([], [])], model)
    att = model.sequence_attention[0]
    with tf.GradientTape() as tape:
        loss = model.compute_loss(batch)["preLoss"]
    gq, gv = tape.gradient(loss, [att.q.kernel, att.v.kernel])
    assert np.abs(gq.numpy()).max() < 1e-6 * max(np.abs(gv.numpy()).max(), 1e-3)


def loss_and_gradients(model, batch):
    variables = [v for _, v in model.tf1_variables()]
    with tf.GradientTape() as tape:
        terms = model.compute_loss(batch, training=True)
    grads = tape.gradient(terms["Loss"], variables)
    return ({k: v.numpy() for k, v in terms.items()},
            [None if g is None else tf.convert_to_tensor(g).numpy() for g in grads])


def assert_same_loss_and_gradients(ours, whole, batch):
    (terms, grads), (terms_w, grads_w) = (loss_and_gradients(m, batch) for m in (ours, whole))
    for key in terms_w:
        np.testing.assert_allclose(terms[key], terms_w[key], rtol=1e-6, err_msg=key)
    # One scale for all: the attention key biases' gradients are zero up to rounding
    # (softmax ignores a constant added to every score), so per variable they are noise.
    scale = max(np.abs(g).max() for g in grads_w if g is not None)
    for (name, _), g, g_w in zip(whole.tf1_variables(), grads, grads_w):
        assert (g is None) == (g_w is None), name
        if g is not None:
            np.testing.assert_allclose(g, g_w, rtol=1e-4, atol=1e-6 * scale, err_msg=name)


@pytest.mark.parametrize("keep", [1.0, 0.5])
def test_node_stage_on_the_read_rows_gives_the_whole_loss_and_gradients(keep):
    """Two users and a few items are read; the rest of the node stage is skipped."""
    ssl = [([0, 0, 1, 1], [1, 2, 3, 4]), ([1, 1], [0, 8])]
    batch = batch_from([0, 1, 0, 1], [1, 2, 5, 6], [0, 1, 0, 1], ssl, make_model())
    ours, whole = make_model(keepRate=keep), make_model(cls=EveryRowSelfGNN, keepRate=keep)
    users, items = (r.numpy() for r in ours.read_rows(batch))
    assert sorted(users) == [0, 1] and sorted(items) == [0, 1, 2, 3, 4, 5, 6, 8]
    assert_same_loss_and_gradients(ours, whole, batch)
    nodes = ours.node_embeddings(True, rows=ours.read_rows(batch))
    assert not nodes.final_user.numpy()[2:].any() and not nodes.final_item.numpy()[7].any()


@pytest.mark.parametrize("preset,graphs,candidates", [("tiny", 3, 100), ("small", 4, 200)])
def test_node_stage_on_the_read_rows_of_a_sampled_batch(tmp_path, preset, graphs, candidates):
    from data_prep import synthetic
    from selfgnn import data_handler, sampler
    synthetic.write(synthetic.generate(synthetic.PRESETS[preset]), str(tmp_path / preset))
    p = params_lib.preset_params("tiny", graphNum=graphs, testSize=candidates)
    data = data_handler.load_dataset(str(tmp_path / preset), p.graphNum, p.testSize)
    ours, whole = (cls.from_dataset(p, data) for cls in (SelfGNN, EveryRowSelfGNN))
    draw = sampler.Sampler(data.sequences, data.train_mat, data.sub_mats, data.tst_int,
                           data.test_dict, p, np.random.default_rng(0))
    batch = draw.train_batch(draw.epoch_users()[:p.batch])
    users, items = ours.read_rows(batch)
    assert len(users.numpy()) == p.batch < data.num_users
    assert len(items.numpy()) < data.num_items or preset == "tiny"  # tiny: every item read
    assert_same_loss_and_gradients(ours, whole, batch)


def test_no_read_rows_on_the_plain_path_or_under_xla():
    batch = batch_from([0, 1], [1, 2], [0, 1], [([], []), ([], [])], make_model())
    assert make_model(jit_compile=True).read_rows(batch) == (None, None)
    from selfgnn.model import PlainSelfGNN
    assert make_model(cls=PlainSelfGNN).read_rows(batch) == (None, None)


def test_graph_count_must_match():
    with pytest.raises(ValueError, match="graphNum"):
        SelfGNN(make_params(), U, I, make_edges(0, graphs=1))
