"""A lower bound of a run's peak memory, checked before anything large is allocated.

`estimate_bytes` adds up the dominant allocations of a SelfGNN or HardGNN run
(`selfgnn.trainer.Trainer`) that certainly exist, float32 and int32 at 4 bytes;
`check_fits` turns an estimate beyond the machine's memory into one ValueError
that names the flags of the largest allocation. Everything smaller or less
certain is left out (the LSTM and attention activations of the node embeddings,
gradients, NumPy temporaries, TensorFlow's own buffers), so a run needs more
than the estimate and no configuration that fits is refused.

A run holds its variables (`Trainer.__init__`) and the sampler's table of test
negatives throughout; on top of them it either runs at least one training step
(--epoch > 0), or reaches the final test, or both. The estimate is the persistent
part plus the smaller of those two phases:

* the final test (`Trainer.test_epoch`; its tf.functions are never XLA-compiled)
  holds the node embeddings of `eval_nodes`, one test batch padded to --batch
  rows, and gathers either the history embeddings [batch, pos_length, latdim]
  (`SelfGNN.sequence_embedding`) or the candidate embeddings
  [batch, testSize, latdim] (`candidate_scores`);
* a training step holds the batch's sequence and mask [batch, pos_length]
  (`trainer.batch_spec` pads every batch to --batch rows); without
  --jit_compile, whose fusion could avoid them, also the history embeddings and
  each GNN layer's outputs, which the backward pass reads.

The sequence branch's self-attention runs on one token per user (the masked sum
of the history), so its activations are [batch, 1, latdim] and left out. On a
machine with an accelerator the model's tensors live in its memory; the check
compares everything with the host's memory, which is normally the larger.
"""
import os
from typing import NamedTuple

WORD = 4
"""Bytes of one float32 or int32 value."""
GIB = 2 ** 30


class Term(NamedTuple):
    """One allocation of the estimate.

    what: a description for messages; flags: the flags it grows with, the one most
    likely to be set too high first; nbytes: its size in bytes.
    """
    what: str
    flags: tuple
    nbytes: int


def model_values(p, num_users, num_items):
    """Number of float32 values in SelfGNN's variables (`SelfGNN.__init__`)."""
    d, g, s = p.latdim, p.graphNum, p.ssldim
    tables = g * (num_users + num_items) * d                 # uEmbed, iEmbed
    positions = p.pos_length * d + 2 * d                     # posEmbed, timeEmbed [2, d]
    time_fc = 2 * g * p.gnn_layer * d * d                    # defaultParamName<n>
    lstm = 2 * d * 4 * d + 4 * d                             # kernel [2d, 4d], bias [4d]
    norms = (4 + p.att_layer) * 2 * d                        # beta, gamma [d]
    attention = (2 + p.att_layer) * 3 * (d * d + d)          # q, k, v dense layers
    meta = 3 * d * s + s + s + 1                             # meta2, meta2Bias, meta3, meta3Bias
    return tables + positions + time_fc + lstm + norms + attention + meta


def _persistent(p, num_users, num_items):
    """Held from the trainer's construction to the end of the run."""
    return [
        Term(f"the model's variables (the embedding tables of {num_users} users and "
             f"{num_items} items per interval graph) and their two Adam moments",
             ("latdim", "graphNum"), 3 * WORD * model_values(p, num_users, num_items)),
        Term("the sampler's test negatives [users, testSize - 1] int32", ("testSize",),
             WORD * num_users * (p.testSize - 1)),
    ]


def _history(p):
    return Term("the history embeddings of one batch [batch, pos_length, latdim] float32",
                ("batch", "pos_length", "latdim"), WORD * p.batch * p.pos_length * p.latdim)


def _final_test(p, num_users, num_items):
    """Held while one test batch is scored."""
    nodes = num_users + num_items
    per_graph = p.graphNum if p.gnn_layer >= 1 else 0  # with no layer they alias the variables
    candidates = Term("the candidate embeddings of one test batch [batch, testSize, latdim] "
                      "float32", ("batch", "testSize", "latdim"),
                      WORD * p.batch * p.testSize * p.latdim)
    return [
        Term("the node embeddings held by a test (per interval graph, and the final ones)",
             ("latdim", "graphNum"), WORD * nodes * p.latdim * (1 + per_graph)),
        Term("one test batch (users, candidates, positives, sequence and mask, padded to "
             "--batch rows)", ("batch", "testSize", "pos_length"),
             WORD * p.batch * (p.testSize + 2 * p.pos_length + 2)),
        max(_history(p), candidates, key=lambda t: t.nbytes),
    ]


def _training_step(p, num_users, num_items):
    """Held during one training step."""
    terms = [Term("one training batch (sequence and mask [batch, pos_length], int32 and "
                  "float32)", ("batch", "pos_length"), 2 * WORD * p.batch * p.pos_length)]
    if not p.jit_compile:
        terms.append(_history(p))
        if p.gnn_layer >= 1:
            terms.append(Term(
                "the GNN layers' outputs kept for the backward pass (each layer's and their "
                "sum, per interval graph)", ("gnn_layer", "graphNum", "latdim"),
                WORD * p.graphNum * (p.gnn_layer + 1) * (num_users + num_items) * p.latdim))
    return terms


def peak_terms(p, num_users, num_items):
    """The allocations `estimate_bytes` adds up (see the module docstring)."""
    phases = [_final_test(p, num_users, num_items)]
    if p.epoch > 0:
        phases.append(_training_step(p, num_users, num_items))
    smaller = min(phases, key=lambda terms: sum(t.nbytes for t in terms))
    return _persistent(p, num_users, num_items) + smaller


def estimate_bytes(p, num_users, num_items):
    """A lower bound of the peak bytes of a run of `p` (Params or HardParams) on a data set of
    `num_users` users and `num_items` items."""
    return sum(t.nbytes for t in peak_terms(p, num_users, num_items))


def physical_memory():
    """Bytes of physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gib(nbytes):
    return f"{nbytes / GIB:.1f} GiB"


def _join(words, last):
    """'a', 'a <last> b', 'a, b <last> c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


def _flag_phrase(p, names):
    """'--batch 512 with --pos_length 200 and --latdim 64'."""
    given = [f"--{name} {getattr(p, name)}" for name in names]
    return given[0] if len(given) == 1 else f"{given[0]} with " + _join(given[1:], "and")


def check_fits(p, num_users, num_items, available=None):
    """Raises ValueError when `estimate_bytes` exceeds `available` bytes (default: this
    machine's physical memory), naming the largest allocation's flags; returns the estimate."""
    available = physical_memory() if available is None else available
    terms = peak_terms(p, num_users, num_items)
    total = sum(t.nbytes for t in terms)
    if total > available:
        largest = max(terms, key=lambda t: t.nbytes)
        raise ValueError(
            f"{_flag_phrase(p, largest.flags)} needs at least {_gib(largest.nbytes)} for "
            f"{largest.what}; the run needs at least {_gib(total)} in all and this machine has "
            f"{_gib(available)}: lower " + _join([f"--{name}" for name in largest.flags], "or"))
    return total
