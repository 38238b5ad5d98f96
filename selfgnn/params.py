"""Flags of the original `Params.py`, as absl flags with the same names and defaults.

One table, `FLAG_SPECS`, defines every flag once: it drives both the absl flag
definitions (`define_flags`) and the frozen `Params` dataclass that the rest of
the code receives, so there is no global parameter registry (the original's
`args` object) and tests can build `Params` without parsing a command line.

The original parses `type=bool` flags with argparse, so `--test False` still
means True there; here they are real booleans (`--test=false`, `--notest`), and
`normalize_bool_args` rewrites the original scripts' `--test True` spelling.
`decay_step = trnNum // batch` is derived exactly as `Params.py` does.
"""
import dataclasses
import math
from typing import Any

from absl import flags

from selfgnn.presets import PRESETS

# (name, kind, default, help). kind: int, float, str, bool, enum:<a|b>.
# Flags the original defines but never reads are kept (same names, same
# defaults) so that its shell scripts run unchanged; their help says so.
_UNUSED = " (defined by the original, not used by its model)"
FLAG_SPECS = (
    ("lr", "float", 1e-3, "learning rate"),
    ("batch", "int", 512, "batch size (training and test)"),
    ("testbatch", "int", 64, "test batch size" + _UNUSED),
    ("reg", "float", 1e-5, "weight of the L2 term (plain sum of squares)"),
    ("epoch", "int", 100, "number of epochs"),
    ("graphNum", "int", 8, "number of interval graphs used"),
    ("decay", "float", 0.96, "learning-rate decay per decay_step (staircase)"),
    ("save_path", "str", "tem", "name of the run: Runs/<save_path>/ holds model and history"),
    ("latdim", "int", 64, "embedding size"),
    ("ssldim", "int", 32, "width of the SAL weight network (meta2)"),
    ("rank", "int", 4, "rank" + _UNUSED),
    ("memosize", "int", 2, "memory size" + _UNUSED),
    ("sampNum", "int", 40, "pairs per user" + _UNUSED + "; the sampler hard-codes 40"),
    ("testSize", "int", 100, "candidates per test user (testSize-1 negatives + the positive)"),
    ("sslNum", "int", 20, "SAL pairs per user and interval graph"),
    ("query_vector_dim", "int", 64, "additive attention size" + _UNUSED),
    ("num_attention_heads", "int", 16, "attention heads"),
    ("hyperNum", "int", 128, "hyper edges" + _UNUSED),
    ("gnn_layer", "int", 2, "message-passing layers per interval graph"),
    ("trnNum", "int", 10000, "training users per epoch"),
    ("load_model", "str", None, "run name to load (Runs/<load_model>/) and continue"),
    ("shoot", "int", 10, "K of the HR/NDCG reported in the Test lines"),
    ("data", "str", "yelp", "data set name: <data_dir>/<data>/ holds the four pickles"),
    ("target", "str", "buy", "target behaviour" + _UNUSED),
    ("deep_layer", "int", 0, "deep layers" + _UNUSED),
    ("mult", "float", 100.0, "result multiplier" + _UNUSED),
    ("keepRate", "float", 0.5, "keep probability of the LSTM output dropout"),
    ("slot", "float", 1.0, "time slot length" + _UNUSED),
    ("graphSampleN", "int", 15000, "graph sample size" + _UNUSED),
    ("divSize", "int", 10000, "div size" + _UNUSED),
    ("tstEpoch", "int", 3, "test every tstEpoch epochs"),
    ("subUsrSize", "int", 10, "sub-user size" + _UNUSED),
    ("subUsrDcy", "float", 0.9, "sub-user decay" + _UNUSED),
    ("leaky", "float", 0.5, "slope of leakyRelu: max(leaky * x, x)"),
    ("hyperReg", "float", 1e-4, "hyper regulariser" + _UNUSED),
    ("temp", "float", 1.0, "temperature" + _UNUSED),
    ("ssl_reg", "float", 1e-4, "weight of the SAL loss"),
    ("percent", "float", 0.0, "if > 0, load noise_<percent:.2f> instead of trn_mat_time"),
    ("pos_length", "int", 200, "maximum history length"),
    ("att_size", "int", 12000, "attention size" + _UNUSED),
    ("att_layer", "int", 4, "self-attention layers of the sequence branch"),
    ("sequence_branch", "enum:original|paper", "original",
     "original: the original code's branch, which sums the history into one token before "
     "its attention layers (order-blind); paper: the attention layers over the history's "
     "positions, padding masked, summed over the valid positions as in the paper's "
     "equation (a deviation from the code: docs/paper_vs_code.md)"),
    ("pred_num", "int", 5, "training target drawn among the last pred_num+1 items"),
    ("nfs", "bool", False, "load from nfs" + _UNUSED),
    ("test", "bool", True, "evaluate on the test item (True) or the last sequence item (False)"),
    ("ssl", "bool", True, "use SSL" + _UNUSED + "; SAL is always on"),
    ("uid", "int", -1, "print the score of this flat test pair index per test batch, "
                        "labelled (the original prints index 0 bare, always; -1: off)"),
    # Flags of the port (not in the original); README lists them.
    ("data_dir", "str", "Datasets", "folder holding <data>/ (the original's ./Datasets)"),
    ("preset", "str", "", "apply this data set's shell-script values (amazon, gowalla, "
                          "movielens, yelp, ...) to --data of another name; the run folder is "
                          "<data> unless --save_path is given"),
    ("out_dir", "str", "Runs", "folder holding one run folder per save_path"),
    ("seed", "int", 100, "seed of numpy sampling, initialisers and dropout (the original's 100)"),
    ("eval_history", "enum:original|exclude_target", "original",
     "test history: 'original' feeds the whole sequence, which ends with the test item; "
     "'exclude_target' removes the test item from it (deviation)"),
    ("val_item", "enum:last|before_test", "last",
     "positive with --test=false: 'last' = sequence[u][-1] as the original (for a test user "
     "that is the test item); 'before_test' = sequence[u][-2], a validation item"),
    ("load_tf1_checkpoint", "str", "",
     "prefix of an original TF1 checkpoint (Models/<save_path>) to load before training"),
    ("export_tf1_checkpoint", "str", "",
     "prefix to write the best model under the original's TF1 names at the end"),
    ("allow_empty_graphs", "bool", False,
     "accept an interval graph with no edge, as the original does (one dummy edge (0, 0)); "
     "by default it is an error"),
    ("resume", "bool", True,
     "continue an unfinished run found in <out_dir>/<save_path> at its next epoch "
     "(--noresume starts it over)"),
    ("deterministic", "bool", False,
     "TF op determinism: a killed and resumed run ends with the metrics of an uninterrupted one"),
    ("nan_policy", "enum:stop|skip_batch", "stop",
     "a NaN/Inf loss or gradient stops the run (keeping the last good checkpoint) or skips the batch"),
    ("max_skipped", "float", 0.1,
     "with --nan_policy skip_batch, the run fails once more than this fraction of its steps "
     "so far were skipped"),
    ("select_on", "enum:test|validation", "test",
     "best epoch by test NDCG (the original) or by NDCG on the 'before_test' validation item"),
    ("jit_compile", "bool", False,
     "compile the training step with XLA (tf.function(jit_compile=True)), for GPUs; on this "
     "2-core CPU a step took 8x longer; fused arithmetic changes the last bits"),
    ("strategy", "enum:default|mirrored|multi_worker|one_device", "default",
     "tf.distribute strategy: 'mirrored' = all local GPUs, 'multi_worker' = the TF_CONFIG "
     "cluster, 'one_device' = the first GPU (or the CPU); the batch's users are split over "
     "the replicas"),
    ("spread_graphs", "bool", True,
     "with --strategy mirrored or multi_worker, each replica propagates its block of the "
     "graphNum interval graphs (ceil(G / replicas)) and the blocks are all-gathered, instead "
     "of every replica propagating all of them; the same results to float rounding"),
    ("protocol", "enum:original|clean", "original",
     "original: the paper's protocol (a test user's validation item sequence[u][-2] is a "
     "training target, best epoch chosen on test NDCG, test history with the test item); "
     "clean: the validation item is held out of training, the best epoch is chosen on it "
     "(sets --select_on validation) and the test history excludes the test item (sets "
     "--eval_history exclude_target)"),
    ("tf_log_level", "int", 3,
     "TensorFlow's C++ log level (TF_CPP_MIN_LOG_LEVEL, unless set): 3 also hides its "
     "start-up banner and the CUDA probe on a CPU machine; 0 shows everything"),
    ("mixed_precision", "bool", False,
     "run the node embeddings' LSTM and attention in bfloat16 (variables, layer norms, graphs "
     "and losses stay float32); for GPUs with bfloat16 (A100, H100); changes results"),
)

