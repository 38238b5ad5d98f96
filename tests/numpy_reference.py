"""NumPy forward pass of SelfGNN (eval mode) from a model's weights, for tests."""
import numpy as np


def act(x, leaky=0.5):
    return np.maximum(leaky * x, x)


def np_norm(x, ln):
    axes = tuple(range(1, x.ndim))
    mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * ln.gamma.numpy() + ln.beta.numpy()


def np_attention(x, att, heads):
    n, t, d = x.shape
    dk = d // heads

    def proj(dense):
        y = x @ dense.kernel.numpy() + dense.bias.numpy()
        return y.reshape(n, t, heads, dk).transpose(0, 2, 1, 3)

    q, k, v = proj(att.q), proj(att.k), proj(att.v)
    s = np.exp(q @ k.transpose(0, 1, 3, 2) / np.sqrt(dk))
    a = s / (s.sum(-1, keepdims=True) + 1e-8)
    return (a @ v).transpose(0, 2, 1, 3).reshape(n, t, d)


def np_lstm(x, kernel, bias):
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c = h = np.zeros((x.shape[0], x.shape[2]))
    out = []
    for t in range(x.shape[1]):
        i, j, f, o = np.split(np.concatenate([x[:, t], h], 1) @ kernel + bias, 4, axis=1)
        c = c * sig(f + 1.0) + sig(i) * np.tanh(j)
        h = np.tanh(c) * sig(o)
        out.append(h)
    return np.stack(out, 1)


def np_nodes(model, edges):
    """Reference of lines 118-155 without dropout."""
    p = model.params
    U, I = model.num_users, model.num_items  # noqa: N806
    us, its = [], []
    for k, (ue, ie) in enumerate(edges):
        eu, ei = [model.uEmbed.numpy()[k]], [model.iEmbed.numpy()[k]]
        for _ in range(p.gnn_layer):
            nu = np.zeros((U, p.latdim))
            np.add.at(nu, ue, ei[-1][ie])
            ni = np.zeros((I, p.latdim))
            np.add.at(ni, ie, eu[-1][ue])
            eu.append(act(nu) + eu[-1])
            ei.append(act(ni) + ei[-1])
        us.append(sum(eu))
        its.append(sum(ei))
    us, its = np.stack(us), np.stack(its)
    kern, bias = model.lstm.kernel.numpy(), model.lstm.bias.numpy()
    h = p.num_attention_heads
    fu = np_attention(np_norm(np_lstm(us.transpose(1, 0, 2), kern, bias), model.user_norm),
                      model.user_attention, h).mean(1)
    fi = np_attention(np_norm(np_lstm(its.transpose(1, 0, 2), kern, bias), model.item_norm),
                      model.item_attention, h).mean(1)
    return us, its, fu, fi


def np_sequence(model, fi, seq, mask):
    hist = np.einsum("bl,bld->bd", mask, fi[seq])
    x = (np_norm(hist, model.history_norm)
         + np_norm(mask @ model.posEmbed.numpy(), model.position_norm))[:, None, :]
    for ln, att in zip(model.sequence_norms, model.sequence_attention):
        x = act(np_attention(np_norm(x, ln), att, model.params.num_attention_heads)) + x
    return x.sum(1)


def np_paper_sequence(model, fi, seq, mask):
    """--sequence_branch paper, user by user on the valid positions alone (no mask):
    LN_2(f_i) + LN_3(p_t) per position, the blocks, the sum; 0 without history."""
    out = np.zeros((len(seq), fi.shape[1]), np.float32)
    for b in range(len(seq)):
        valid = np.flatnonzero(mask[b])
        if not len(valid):
            continue
        x = (np_norm(fi[seq[b, valid]], model.history_norm)
             + np_norm(model.posEmbed.numpy()[valid], model.position_norm))[None]  # [1, V, d]
        for ln, att in zip(model.sequence_norms, model.sequence_attention):
            x = act(np_attention(np_norm(x[0], ln)[None], att,
                                 model.params.num_attention_heads)) + x
        out[b] = x[0].sum(0)
    return out
