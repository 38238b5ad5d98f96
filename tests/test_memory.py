"""The memory lower bound: hand-counted bytes, growth with the sizes, presets, absurd sizes."""
import os

import numpy as np
import pytest

from hardgnn import params as hard_params
from selfgnn import memory, params

GIB = 2 ** 30

# Users and items of the paper's data sets (the released pickles, as in the synthetic
# presets amazonlike ... yelplike), and of the prepared MovieLens sets.
SIZES = {"amazon": (11199, 30821), "gowalla": (48653, 52621), "movielens": (24312, 8688),
         "yelp": (19751, 38391), "ml-100k": (943, 1682), "ml-1m": (6040, 3706),
         "ml-1m-sasrec": (6040, 3706)}

# The tiny preset (batch 32, pos_length 20, latdim 16, graphNum 3, gnn_layer 2,
# att_layer 2, testSize 50, ssldim 8) on 80 users and 60 items, counted by hand.
# Variables: uEmbed + iEmbed 3 * 140 * 16 = 6720, posEmbed + timeEmbed 20 * 16 + 2 * 16 = 352,
# unused time FCs 2 * 3 * 2 * 16 * 16 = 3072, LSTM 32 * 64 + 64 = 2112, six layer norms
# 6 * 32 = 192, four attentions 4 * 3 * (256 + 16) = 3264, meta 384 + 8 + 8 + 1 = 401.
TINY_VALUES = 16113
TINY_PERSISTENT = 3 * 4 * TINY_VALUES + 4 * 80 * 49   # with Adam's m and v; test negatives
# Final test: node embeddings 4 * 140 * 16 * (1 + 3) = 35840, test batch 4 * 32 * (50 + 40 + 2)
# = 11776, candidate embeddings 4 * 32 * 50 * 16 = 102400 (larger than the history's 40960).
TINY_TEST = 35840 + 11776 + 102400
# Training step: sequence and mask 8 * 32 * 20 = 5120, history embeddings 4 * 32 * 20 * 16
# = 40960, GNN outputs 4 * 3 * (2 + 1) * 140 * 16 = 80640.
TINY_TRAIN = 5120 + 40960 + 80640


def tiny(**overrides):
    return params.preset_params("tiny", **overrides)


@pytest.mark.parametrize("overrides", [{}, dict(gnn_layer=0, att_layer=1, ssldim=5, latdim=8)])
def test_model_values_count_every_variable_of_the_model(overrides):
    from selfgnn.model import SelfGNN
    p = tiny(**overrides)
    edges = [(np.array([0, 1], np.int32), np.array([2, 3], np.int32))] * p.graphNum
    model = SelfGNN(p, 80, 60, edges)
    assert memory.model_values(p, 80, 60) == sum(
        int(np.prod(var.shape)) for _, var in model.tf1_variables())


def test_tiny_configuration_by_hand():
    assert memory.model_values(tiny(), 80, 60) == TINY_VALUES
    # every run trains a step or reaches the final test: the smaller phase counts
    assert memory.estimate_bytes(tiny(), 80, 60) == TINY_PERSISTENT + min(TINY_TEST, TINY_TRAIN)
    assert memory.estimate_bytes(tiny(epoch=0), 80, 60) == TINY_PERSISTENT + TINY_TEST
    # compiled with XLA, only the training batch itself is certain
    assert memory.estimate_bytes(tiny(jit_compile=True), 80, 60) == TINY_PERSISTENT + 5120


@pytest.mark.parametrize("name,values", [
    ("batch", [512, 1024, 4096, 10 ** 5]),
    ("pos_length", [1, 50, 200, 10 ** 4]),
])
def test_estimate_grows_with_batch_and_pos_length(name, values):
    users, items = SIZES["gowalla"]
    for jit in (False, True):
        estimates = [memory.estimate_bytes(params.preset_params(
            "gowalla", trnNum=10 ** 5, jit_compile=jit, **{name: v}), users, items)
            for v in values]
        assert estimates == sorted(set(estimates)), (jit, estimates)


@pytest.mark.parametrize("data", sorted(SIZES))
def test_presets_fit_comfortably_in_24_gib(data):
    users, items = SIZES[data]
    for p in (params.preset_params(data), hard_params.preset_params(data)):
        assert memory.check_fits(p, users, items, available=24 * GIB) < GIB


def test_absurd_batch_is_refused_naming_batch():
    p = params.preset_params("gowalla", batch=10 ** 8, trnNum=10 ** 8)
    with pytest.raises(ValueError) as err:
        memory.check_fits(p, *SIZES["gowalla"], available=24 * GIB)
    message = str(err.value)
    assert message.startswith("--batch 100000000 with --pos_length 200 and --latdim 64 needs at "
                              "least 4768.4 GiB for the history embeddings of one batch")
    assert message.endswith("this machine has 24.0 GiB: lower --batch, --pos_length or --latdim")


def test_absurd_batch_under_xla_is_refused_for_the_training_batch():
    p = params.preset_params("gowalla", batch=10 ** 8, trnNum=10 ** 8, jit_compile=True)
    with pytest.raises(ValueError) as err:
        memory.check_fits(p, *SIZES["gowalla"], available=24 * GIB)
    total = memory.estimate_bytes(p, *SIZES["gowalla"]) / GIB
    assert str(err.value) == (
        f"--batch 100000000 with --pos_length 200 needs at least 149.0 GiB for one training "
        f"batch (sequence and mask [batch, pos_length], int32 and float32); the run needs at "
        f"least {total:.1f} GiB in all and this machine has 24.0 GiB: lower --batch or "
        f"--pos_length")


def test_available_defaults_to_physical_memory():
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    p = params.preset_params("gowalla", batch=10 ** 8, trnNum=10 ** 8)
    with pytest.raises(ValueError, match=f"this machine has {physical / GIB:.1f} GiB"):
        memory.check_fits(p, *SIZES["gowalla"])
    assert memory.check_fits(tiny(), 80, 60) == memory.estimate_bytes(tiny(), 80, 60)


def test_estimate_just_above_available_is_refused():
    need = memory.estimate_bytes(tiny(), 80, 60)
    assert memory.check_fits(tiny(), 80, 60, available=need) == need
    with pytest.raises(ValueError, match="in all and this machine has"):
        memory.check_fits(tiny(), 80, 60, available=need - 1)