_PY_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _field_type(kind):
    return str if kind.startswith("enum:") else _PY_TYPES[kind]


def make_params_class(specs, name="Params"):
    """A frozen dataclass with one field per flag of `specs` (defaults = flag defaults)."""
    return dataclasses.make_dataclass(
        name,
        [(n, Any, dataclasses.field(default=default)) for n, _, default, _ in specs],
        frozen=True,
        namespace={
            "specs": specs,
            "decay_step": property(lambda self: self.trnNum // self.batch),
            "replace": lambda self, **kw: dataclasses.replace(self, **kw),
            "__doc__": "Frozen run configuration; field names are the original's flag names.",
        },
    )


Params = make_params_class(FLAG_SPECS)


def _check(ok, message):
    if not ok:
        raise ValueError(message)


CLEAN_PROTOCOL = {"select_on": "validation", "eval_history": "exclude_target"}
"""The values `--protocol clean` implies (and refuses to see contradicted)."""


def apply_protocol(values, given):
    """Sets CLEAN_PROTOCOL's values under `--protocol clean`; `given`: explicit flag names."""
    if values.get("protocol") != "clean":
        return values
    for name, want in CLEAN_PROTOCOL.items():
        if name in given and values[name] != want:
            raise ValueError(f"--protocol clean chooses the epoch on the validation item and "
                             f"excludes the test item from the test history, but --{name} "
                             f"{values[name]} was given; drop --{name} or use --protocol original")
        values[name] = want
    return values


def check_params(p):
    """Raises ValueError naming the flag and the fix when a value is out of range."""
    for name, kind, _, _ in p.specs:
        value = getattr(p, name)
        if value is None and name == "load_model":
            continue
        _check(isinstance(value, _field_type(kind)) or (kind == "float" and isinstance(value, int)
                                                        and not isinstance(value, bool)),
               f"--{name}: expected {kind}, got {value!r}")
        _check(kind != "float" or math.isfinite(value),
               f"--{name} must be a finite number, got {value}")
    positive_ints = ("batch", "epoch", "graphNum", "latdim", "ssldim", "testSize",
                     "num_attention_heads", "trnNum", "shoot", "tstEpoch", "pos_length")
    for name in positive_ints:
        lower = 0 if name == "epoch" else 1
        _check(getattr(p, name) >= lower, f"--{name} must be >= {lower}, got {getattr(p, name)}")
    _check(p.testSize >= 2, f"--testSize must be >= 2 (one positive and at least one negative), "
                            f"got {p.testSize}")
    for name in ("gnn_layer", "att_layer", "sslNum", "pred_num"):
        _check(getattr(p, name) >= 0, f"--{name} must be >= 0, got {getattr(p, name)}")
    for name in ("reg", "ssl_reg", "percent"):
        _check(getattr(p, name) >= 0, f"--{name} must be >= 0, got {getattr(p, name)}")
    _check(p.lr > 0, f"--lr must be > 0, got {p.lr}")
    _check(0 < p.decay <= 1, f"--decay must be in (0, 1], got {p.decay}")
    _check(0 < p.keepRate <= 1, f"--keepRate must be in (0, 1] (a keep probability), "
                                f"got {p.keepRate}")
    _check(p.latdim % p.num_attention_heads == 0,
           f"--latdim ({p.latdim}) must be divisible by --num_attention_heads "
           f"({p.num_attention_heads})")
    _check(p.decay_step >= 1,
           f"--trnNum ({p.trnNum}) must be >= --batch ({p.batch}): the learning-rate decay step "
           f"is trnNum // batch and would be 0")
    _check(p.uid >= -1, f"--uid must be >= -1, got {p.uid}")
    _check(0 <= p.tf_log_level <= 3, f"--tf_log_level must be in 0..3, got {p.tf_log_level}")
    _check(0 <= p.max_skipped <= 1, f"--max_skipped must be in [0, 1] (a fraction of the "
                                     f"steps), got {p.max_skipped}")
    _check(not (p.load_model and p.load_tf1_checkpoint),
           "--load_model and --load_tf1_checkpoint both load a model; give one of them")
    _check(p.protocol != "clean" or all(getattr(p, k) == v for k, v in CLEAN_PROTOCOL.items()),
           "--protocol clean needs --select_on validation and --eval_history exclude_target")
    _check(p.save_path not in ("", ".", "..") and not any(c in p.save_path for c in "/\\"),
           f"--save_path {p.save_path!r} is not a folder name inside --out_dir (it must not be "
           f"empty, '.' or '..', nor contain '/' or '\\'); pass a plain folder name such as "
           f"amazon")
    return p


def define_flags(flag_values=flags.FLAGS, specs=FLAG_SPECS):
    """Defines every flag of `specs` on `flag_values` (once)."""
    definers = {"int": flags.DEFINE_integer, "float": flags.DEFINE_float,
                "str": flags.DEFINE_string, "bool": flags.DEFINE_bool}
    for name, kind, default, help_text in specs:
        if name in flag_values:
            continue
        if kind.startswith("enum:"):
            flags.DEFINE_enum(name, default, kind[5:].split("|"), help_text,
                              flag_values=flag_values)
        else:
            definers[kind](name, default, help_text, flag_values=flag_values)


def from_flags(flag_values=flags.FLAGS, params_class=Params):
    """Builds checked Params from parsed flags, applying the --data preset.

    The preset applies when --data is given explicitly (with no flags at all the
    values are the original's Params.py defaults, as `python main.py` there), and
    each preset value only where that flag was not given explicitly (on the
    command line or in a --flagfile).
    """
    values = {name: flag_values[name].value for name, _, _, _ in params_class.specs}
    if values["preset"]:
        if values["preset"] not in PRESETS:
            raise ValueError(f"--preset {values['preset']}: no such preset; choose one of "
                             f"{', '.join(sorted(PRESETS))}")
        preset = dict(PRESETS[values["preset"]], save_path=values["data"])
    else:
        preset = PRESETS.get(values["data"], {}) if flag_values["data"].present else {}
    for name, value in preset.items():
        if name in values and not flag_values[name].present:  # a preset may set a HardParams flag
            values[name] = value
    given = {name for name in values if flag_values[name].present}
    return check_params(params_class(**apply_protocol(values, given)))


def preset_params(data, params_class=Params, **overrides):
    """Params for `data` with its preset applied, then `overrides` (for tests and tools)."""
    names = {name for name, _, _, _ in params_class.specs}
    values = {k: v for k, v in PRESETS.get(data, {}).items() if k in names}
    values.update(overrides, data=data)
    return check_params(params_class(**apply_protocol(values, set(overrides))))


_BOOL_WORDS = {"true": "true", "false": "false", "1": "true", "0": "false"}


def normalize_bool_args(argv, specs=FLAG_SPECS):
    """Rewrites `--test True` (argparse style, as in the original scripts) to `--test=true`.

    absl boolean flags take no separate value; without this the word would be
    left over as a positional argument.
    """
    bool_flags = {name for name, kind, _, _ in specs if kind == "bool"}
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        name = arg.lstrip("-")
        if (arg.startswith("-") and name in bool_flags and i + 1 < len(argv)
                and argv[i + 1].lower() in _BOOL_WORDS):
            out.append(f"--{name}={_BOOL_WORDS[argv[i + 1].lower()]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out
