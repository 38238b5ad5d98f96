"""`bench/run.py --spread`: what a step would take per replica with R replicas.

A machine here has no second accelerator, so the multi-device speed-up is estimated
from parts timed on one device, in one process (`python bench/run.py --size
amazonlike --spread --out bench/results/spread`):

* `replica_s[R]`: the forward and backward of replica 0 of R under `--strategy`
  without `--spread_graphs`: its block of the batch's users (`distribute.shard_batch`),
  the whole graph stage and the node stage on the rows that block reads; R = 1 is the
  whole batch;
* `graph_s`: the graph stage alone, forward and backward (`SelfGNN.graph_stage`);
* with `--spread_graphs` a replica propagates ceil(G / R) of the G graphs instead of
  G, so its estimate is `replica_s[R] - graph_s * (1 - ceil(G / R) / G)`.

The speed-up of R is `replica_s[1]` over that estimate. Left out: the optimizer's
update (each replica updates its own copy of the variables, in parallel), the
all-reduce of the gradients and the all-gather of the graph tables (G (U + I) d
floats forward and again backward), which cost link bandwidth, not compute.
"""
import math
import time

import numpy as np
import tensorflow as tf

from selfgnn import distribute, trainer

REPLICAS = (1, 2, 4, 8)


def median_time(fn, args, repeats):
    """Median over `repeats` rounds of the mean seconds of fn(a) over `args` (one call
    first, untimed, to trace)."""
    tf.nest.map_structure(np.asarray, fn(args[0]))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for a in args:
            tf.nest.map_structure(np.asarray, fn(a))
        times.append((time.perf_counter() - start) / len(args))
    return float(np.median(times))


def replica_gradients(model, variables, batch, replicas, replica=0):
    """The gradients of `variables` that replica `replica` of `replicas` computes for
    `batch` under `--strategy` (its block of users, `distribute.shard_batch`)."""
    part, shard = distribute.shard_batch(batch, tf.constant(replica), replicas,
                                         model.params.batch)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(part, training=True, shard=shard)["Loss"]
    return tape.gradient(loss, variables)


def replica_step(model, variables, replicas):
    """`replica_gradients` of replica 0 as a tf.function of one padded batch."""
    return tf.function(lambda batch: replica_gradients(model, variables, batch, replicas),
                       input_signature=[trainer.batch_spec(model.params)], autograph=False)


def measure(trainer_obj, batches, repeats=3):
    """{"graph_s", "replica_s": {R: s}, "spread_s": {R: s}, "speedup": {R: x}} for
    SelfGNN on `batches` (a list of `TrainBatch`)."""
    model, variables, g = trainer_obj.model, trainer_obj.variables, trainer_obj.params.graphNum
    tables = [model.uEmbed, model.iEmbed]

    @tf.function(autograph=False)
    def graph_step(_):
        with tf.GradientTape() as tape:
            user_short, item_short = model.graph_stage()
        return tape.gradient(user_short + item_short, tables)

    graph_s = median_time(graph_step, [tf.constant(0)] * len(batches), repeats)
    replica_s, spread_s, speedup = {}, {}, {}
    for r in REPLICAS:
        replica_s[r] = median_time(replica_step(model, variables, r), batches, repeats)
        spread_s[r] = replica_s[r] - graph_s * (1 - math.ceil(g / r) / g)
        speedup[r] = replica_s[1] / spread_s[r]
    return {"graph_s": graph_s, "replica_s": replica_s, "spread_s": spread_s,
            "speedup": speedup}


def markdown(s, graphs):
    """The table of `measure`'s result, for G = `graphs`."""
    lines = [f"\nPer replica, forward and backward (`--spread`): the graph stage alone "
             f"{s['graph_s']:.3f} s of one device's {s['replica_s'][1]:.3f} s; G = {graphs}",
             "", "| replicas | without --spread_graphs s | with (estimate) s | "
             "speed-up over one device |", "|---|---|---|---|"]
    for r in REPLICAS:
        lines.append(f"| {r} | {s['replica_s'][r]:.3f} | {s['spread_s'][r]:.3f} | "
                     f"{s['speedup'][r]:.2f} |")
    return "\n".join(lines) + "\n"
