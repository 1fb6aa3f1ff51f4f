"""Why the net gave its answer for one input: full trace, softmax arithmetic, unit contributions, templates, saliency, neighbours."""
from typing import NamedTuple

import numpy as np


class Trace(NamedTuple):
    """Everything the net computes for one input: x (784,) as the net receives it, a[l] and z[l] (width_l,), l = 1..L."""

    x: np.ndarray
    a: list  # pre-activations; a[-1] are the logits
    z: list  # activations; z[-1] are the softmax probabilities


class TopTwo(NamedTuple):
    """The two most probable digits and the gap between them."""

    first: int
    second: int
    p_first: float
    p_second: float
    margin: float  # p_first - p_second


class Contributions(NamedTuple):
    """How the last hidden layer builds one class's logit: logit = terms.sum() + bias."""

    cls: int
    terms: np.ndarray  # (width,) z_{L-1}[j] * W_L[j, cls]
    bias: float  # b_L[cls]
    logit: float  # a_L[cls]
    positive: np.ndarray  # unit indices with terms > 0, largest first
    negative: np.ndarray  # unit indices with terms < 0, most negative first


def trace(model, pixels):
    """One image's pixels (784,) or (28, 28), 0-255 -> Trace through the model's preprocessing and every layer."""
    x = model.prepare(np.asarray(pixels).reshape(1, -1))  # (1, 784)
    a, z = model.forward(x)
    return Trace(x=x[0], a=[v[0] for v in a], z=[v[0] for v in z])


def softmax_breakdown(logits):
    """Logits (10,) -> the softmax arithmetic step by step, float64: logits, shifted = a - max, exp, sum, proba."""
    a = np.asarray(logits, np.float64)
    shifted = a - a.max()  # the largest exponent is 0, so exp never overflows
    e = np.exp(shifted)
    s = float(e.sum())
    return {"logits": a, "shifted": shifted, "exp": e, "sum": s, "proba": e / s}


def top_two(proba):
    """Probabilities (10,) -> TopTwo: the best and runner-up digits and their margin."""
    p = np.asarray(proba, np.float64)
    first, second = np.argsort(-p, kind="stable")[:2]  # ties go to the smaller digit, as the model's argmax does
    return TopTwo(int(first), int(second), float(p[first]), float(p[second]), float(p[first] - p[second]))


# How sure an answer is, named from its margin p_first - p_second: the first threshold the margin reaches gives the word.
CONFIDENCE = ((0.80, "very_sure"), (0.40, "sure"), (0.15, "leaning"), (0.0, "close"))


def confidence(margin):
    """A margin p_first - p_second in [0, 1] -> 'very_sure' (>= 0.80), 'sure' (>= 0.40), 'leaning' (>= 0.15) or 'close'."""
    return next((word for limit, word in CONFIDENCE if margin >= limit), "close")


class Flow(NamedTuple):
    """The strongest contributions z[i] * W_l[i, j] through weight layer l (from layer l-1, the input when l = 1, to layer l)."""

    layer: int  # l = 1 .. L
    source: np.ndarray  # (m,) unit i of layer l-1 (a pixel when l = 1)
    target: np.ndarray  # (m,) unit j of layer l
    term: np.ndarray  # (m,) z_{l-1}[i] * W_l[i, j], float64; largest |term| first


def strongest_paths(model, tr, cls, *, k=6):
    """Flows [layer 1 .. L] of what builds class cls's logit: the k largest |z * W| into cls, then into their sources, and so on.

    Layer L's targets are [cls]; each layer below feeds the distinct sources found one layer up, so the edges form the
    strongest paths from the input to the answer.
    """
    targets = np.array([int(cls)])
    flows = []
    for layer in range(model.n_layers, 0, -1):
        z = np.asarray(tr.x if layer == 1 else tr.z[layer - 2], np.float64)  # (width_{layer-1},)
        terms = z[:, None] * model.params[f"W{layer}"][:, targets].astype(np.float64)  # (width_{layer-1}, len(targets))
        flat = np.argsort(-np.abs(terms), axis=None, kind="stable")[:k]
        i, j = np.unravel_index(flat, terms.shape)
        flows.append(Flow(layer, i, targets[j], terms[i, j]))
        targets = np.unique(i)
    return flows[::-1]


