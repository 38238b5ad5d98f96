"""LightGCN (He, Deng, Wang, Li, Zhang, Wang, SIGIR 2020).

Light graph convolution, eq. (3), on the user-item bipartite graph of the binary
training matrix R [U, I] (N_u: u's items, N_i: i's users):

    e_u^(k+1) = sum_{i in N_u} 1 / sqrt(|N_u| |N_i|) e_i^(k)
    e_i^(k+1) = sum_{u in N_i} 1 / sqrt(|N_i| |N_u|) e_u^(k)

i.e. E^(k+1) = D^-1/2 A D^-1/2 E^(k) (eq. 7) with A = [[0, R], [R^T, 0]] of size
(U + I) and D its degrees (a node without edges keeps no neighbour); layer
combination, eq. (4), with alpha_k = 1 / (K + 1): e = mean_{k=0..K} e^(k); the
prediction, eq. (5), is y_ui = <e_u, e_i>.

Trained as the paper does (section 3.2, eq. 15): the BPR loss with one sampled
negative per training entry per epoch and the L2 prior on the layer-0 ("ego")
embeddings of the batch, reg 1e-4, Adam lr 1e-3, d = 64, Xavier initialisation,
batches of 2048 (`baselines.bprmf`: the sampling, the loss and the training loop
are BPR-MF's, only the representations differ). K = 3 by default (the depth of the
paper's main comparison); the grid tries K in (2, 3), among the depths of its Table 2
(K = 1 left out to keep a 5-seed, 2-protocol comparison within hours on 2 CPU cores).

Scores propagate the graph once per `score` call (one evaluation batch), from the
current weights: nothing is cached, so no cache can go stale after a training step
or a checkpoint restore. The products A_hat E go through TF's CSR kernel
(SparseMatrixMatMul), about 10x faster on CPU here than `tf.sparse.sparse_dense_matmul`
and its gradient, with the gradient A_hat^T g = A_hat g (A_hat is symmetric).
"""
import numpy as np
import scipy.sparse as sp
import tensorflow as tf

from baselines.bprmf import BPRMF


def normalized_adjacency(train_matrix):
    """D^-1/2 A D^-1/2 of the bipartite graph of `train_matrix` [U, I]: SparseTensor [U+I, U+I]."""
    mat = sp.coo_matrix(sp.csr_matrix(train_matrix > 0))
    num_users, num_items = mat.shape
    user_degree = np.bincount(mat.row, minlength=num_users).astype(np.float64)  # [U] |N_u|
    item_degree = np.bincount(mat.col, minlength=num_items).astype(np.float64)  # [I] |N_i|
    weight = 1.0 / np.sqrt(user_degree[mat.row] * item_degree[mat.col])        # [E]
    rows = np.concatenate([mat.row, num_users + mat.col])                       # [2E]
    cols = np.concatenate([num_users + mat.col, mat.row])                       # [2E]
    size = num_users + num_items
    adjacency = tf.sparse.SparseTensor(np.stack([rows, cols], 1).astype(np.int64),
                                       np.tile(weight, 2).astype(np.float32),
                                       [size, size])                            # [U+I, U+I]
    return tf.sparse.reorder(adjacency)


def propagate(adjacency, ego, layers):
    """mean_{k=0..K} A_hat^k E^(0) (eqs. 3-4) for the symmetric SparseTensor A_hat [N, N]."""
    csr = tf.raw_ops.SparseTensorToCSRSparseMatrix(
        indices=adjacency.indices, values=adjacency.values, dense_shape=adjacency.dense_shape)

    @tf.custom_gradient
    def convolve(x):
        def grad(upstream):
            return tf.raw_ops.SparseMatrixMatMul(a=csr, b=upstream)         # [N, d] A_hat^T g
        return tf.raw_ops.SparseMatrixMatMul(a=csr, b=x), grad              # [N, d]

    layer = total = ego                                                     # [N, d] E^(0)
    for _ in range(layers):
        layer = convolve(layer)                                             # [N, d] E^(k+1)
        total = total + layer                                               # [N, d]
    return total / (layers + 1.0)                                           # [N, d]


class LightGCN(BPRMF):
    """BPR-MF whose representations are the mean of K light graph convolutions (eqs. 3-4)."""

    name = "lightgcn"
    DEFAULTS = {"dim": 64, "layers": 3, "reg": 1e-4, "lr": 1e-3, "batch": 2048}
    GRID = ({"layers": 2}, {"layers": 3})

    def __init__(self, data, config, seed):
        super().__init__(data, config, seed)
        if int(self.config["layers"]) < 0:
            raise ValueError(f"lightgcn: layers must be >= 0, got {self.config['layers']}")
        self.adjacency = normalized_adjacency(data.train_matrix)            # [U+I, U+I]

    def embeddings(self):
        """Final user [U, d] and item [I, d] embeddings: mean over k = 0..K of E^(k)."""
        ego = tf.concat([self.user_embedding, self.item_embedding], 0)      # [U+I, d] E^(0)
        final = propagate(self.adjacency, ego, int(self.config["layers"]))  # [U+I, d]
        return final[:self.data.num_users], final[self.data.num_users:]     # [U, d], [I, d]
