"""Trains one reference baseline and writes its run folder as the SelfGNN trainer does.

`python run/main.py --model sasrec --data ml-100k [--protocol clean] [--seed 1]`:

1. the data set is loaded as for SelfGNN (`selfgnn.data_handler.load_for`) and cut by the
   protocol (`baselines.protocol.ProtocolData`);
2. each point of the model's grid (`--baseline_grid`, else its defaults alone) is
   trained for `--epoch` epochs (or the model's fixed count), and every `--tstEpoch`
   epochs and after the last one it is scored on the validation item (`before_test`)
   and on the test item: `Train`, `Valid` and `Test` lines; with
   `--baseline_patience N` a point stops once N tested epochs in a row gave no better
   validation NDCG (`Stopped` line; `stopped_epoch` in its entry);
3. the point with the best validation NDCG is kept (never the test item: the grid is
   a choice of ours, not the original's rule); its reported epoch is the one with the
   best validation NDCG under `--protocol clean`, the best test NDCG under
   `--protocol original` (the original's rule for the epoch, as SelfGNN's runs);
4. `results.json` holds the flags, every point's per-epoch losses, validation and test
   metrics (so the choice can be audited), the chosen point, `best` (the reported
   epoch's test metrics, its validation metrics and the point) and `final_test`;
   `per_user.csv` the reported epoch's per-user ranks; `log.txt` the lines; the
   `max` line closes the run as the original's does.

Resume: `results.json` is rewritten after every grid point, and the point being trained
is checkpointed after every epoch (`latest/`: its variables, optimizer and dropout
generator, with its epochs so far, its numpy generator and the ranks it kept). Rerunning
the same command skips the finished points and resumes the interrupted one after its
last finished epoch, with the numbers of an uninterrupted run. SIGINT or SIGTERM ends
the current epoch, saves it and exits with 128 + the signal.
The folder is held as SelfGNN's is (`selfgnn.run_folder`): another configuration or a
second process is refused, and a finished run is not trained again.
"""
import dataclasses
import json
import os
import time

import numpy as np
import tensorflow as tf

import baselines
from baselines.protocol import ProtocolData
from selfgnn import data_handler, recovery, run_folder
from selfgnn.logs import Logger, make_print, write_scalar

def _shown(res):
    return {"HR": res["HR"], "NDCG": res["NDCG"]}


