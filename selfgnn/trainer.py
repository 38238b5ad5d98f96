"""The training loop of the original (`Recommender.run`, `trainEpoch`).

`Trainer` trains one model on one data set: the epochs and their steps, the test
every `--tstEpoch` epochs (`evaluation.Evaluator`), the best epoch, the final test.
Its run folder is held through `run_folder`, started (resumed or loaded) through
`starting`, saved through `recovery.LatestState` and written through
`outputs.RunOutputs`; `nonfinite` applies `--nan_policy`.
"""
import dataclasses
import math
import os
import time

import numpy as np
import tensorflow as tf

from selfgnn import (data_handler, distribute, evaluation, flag_help, memory, nonfinite,
                     outputs, recovery, prefetch, run_folder, sampler, starting)
from selfgnn.logs import Logger, make_print, progress_bar
from selfgnn.model import SelfGNN
from selfgnn.optimizer import TF1Adam

HISTORY_KEYS = [f"{split}{met}" for met in ("Loss", "preLoss", "HR", "NDCG")
                for split in ("Train", "Test")]


def batch_spec(params):
    """Input signature of the train step: fixed shapes, so no retracing per batch."""
    ids = tf.TensorSpec([None], tf.int32)
    graphs = tuple(ids for _ in range(params.graphNum))
    return sampler.TrainBatch(
        uids=ids, iids=ids, u_locs=ids,
        sequence=tf.TensorSpec([params.batch, params.pos_length], tf.int32),
        mask=tf.TensorSpec([params.batch, params.pos_length], tf.float32),
        ssl_uids=graphs, ssl_iids=graphs)


