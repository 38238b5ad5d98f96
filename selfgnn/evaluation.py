"""The original's `testEpoch`: every test user's candidates scored, HR and NDCG.

`Evaluator` owns the two compiled functions of a test pass (the node embeddings
without dropout, and the scores of one padded test batch; distributed over the
replicas under a `--strategy`) and prints the original's test lines.
"""
import math

import tensorflow as tf

from selfgnn import distribute, metrics, sampler
from selfgnn.logs import progress_bar
from selfgnn.model import NodeEmbeddings


class Evaluator:
    """Scores the test users of `sampler_` with `model` (`Recommender.testEpoch`)."""

    def __init__(self, params, model, sampler_, strategy, log):
        self.params, self.model, self.sampler, self.log = params, model, sampler_, log
        scores = self._scores
        if params.strategy != "default":
            scores = distribute.distributed_test_scores(strategy, model, scores)
        self.eval_nodes = tf.function(lambda: model.node_embeddings(training=False),
                                      autograph=False)
        d, b, length = params.latdim, params.batch, params.pos_length
        self.test_scores = tf.function(scores, autograph=False, input_signature=[
            tf.TensorSpec([None, d]), tf.TensorSpec([None, d]),  # final user, item [N, d]
            tf.TensorSpec([b], tf.int32), tf.TensorSpec([b, params.testSize], tf.int32),
            tf.TensorSpec([b, length], tf.int32), tf.TensorSpec([b, length], tf.float32)])
        self.last_ranks = None

    def _scores(self, final_user, final_item, users, candidates, sequence, mask):
        nodes = NodeEmbeddings(None, None, final_user, final_item)
        return self.model.candidate_scores(nodes, users, candidates, sequence, mask)  # [b, C]

    def test_epoch(self, target=None):
        """HR/NDCG at shoot (and 5, 10, 20) over all test users; `target` ('test', 'last',
        'before_test') overrides --test/--val_item. `last_ranks` keeps (users, ranks)."""
        p = self.params
        nodes = self.eval_nodes()
        acc = metrics.MetricAccumulator(p.shoot)
        ids = self.sampler.test_users()
        steps = int(math.ceil(len(ids) / p.batch))
        for i, bat_ids in enumerate(sampler.batches(ids, p.batch)):
            tb = self.sampler.test_batch(bat_ids, target)
            scores = self.test_scores(nodes.final_user, nodes.final_item, tb.users, tb.candidates,
                                      tb.sequence, tb.mask).numpy()[:tb.num_valid]  # [n, C]
            if 0 <= p.uid < scores.size:  # `print(preds[args.uid])` over the flat pair list
                self.log.plain(f"uid {p.uid} score: {scores.reshape(-1)[p.uid]}")
            hits, ndcg = acc.add(scores)
            self.log("Steps %d/%d: hit10 = %d, ndcg10 = %d  %s"
                     % (i, steps, hits, ndcg, progress_bar(i + 1, steps)), oneline=True)
        res = acc.result()
        self.last_ranks = (ids, acc.ranks())
        # The original prints its @1 and @15 sums, which it never fills: always 0.
        self.log.plain("epochNdcg1:{},epochHit1:{},epochNdcg5:{},epochHit5:{}".format(
            0.0, 0.0, res["NDCG5"], res["HR5"]))
        self.log.plain("epochNdcg15:{},epochHit15:{},epochNdcg20:{},epochHit20:{}".format(
            0.0, 0.0, res["NDCG20"], res["HR20"]))
        return res
