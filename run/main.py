"""Train and evaluate SelfGNN: `python run/main.py --data amazon` (the original's main.py).

Flags are the original's (`python run/main.py --help`, grouped); `--data amazon|gowalla|
movielens|yelp` applies the original's shell-script values unless a flag is given.
Any HardGNN flag (`--hard_k 3 --cl_weight 0.1`, ...) or `--model hardgnn` trains HardGNN;
`--model sasrec` (mostpop, itemknn, bprmf, lightgcn, gru4rec) a reference baseline under
the same protocol (`--protocol original|clean`).

Exit codes: 0 the run finished (or had finished: it is not trained again); 1 a
non-finite step stopped it, or --nan_policy skip_batch skipped more than
--max_skipped of its steps; 2 bad flags or data, a run folder holding another
configuration or written by another process, or no intact checkpoint to resume;
3 a file could not be written (disk full); 128 + N stopped by signal N (state saved).
"""
import os
import sys
import tempfile

from absl import app, flags, logging

import baselines
from selfgnn import data_handler, flag_help, main_flags, params, run_folder

main_flags.define_flags()
FLAGS = flags.FLAGS


def check_writable(out_dir, save_path):
    """Raises ValueError naming --out_dir when `<out_dir>/<save_path>/` cannot be written.

    Makes the missing folders and one temporary file there, then removes all of
    them, so that a run stopped later (bad data) leaves nothing behind.
    """
    run_dir, made = os.path.join(out_dir, save_path), []
    try:
        made = run_folder.make_folders(run_dir)
        fd, tmp = tempfile.mkstemp(dir=run_dir, prefix=".write_check")
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise ValueError(f"--out_dir {out_dir}: cannot write the run folder {run_dir} "
                         f"({e.strerror or e}); pass --out_dir a writable folder") from e
    finally:
        run_folder.remove_folders(made)


def main(argv):
    logging.set_verbosity(logging.WARNING)
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = main_flags.from_flags(FLAGS)
        check_writable(config.out_dir, config.save_path)
        run_dir = os.path.join(config.out_dir, config.save_path)
        if run_folder.inspect(run_dir, config, warn=lambda m: print(m, file=sys.stderr)) == \
                "finished":
            print(run_folder.finished_message(run_dir))
            return 0
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from selfgnn import quiet
    quiet.import_tensorflow(config.tf_log_level)  # only once the flags are good
    from data_prep import cli
    from selfgnn import recovery, trainer
    try:
        if config.model in baselines.MODELS:
            from baselines import runner
            runner.run(config)
        elif config.model == "hardgnn":
            from hardgnn.model import HardGNN
            trainer.run(config, model_cls=HardGNN)
        else:
            trainer.run(config)
    except recovery.StopRequested as e:
        print(str(e), file=sys.stderr)
        return 128 + e.signum
    except recovery.NonFiniteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except recovery.WriteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except (data_handler.DataError, cli.DataPrepError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    if any(arg in ("--help", "-h", "-?", "--usage") for arg in sys.argv[1:]):
        print(flag_help.usage(main_flags.help_groups(), __doc__))
        sys.exit(0)
    app.run(main, argv=params.normalize_bool_args(sys.argv, main_flags.SPECS))