def contributions(model, tr, cls):
    """Each last-hidden unit's share z_{L-1}[j] * W_L[j, cls] of class cls's logit (for a 1-layer net: each input's)."""
    L = model.n_layers
    z = np.asarray(tr.z[-2] if L > 1 else tr.x, np.float64)  # (width,)
    W, b = model.params[f"W{L}"], model.params[f"b{L}"]
    terms = z * W[:, cls].astype(np.float64)
    order = np.argsort(-terms, kind="stable")
    positive = order[terms[order] > 0]
    negative = order[::-1][terms[order[::-1]] < 0]
    return Contributions(int(cls), terms, float(b[cls]), float(tr.a[-1][cls]), positive, negative)


def most_active(z, *, k=8):
    """Indices of the k units with the largest activation in z (width,), largest first."""
    z = np.asarray(z)
    return np.argsort(-z, kind="stable")[:k]


def templates(model, units):
    """Layer-1 input weights W1[:, k] of the given units as pictures (len(units), 28, 28) float32."""
    W1 = model.params["W1"]  # (784, width_1)
    return W1[:, np.asarray(units, int)].T.reshape(-1, 28, 28)


def saliency(model, pixels, cls):
    """Gradient of class cls's logit with respect to each input pixel (28, 28), per gray level; NumPy backprop in float64."""
    tr = trace(model, pixels)
    L = model.n_layers
    P = {k: v.astype(np.float64) for k, v in model.params.items()}
    g = P[f"W{L}"][:, cls]  # d a_L[cls] / d z_{L-1}  (width_{L-1},)
    for i in range(L - 1, 0, -1):
        z = tr.z[i - 1].astype(np.float64)
        slope = z * (1 - z) if model.activation == "sigmoid" else (tr.a[i - 1] > 0).astype(np.float64)
        g = P[f"W{i}"] @ (g * slope)  # d a_L[cls] / d z_{i-1}: back through the activation, then W_i
    return input_gradient(model.preprocess, g).reshape(28, 28)


def input_gradient(pre, g):
    """Chain a gradient g (784,) on the net's input back to the pixels through y = ((x * scale) - mean) / std [@ zca]."""
    if pre is None:
        return g
    if pre.zca_ is not None:
        g = pre.zca_.astype(np.float64) @ g  # y = u @ zca, so dy_j/du_i = zca[i, j]
    if pre.std_ is not None:
        g = g / pre.std_.astype(np.float64)
    return g * float(pre.scale)  # the mean shifts y but does not change its slope


def embed(model, pixels, *, batch_size=2000):
    """Last hidden layer's activations (n, width) float32 for pixels (n, 784): the space the neighbours are found in."""
    x = np.asarray(pixels)
    x = x.reshape(len(x), -1)
    L = model.n_layers
    width = model.sizes[-2] if L > 1 else x.shape[1]
    out = np.empty((len(x), width), np.float32)
    for i in range(0, len(x), batch_size):
        h = model.prepare(x[i:i + batch_size])  # (m, 784)
        for j in range(1, L):
            h = model.act(h @ model.params[f"W{j}"] + model.params[f"b{j}"])  # (m, width_j)
        out[i:i + batch_size] = h
    return out


class NeighbourIndex:
    """Euclidean nearest neighbours among fixed embeddings (n, width): squared norms kept, one matvec per query."""

    def __init__(self, embeddings):
        self.E = np.ascontiguousarray(embeddings, np.float32)  # (n, width)
        self.sq = np.einsum("ij,ij->i", self.E, self.E)  # (n,) |e|^2

    def query(self, q, *, k=8):
        """Embedding q (width,) -> (indices (k,), distances (k,)) of the k nearest rows, nearest first."""
        q = np.asarray(q, np.float32).reshape(-1)
        d2 = self.sq - 2 * (self.E @ q) + float(q @ q)  # (n,) |e - q|^2, in float32 up to rounding
        m = min(len(d2), 4 * k + 16)
        cand = np.argpartition(d2, m - 1)[:m] if m < len(d2) else np.arange(len(d2))
        # recompute the candidates exactly: float32 cancellation could otherwise misorder close ties
        exact = ((self.E[cand].astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
        order = np.lexsort((cand, exact))[:k]
        return cand[order], np.sqrt(exact[order])