class BaselineRun:
    """One `--model <baseline>` run: the grid, its selection and the run folder."""

    def __init__(self, params, dataset, logger):
        self.params, self.log = params, logger
        self.cls = baselines.model_class(params.model)
        self.data = ProtocolData(dataset, params)
        self.grid = self.cls.GRID if params.baseline_grid else ({},)
        self.epochs = self.cls.EPOCHS or params.epoch
        self.run_dir = os.path.join(params.out_dir, params.save_path)
        self.results = {"flags": dataclasses.asdict(params), "model": params.model,
                        "protocol": params.protocol,
                        "data": {"directory": dataset.directory, "users": dataset.num_users,
                                 "items": dataset.num_items,
                                 "test_users": int(len(dataset.test_users))},
                        "grid": [], "chosen": None, "epochs": [], "best": None,
                        "final_test": None, "status": "created"}

    def _path(self, *names):
        return os.path.join(self.run_dir, *names)

    def _resume(self):
        """The finished grid points of an unfinished run of this folder."""
        path = self._path("results.json")
        try:
            old = run_folder.read_json(path, "")
        except run_folder.FolderConflict as e:
            self.log(f"warning: {str(e).rstrip('; ')}; its grid points are trained again")
            return
        self.results["grid"] = (old or {}).get("grid", [])
        self.log("Resumed: %d of %d grid points done" % (len(self.results["grid"]),
                                                        len(self.grid)))

    def _write(self):
        recovery.write_json_atomic(self._path("results.json"), self.results)

    def _latest(self, model):
        """The `latest/` checkpoints of the point `model` trains (None for a model with
        nothing to checkpoint: MostPop and ItemKNN fit in one pass)."""
        items = model.checkpoint_items()
        return recovery.LatestState(self.run_dir, warn=self.log.plain, **items) if items else None

    def _saved(self, index, model):
        """(progress saved for point `index` or None, whether `model` must be built again).

        The state travels inside each `latest/` checkpoint (`recovery.LatestState`), so it
        is found without `latest_state.json`. Restoring sets the model's variables,
        optimizer slots and dropout generator; the numpy generator comes from the state.
        Checkpoints of another point (left by a stop between a point's end and their
        removal) or that do not restore cost this point, not the run: a warning, and it
        starts over from a model built again (the restore may have set some values).
        """
        latest = self._latest(model)
        if latest is None:
            return None, False
        try:
            state = latest.load()
        except recovery.StateError:  # its advice (--noresume) would drop the finished points
            state = {"error": f"no checkpoint in {self._path('latest')} restores"}
        if state is None:
            return None, False
        if state.get("point") == index:
            model.rng.bit_generator.state = state["rng"]
            return state, False
        why = state.get("error") or (f"{self._path('latest')} holds grid point "
                                     f"{state.get('point', -1) + 1}'s state")
        self.log.plain(f"warning: grid point {index + 1} starts over: {why}")
        return None, True

    def _train_point(self, index, point, stop):
        """Trains one grid point; returns its results entry (ranks saved beside it).

        After every epoch its progress is checkpointed in `latest/` (`_latest`): a stopped
        or crashed point resumes after its last finished epoch, with the same numbers as
        an uninterrupted run. A stop signal (`stop`) ends the point after its epoch.
        """
        p = self.params
        tf.random.set_seed(p.seed)
        model = self.cls(self.data, point, p.seed)
        label = ", ".join(f"{k}={v}" for k, v in point.items()) or "defaults"
        self.log("Grid point %d/%d: %s" % (index + 1, len(self.grid), label))
        state, rebuild = self._saved(index, model)
        if rebuild:
            model = self.cls(self.data, point, p.seed)
        if state is None:
            recovery.remove_latest(self.run_dir)
            state = {"point": index, "epoch": -1, "stale": 0, "kept": {},
                     "entry": {"point": point, "config": model.config, "epochs": [],
                               "stopped_epoch": None},
                     "best": {"valid": [-1.0, None], "test": [-1.0, None]}}  # [NDCG, epoch]
        else:
            self.log("Resumed grid point %d/%d after epoch %d/%d"
                     % (index + 1, len(self.grid), state["epoch"], self.epochs))
        latest = self._latest(model)  # after the removal: its manager reads the folder
        entry, best = state["entry"], state["best"]
        kept = {t: np.asarray(r, np.int64) for t, r in state["kept"].items()}  # ranks there
        stale = state["stale"]                                # tests since a better valid
        for ep in range(state["epoch"] + 1, self.epochs):
            t0 = time.perf_counter()
            train = {k: float(v) for k, v in model.train_epoch(ep).items()}
            seconds = {"train": time.perf_counter() - t0}
            if train:
                self.log(make_print("Train", ep, self.epochs, train))
            record = {"epoch": ep, "train": train, "valid": None, "test": None}
            if ep % p.tstEpoch == 0 or ep == self.epochs - 1:
                t0 = time.perf_counter()
                valid, _ = self.data.evaluate(model.score, "before_test", p.shoot)
                test, ranks = self.data.evaluate(model.score, "test", p.shoot)
                seconds["test"] = time.perf_counter() - t0
                self.log(make_print("Valid", ep, self.epochs, _shown(valid)))
                self.log(make_print("Test", ep, self.epochs, _shown(test)))
                record.update(valid=valid, test=test)
                stale = 0 if valid["NDCG"] > best["valid"][0] else stale + 1
                for target, res in (("valid", valid), ("test", test)):
                    if res["NDCG"] > best[target][0]:
                        best[target] = [res["NDCG"], ep]
                        kept[target] = np.asarray(ranks, np.int64)
            record["seconds"] = seconds
            entry["epochs"].append(record)
            self._scalars(index, record)
            if p.baseline_patience and stale >= p.baseline_patience and ep < self.epochs - 1:
                entry["stopped_epoch"] = ep
                self.log("Stopped at epoch %d/%d: no better validation NDCG in %d tests"
                         % (ep, self.epochs, stale))
                break
            if latest is not None and ep < self.epochs - 1:
                latest.save({"point": index, "epoch": ep, "stale": stale, "entry": entry,
                             "best": best, "kept": {t: r.tolist() for t, r in kept.items()},
                             "rng": model.rng.bit_generator.state}, ep)
                if stop.received:
                    raise recovery.StopRequested(
                        f"stopped by signal {stop.received} after epoch {ep}/{self.epochs} of "
                        f"grid point {index + 1}/{len(self.grid)}; the state is saved in "
                        f"{self.run_dir}: run the same command again to resume", stop.received)
        entry["best_valid_epoch"], entry["best_test_epoch"] = best["valid"][1], best["test"][1]
        entry["best_valid_ndcg"] = best["valid"][0]
        reported = "valid" if p.protocol == "clean" else "test"
        os.makedirs(self._path("grid"), exist_ok=True)
        with recovery.writing(self._path("grid")):
            np.save(self._path("grid", f"point{index}_ranks.npy"), kept[reported])
        return entry

    def _scalars(self, index, record):
        with self.writer.as_default():
            for split in ("train", "valid", "test"):
                for name, val in (record[split] or {}).items():
                    write_scalar(f"point{index}/{split}/{name}", val, record["epoch"])
        self.writer.flush()

    def run(self):
        """Holds the folder, trains the grid points not done yet, chooses, writes."""
        with run_folder.claim(self.run_dir, self.params) as folder:
            mode = run_folder.inspect(self.run_dir, self.params, warn=self.log.plain)
            if mode == "finished":
                self.log(run_folder.finished_message(self.run_dir))
                return run_folder.read_json(self._path("results.json"), "")
            if mode == "resume":
                self._resume()
            with recovery.writing(self.run_dir):
                folder.commit(start_over=mode != "resume")  # resume keeps latest/
                self.log.open(self._path("log.txt"))
                self.writer = tf.summary.create_file_writer(self._path("tensorboard"))
            with recovery.ending_recorded(self.results, self._path("results.json"), self.log):
                with recovery.writing(self.run_dir, tf_errors=False):
                    return self._run_grid()

    def _run_grid(self):
        p = self.params
        self.log("USER %d ITEM %d" % (self.data.num_users, self.data.num_items))
        self.log("Model %s, protocol %s, seed %d, %d grid point(s), %d epoch(s)"
                 % (p.model, p.protocol, p.seed, len(self.grid), self.epochs))
        self.results["status"] = "running"
        with recovery.StopSignal() as stop:
            for index in range(len(self.results["grid"]), len(self.grid)):
                if stop.received:  # it came in the last epoch of the point before
                    raise recovery.StopRequested(
                        f"stopped by signal {stop.received} before grid point {index + 1}/"
                        f"{len(self.grid)}; the finished points are in {self.run_dir}: run "
                        f"the same command again to resume", stop.received)
                self.results["grid"].append(self._train_point(index, self.grid[index], stop))
                self._write()
                recovery.remove_latest(self.run_dir)  # the point is in results.json now
        chosen = int(np.argmax([e["best_valid_ndcg"] for e in self.results["grid"]]))
        entry = self.results["grid"][chosen]
        epoch = entry["best_valid_epoch" if p.protocol == "clean" else "best_test_epoch"]
        at = next(r for r in entry["epochs"] if r["epoch"] == epoch)
        self.results.update(
            chosen=chosen, epochs=entry["epochs"],
            best=dict(at["test"], epoch=epoch, valid=at["valid"], config=entry["config"]),
            final_test=next(r["test"] for r in reversed(entry["epochs"]) if r["test"]))
        ranks = np.load(self._path("grid", f"point{chosen}_ranks.npy"))
        recovery.write_per_user(self.run_dir, self.data.test_users, ranks, epoch)
        self.log("Chosen on validation NDCG: grid point %d/%d %s" % (
            chosen + 1, len(self.grid), json.dumps(self.grid[chosen])))
        self.log(make_print("max", epoch, self.epochs, _shown(at["test"])))
        self.results["status"] = "finished"
        self._write()
        return self.results


def run(params, logger=None):
    """Loads the data of `params`, trains and evaluates the baseline `params.model`."""
    log = logger or Logger()
    log("Start")
    dataset = data_handler.load_for(params, log=log.plain)
    log("Load Data")
    return BaselineRun(params, dataset, log).run()
