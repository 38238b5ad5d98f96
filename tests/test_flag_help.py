"""--help's groups and a run's describing line."""
from hardgnn import params as hard_params
from selfgnn import flag_help, main_flags, params


def test_usage_lists_every_flag_once_in_its_group():
    groups = main_flags.help_groups()
    listed = [spec[0] for _, specs in groups for spec in specs]
    assert sorted(listed) == sorted(spec[0] for spec in main_flags.SPECS)
    text = flag_help.usage(groups, "Doc line.")
    assert text.startswith("Doc line.\n\nSelfGNN model")
    assert "Data and protocol:\n  --data (str, default 'yelp')\n" in text
    assert "  --nan_policy (stop|skip_batch, default 'stop')\n" in text


def test_describe_names_the_model_and_its_key_flags():
    p = params.preset_params("tiny", seed=3)
    assert flag_help.describe(p, "selfgnn") == (
        "Model selfgnn: --data tiny --seed 3 --protocol original --epoch 3 --lr 0.01 --batch 32 "
        "--latdim 16 --graphNum 3")
    h = hard_params.preset_params("tiny", hard_k=2)
    assert flag_help.describe(h, "hardgnn").startswith("Model hardgnn: --data tiny")
    assert flag_help.describe(h, "hardgnn").endswith("--hard_k 2 --cl_weight 0.1 --cl_temp 0.1 "
                                                     "--neg_mode hard --hard_anchor sequence")
