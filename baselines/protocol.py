"""What a model may learn from and how it is scored, under one of the two protocols.

Both protocols use the original's files and SelfGNN's own test batches
(`selfgnn.sampler.Sampler.test_batch`), so every model is scored on the same
`testSize` candidates with `selfgnn.metrics` and the original's tie rule.

- `original` (the paper's): a user's training sequence is `sequence[u][:-1]`
  (SelfGNN's `posset`), which for a test user ends with the validation item
  `sequence[u][-2]`; the test history is the whole `sequence[u]` (test item
  included, README *The test history*); the reported epoch is the best on test.
- `clean`: a test user's training sequence is `sequence[u][:-2]` (validation
  item held out); the reported epoch is chosen on the validation item
  (positive `sequence[u][-2]`, history `sequence[u][:-2]`); the test history
  excludes the test item (`--eval_history exclude_target`).

The validation target is `before_test` under both protocols: hyperparameter
grids are always chosen on it, never on the test item.
"""
import numpy as np

from selfgnn import data_handler, metrics, sampler

PROTOCOLS = ("original", "clean")


class ProtocolData:
    """The training data and the evaluation of one data set under `params.protocol`.

    Attributes: `num_users`, `num_items`, `pos_length` (the history length L),
    `train_sequences` (U int64 arrays, chronological), `train_matrix` (binary
    csr [U, I] of those sequences), `protocol`.
    """

    def __init__(self, dataset, params):
        if params.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {params.protocol!r}")
        self.protocol = params.protocol
        self.num_users, self.num_items = dataset.num_users, dataset.num_items
        self.pos_length = int(params.pos_length)
        self._sampler = sampler.Sampler(dataset.sequences, dataset.train_mat, dataset.sub_mats,
                                        dataset.tst_int, dataset.test_dict, params,
                                        np.random.default_rng(0))
        cut = self._sampler.training_cuts                                   # [U]
        self.train_sequences = [s[:max(len(s) - c, 0)] for s, c in zip(dataset.sequences, cut)]
        mat = data_handler.rating_matrix(self.train_sequences, self.num_users, self.num_items)
        mat.data[:] = 1.0                                                   # counts -> binary
        self.train_matrix = mat
        self.test_users = np.asarray(dataset.test_users, np.int32)
        self.batch = int(params.batch)

    def evaluate(self, score_fn, target, shoot=10):
        """HR/NDCG of `score_fn` on `target` ('test' or 'before_test') and each user's rank.

        `score_fn(users [n], candidates [n, C], sequence [n, L], mask [n, L]) -> [n, C]`
        scores the candidates (positive last); returns (metrics dict, ranks [n_test]).
        """
        acc = metrics.MetricAccumulator(shoot)
        for bat in sampler.batches(self.test_users, self.batch):
            tb = self._sampler.test_batch(bat, target)
            n = tb.num_valid
            scores = np.asarray(score_fn(tb.users[:n], tb.candidates[:n], tb.sequence[:n],
                                         tb.mask[:n]), np.float64)
            if scores.shape != (n, tb.candidates.shape[1]):
                raise ValueError(f"scores have shape {scores.shape}, expected "
                                 f"{(n, tb.candidates.shape[1])}")
            acc.add(scores)
        return acc.result(), acc.ranks()