class Trainer:
    """Trains and evaluates one model on one data set, as `Recommender.run` does."""

    def __init__(self, params, dataset, model_cls=SelfGNN, logger=None):
        self.params, self.data = params, dataset
        self.log = logger or Logger()
        p = params
        self.sampler = sampler.Sampler(dataset.sequences, dataset.train_mat, dataset.sub_mats,
                                       dataset.tst_int, dataset.test_dict, p,
                                       np.random.default_rng(p.seed))
        tf.random.set_seed(p.seed)
        if p.deterministic:
            tf.config.experimental.enable_op_determinism()
        self.strategy = distribute.make_strategy(p.strategy)
        with self.strategy.scope():
            self.model = model_cls.from_dataset(p, dataset)
            trainable = [(n, v) for n, v in self.model.tf1_variables() if v.trainable]
            self.variables = [v for _, v in trainable]
            self.optimizer = TF1Adam(trainable, p.lr, p.decay, p.decay_step)
        if p.strategy != "default":  # one dropout stream, drawn outside the replicas
            self.model.dropout_rng = tf.random.Generator.from_seed(p.seed + 1)
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
        self.run_dir = os.path.join(p.out_dir, p.save_path)
        if p.strategy == "multi_worker" and distribute.worker_index() > 0:
            self.run_dir = os.path.join(self.run_dir, f"worker{distribute.worker_index()}")
        self.history = {key: [] for key in HISTORY_KEYS}
        self.best = {"ndcg": 0.0, "result": {}, "epoch": 0}  # the original's maxndcg, maxres, maxepoch
        self.stop = recovery.StopSignal()
        self.results = {"flags": dataclasses.asdict(p), "data": self._data_summary(),
                        "epochs": [], "best": None, "final_test": None, "status": "created"}
        step = self._train_step
        if p.strategy != "default":
            step = distribute.distributed_train_step(self.strategy, self.model, self.optimizer,
                                                     self.variables)
        # No AutoGraph: the step has no tensor-dependent Python control flow, and converting
        # its source took more than half of the first step's time on tiny data.
        self.train_step = tf.function(step, input_signature=[batch_spec(p)],
                                      jit_compile=p.jit_compile or None, autograph=False)
        self.evaluator = evaluation.Evaluator(p, self.model, self.sampler, self.strategy,
                                              self.log)
        self.eval_nodes, self.test_scores = self.evaluator.eval_nodes, self.evaluator.test_scores
        self.outputs = outputs.RunOutputs(self.run_dir, self.checkpoint, self.log)

    def _data_summary(self):
        d = self.data
        return {"directory": d.directory, "users": d.num_users, "items": d.num_items,
                "test_users": int(len(d.test_users)), "graphs": len(d.sub_mats),
                "train_interactions": int(d.train_mat.nnz)}

    def _train_step(self, batch):
        """One update, applied only if the loss terms and the gradients are all finite."""
        with tf.GradientTape() as tape:
            terms = self.model.compute_loss(batch, training=True)
        grads = tape.gradient(terms["Loss"], self.variables)
        return dict(terms, finite=distribute.finite_update(self.optimizer, terms, grads))

    def train_epoch(self, ep, mid=None):
        """`trainEpoch`: mean loss terms over the epoch's steps.

        `mid` (from a saved state) continues an interrupted epoch at its step.
        Batch i + 1 is sampled while step i runs (`prefetch.ahead`).
        A non-finite step is skipped (no update) and, with --nan_policy stop,
        ends the run with NonFiniteError; a stop signal saves the state after
        the current step and raises StopRequested.
        """
        p = self.params
        note = self.model.start_epoch(ep)
        if note:
            self.log(note)
        users = np.array(mid["users"], np.int32) if mid else self.sampler.epoch_users()
        sums = dict(mid["sums"]) if mid else {}
        skipped = mid["skipped"] if mid else 0
        steps = int(math.ceil(len(users) / p.batch))

        def draw(i):
            return self.sampler.train_batch(users[i * p.batch:(i + 1) * p.batch])

        for i, batch, rng_state in prefetch.ahead(draw, range(mid["step"] if mid else 0, steps),
                                                  self.sampler.rng):
            out = self.train_step(batch)
            terms = {k: float(v) for k, v in out.items() if k != "finite"}
            if not bool(out["finite"]):
                bad = [k for k, v in terms.items() if not math.isfinite(v)]
                where = ", ".join(bad) if bad else "the gradients"
                if p.nan_policy == "stop":
                    saved = self.latest.prefixes()
                    raise nonfinite.stop_error(p, self.model.NAME, where, ep, i,
                                               saved[0] if saved else None)
                self.log(f"skipped a non-finite step ({where}) at epoch {ep}, step {i}")
                skipped += 1
                continue
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value
            self.log("Step %d/%d: preloss = %.2f, REGLoss = %.2f  %s"
                     % (i, steps, terms["preLoss"], terms["regLoss"], progress_bar(i + 1, steps)),
                     oneline=True)
            if self.stop.received and i + 1 < steps:
                self._save_latest(ep - 1, mid={"epoch": ep, "step": i + 1, "users": users.tolist(),
                                               "sums": sums, "skipped": skipped},
                                  rng_state=rng_state)  # batch i + 1 is drawn already
                raise recovery.StopRequested(
                    f"stopped by signal {self.stop.received} at epoch {ep}, step {i + 1}/{steps}; "
                    f"the state is saved in {self.run_dir}: run the same command again to "
                    f"resume", self.stop.received)
        if not skipped:
            return {key: val / steps for key, val in sums.items()}
        nonfinite.check_skipped(p, self.model.NAME, [e["train"] for e in self.results["epochs"]],
                                ep, skipped, steps, self.log)
        done = steps - skipped  # means over the applied steps; NaN if none was applied
        means = {key: val / done for key, val in sums.items()} if done else {
            "Loss": math.nan, "preLoss": math.nan}
        return dict(means, skipped_steps=skipped)

    def test_epoch(self, target=None):
        """`testEpoch` (`evaluation.Evaluator.test_epoch`)."""
        return self.evaluator.test_epoch(target)

    def save_history(self):
        """`saveHistory`: the best model and the metrics dict (skipped when --epoch 0)."""
        if self.params.epoch > 0:
            self.outputs.save_best(int(self.optimizer.step.numpy()), self.history,
                                   self.params.save_path)

    def _record(self, epoch, train, test, seconds, valid=None):
        self.results["epochs"].append({"epoch": epoch, "train": train, "test": test,
                                       "valid": valid,
                                       "lr": float(self.optimizer.learning_rate().numpy()),
                                       "seconds": seconds})
        self.outputs.scalars(epoch, {"train": dict(train, lr=self.results["epochs"][-1]["lr"]),
                                     "test": test, "valid": valid})
        self.outputs.write_results(self.results)

    def _append_history(self, split, reses):
        for metric, val in reses.items():
            if split + metric in self.history:
                self.history[split + metric].append(val)

    def _save_latest(self, epoch_done, mid=None, rng_state=None):
        """The resumable state after `epoch_done` (plus a position inside the next epoch);
        rng_state: the sampler's generator state to save, if not its current one."""
        return self.latest.save({
            "epoch_done": epoch_done, "mid_epoch": mid,
            "numpy_rng": rng_state or self.sampler.rng.bit_generator.state, "best": self.best,
            "history": self.history, "results": self.results},
            int(self.optimizer.step.numpy()))

    def _start(self, mode):
        """(start epoch, mid-epoch position, resumed?); applies a resumed or loaded state."""
        s = starting.start(self.params, mode, self.latest, self.checkpoint, self.model,
                           self.optimizer, self.log)
        if s.history is not None:
            self.history = s.history
        if s.resumed:
            self.sampler.rng.bit_generator.state = s.state["numpy_rng"]
            self.best = s.state["best"]
            self.results = dict(s.state["results"], flags=dataclasses.asdict(self.params))
        return s.epoch, s.mid, s.resumed

    def _test_and_keep_best(self, ep):
        """The test of epoch `ep` (and the validation item with --select_on validation)."""
        p = self.params
        valid_res = None
        if p.select_on == "validation":
            valid_res = self.test_epoch("before_test")
            self.log(make_print("Valid", ep, p.epoch,
                                {"HR": valid_res["HR"], "NDCG": valid_res["NDCG"]}))
        test_res = self.test_epoch()
        shown = {"HR": test_res["HR"], "NDCG": test_res["NDCG"]}
        self.log(make_print("Test", ep, p.epoch, shown))
        self._append_history("Test", shown)
        score = (valid_res or test_res)["NDCG"]
        if score > self.best["ndcg"]:
            self.save_history()
            recovery.write_per_user(self.run_dir, *self.evaluator.last_ranks, ep)
            self.best = {"ndcg": score, "result": test_res, "epoch": ep}
            self.results["best"] = dict(test_res, epoch=ep, valid=valid_res)
        return test_res, valid_res

    def run(self):
        """`Recommender.run`: train, test every tstEpoch, keep the best, final test, `max` line.

        Holds the run folder (`run_folder.claim`): refuses another configuration or a
        second process, returns a finished run's results without training again,
        resumes an unfinished one (--resume), and writes nothing before the model is
        loaded. Saves `latest` after every epoch; a stop signal, a non-finite step or
        a failed write ends the run with the state kept and `results.json` saying so.
        """
        p = self.params
        with run_folder.claim(self.run_dir, p) as folder:
            mode = run_folder.inspect(self.run_dir, p, warn=self.log.plain)
            if mode == "finished":
                self.log(run_folder.finished_message(self.run_dir))
                return run_folder.read_json(os.path.join(self.run_dir, "results.json"), "")
            self.latest = recovery.LatestState(self.run_dir, warn=self.log.plain,
                                               model=self.model, optimizer=self.optimizer)
            self.log("USER %d ITEM %d" % (self.data.num_users, self.data.num_items))
            self.log("Model Prepared")
            if p.strategy != "default":
                self.log("Strategy %s: %d replicas in sync"
                         % (p.strategy, self.strategy.num_replicas_in_sync))
            start, mid, resumed = self._start(mode)
            with recovery.writing(self.run_dir):
                folder.commit(start_over=not resumed)  # a previous run's files go
            self.outputs.open()
            return self._train(start, mid)

    def _train(self, start, mid):
        """The epochs from `start` (inside epoch `start` at `mid`), then `_finish`."""
        self.results["status"] = "running"
        with recovery.ending_recorded(self.results, self.outputs.path("results.json"),
                                      self.log):
            with recovery.writing(self.run_dir, tf_errors=False):  # log lines too
                with self.stop:
                    for ep in range(start, self.params.epoch):
                        self._epoch(ep, mid if mid and mid["epoch"] == ep else None)
                        mid = None
                return self._finish()

    def _finish(self):
        """The final test, the `max` line, the TF1 export and the finished results."""
        p = self.params
        final = self.test_epoch()
        shown = {"HR": final["HR"], "NDCG": final["NDCG"]}
        self.log(make_print("Test", p.epoch, p.epoch, shown))
        self._append_history("Test", shown)
        best = self.best["result"]
        self.log(make_print("max", self.best["epoch"], p.epoch,
                            {k: best[k] for k in ("HR", "NDCG")} if best else {}))
        what = (f"best epoch {self.best['epoch']} of {p.epoch}, chosen on "
                f"{'validation' if p.select_on == 'validation' else 'test'} NDCG" if best
                else f"final test after {p.epoch} epochs")
        self.outputs.published_comparison(p.data, best or final, what, self.results)
        if p.export_tf1_checkpoint:
            self.outputs.export_tf1(p.export_tf1_checkpoint, self.model, self.optimizer)
        self.results.update(final_test=final, status="finished")
        self.outputs.write_results(self.results)
        return self.results

    def _epoch(self, ep, mid):
        """Train epoch `ep`, test it when due, record it and save `latest`."""
        p = self.params
        t0 = time.perf_counter()
        train = self.train_epoch(ep, mid)
        seconds = {"train": time.perf_counter() - t0}
        shown = {k: train[k] for k in ("Loss", "preLoss", "clLoss") if k in train}
        self.log(make_print("Train", ep, p.epoch, shown))
        test_res = valid_res = None
        if ep % p.tstEpoch == 0:
            self._append_history("Train", shown)
            t0 = time.perf_counter()
            test_res, valid_res = self._test_and_keep_best(ep)
            seconds["test"] = time.perf_counter() - t0
        self._record(ep, train, test_res, seconds, valid_res)
        self._save_latest(ep)
        self.log.plain()


def run(params, logger=None, model_cls=SelfGNN):
    """Loads the data of `params`, trains and evaluates; returns the results dict."""
    log = logger or Logger()
    log("Start")
    log(flag_help.describe(params, model_cls.NAME))
    dataset = data_handler.load_for(params, log=log.plain)
    log("Load Data")
    check = data_handler.paper_check(params.data, dataset.num_users)
    if check:
        log(check)
    memory.check_fits(params, dataset.num_users, dataset.num_items)
    return Trainer(params, dataset, model_cls=model_cls, logger=log).run()
