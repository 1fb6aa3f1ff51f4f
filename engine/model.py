"""The MLP of the book's chapter 3, at any depth and width: W1, b1 ... WL, bL, float32."""
import math

import numpy as np

from .fold import INPLACE, fold, fold_factors, pixel_scale
from .functions import ACTIVATIONS, softmax

# The training page offers up to 3 hidden layers of up to 512 units: 784-512-512-512-10 has 932,362 weights and biases,
# the largest net it makes. Two million leaves room for CLI nets such as 784-1000-1000-10 (1,796,010) while one model
# stays at 8 MB of float32 (16 MB with its folded inference copy), so a shared server can hold many.
MAX_PARAMS = 2_000_000
MAX_LAYERS = 16  # weight layers; the training page makes at most 4, and each layer is one Python step per batch


class MLP:
    """Fully connected net: hidden layers with one activation, then a softmax over 10 classes; weights never change."""

    def __init__(self, params, *, activation="sigmoid", preprocess=None, card=None):
        self.params = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in params.items()}
        self.activation = activation
        self.preprocess = preprocess  # a fitted engine.preprocess.Preprocess; None means input is used as given
        self.card = dict(card or {})
        self.act = ACTIVATIONS[activation]
        self._folded = {}  # pixel scale -> fold() layers, built on first use: params and preprocess are never mutated

    @property
    def nbytes(self):
        """Bytes this model holds once used: float32 params, the folded copies fold() makes, fitted preprocessing arrays."""
        params = sum(v.nbytes for v in self.params.values())
        scale = pixel_scale(self.preprocess)
        factors = fold_factors(self.n_layers, activation=self.activation, scale=1.0 if scale is None else scale)
        folded = sum(self.params[f"W{i}"].nbytes * (w != 1) + self.params[f"b{i}"].nbytes * shifted
                     for i, (w, shifted) in enumerate(factors, start=1))
        return params + folded + (self.preprocess.nbytes if self.preprocess is not None else 0)

    @property
    def n_layers(self):
        """Number of weight layers (3 for the book's net)."""
        return sum(1 for k in self.params if k.startswith("W"))

    @property
    def sizes(self):
        """Layer widths from input to output, e.g. [784, 50, 100, 10]."""
        Ws = [self.params[f"W{i}"] for i in range(1, self.n_layers + 1)]
        return [Ws[0].shape[0]] + [W.shape[1] for W in Ws]

    def prepare(self, x, *, preprocess="own"):
        """Pixels (n, 784) in 0-255 -> the float32 input the net expects; preprocess='own', None, or a Preprocess."""
        p = self.preprocess if preprocess == "own" else preprocess
        x = np.asarray(x).reshape(len(x), -1)
        return p.transform(x) if p is not None else x.astype(np.float32, copy=False)

    def forward(self, x):
        """Full trace for prepared input x (n, 784): lists a[l] (pre-activations) and z[l] (activations), l = 1..L."""
        a, z = [], []
        h = x
        L = self.n_layers
        for i in range(1, L + 1):
            h = h @ self.params[f"W{i}"] + self.params[f"b{i}"]  # (n, width_i)
            a.append(h)
            h = self.act(h) if i < L else softmax(h)
            z.append(h)
        return a, z

    def scores(self, x):
        """Logits a_L (n, 10) for prepared input x; the fast path, no trace kept."""
        p = self.params
        L = self.n_layers
        h = x
        for i in range(1, L):
            h = self.act(h @ p[f"W{i}"] + p[f"b{i}"])
        return h @ p[f"W{L}"] + p[f"b{L}"]

    def predict_proba(self, x, *, batch_size=1000, preprocess="own"):
        """Softmax probabilities (n, 10) for pixels x (n, 784), in batches of batch_size (the seed's loop)."""
        x = np.asarray(x)
        layers, p, act = self._inference(preprocess)
        if len(x) == 1:  # one image: the same arithmetic on a vector, none of the batching machinery
            y = forward_one(x.ravel(), layers, act=act, preprocess=p)  # (10,) fresh: softmax in place
            y -= y.max()
            np.exp(y, out=y)
            y /= y.sum()
            return y[None]
        x = _rows(x)
        out = np.empty((len(x), self.sizes[-1]), dtype=np.float32)
        step = min(batch_size, BLOCK)
        for i in range(0, len(x), step):
            y = out[i:i + step]  # (m, 10) view: softmax written in place, no temporaries
            a = forward_block(x[i:i + step], layers, act=act, preprocess=p)
            np.subtract(a, a.max(axis=1, keepdims=True), out=y)
            np.exp(y, out=y)
            y /= y.sum(axis=1, keepdims=True)
        return out

    def predict(self, x, *, batch_size=1000, preprocess="own"):
        """Predicted digits (n,) for pixels x (n, 784)."""
        x = np.asarray(x)
        layers, p, act = self._inference(preprocess)
        if len(x) == 1:
            return forward_one(x.ravel(), layers, act=act, preprocess=p).argmax(keepdims=True)
        x = _rows(x)
        out = np.empty(len(x), dtype=np.intp)
        step = min(batch_size, BLOCK)
        for i in range(0, len(x), step):
            forward_block(x[i:i + step], layers, act=act, preprocess=p).argmax(axis=1, out=out[i:i + step])
        return out

    def score(self, x, t, *, batch_size=1000):
        """Accuracy in [0, 1] on pixels x (n, 784) and labels t (n,)."""
        return float(np.mean(self.predict(x, batch_size=batch_size) == np.asarray(t)))

    def _inference(self, preprocess):
        """(folded layers, preprocessing left to run on each batch or None, in-place activation): the fast path's parts."""
        p = self.preprocess if preprocess == "own" else preprocess
        scale = pixel_scale(p)
        key = 1.0 if scale is None else scale  # what fold() multiplies W1 by: at most two entries, 1.0 and 1/255
        if key not in self._folded:  # once per model, not per call: a big net's weights are copied once
            self._folded[key] = fold(self.params, activation=self.activation, preprocess=p)[0]
        return self._folded[key], (p if scale is None else None), INPLACE[self.activation]


BLOCK = 256  # rows per pass through all layers, kept in L2: 128-512 measured alike, whole batches of 10,000 1.8x slower
SPLIT_ROWS = 64  # multiply_first splits W1 from this many rows up


def _rows(x):
    """x as (n, d): (n, 784), (n, 28, 28) or (n, 1, 28, 28) pixels; n may be 0."""
    x = np.asarray(x)
    return x.reshape(len(x), math.prod(x.shape[1:]))


def forward_block(x, layers, *, act, preprocess=None):
    """Logits (m, k) float32 of pixels x (m, 784) through fold()ed layers; preprocess is what fold() left to run."""
    if len(x) == 1:  # batch size 1 (the seed's non-batch loop): vector products cost less per call
        return forward_one(x[0], layers, act=act, preprocess=preprocess)[None]
    h = preprocess.transform(x) if preprocess is not None else x.astype(np.float32, copy=False)  # (m, 784)
    W, b = layers[0]
    h = multiply_first(h, W)  # (m, width): fresh, so the rest runs in place
    h += b
    for W, b in layers[1:]:
        h = act(h, out=h) @ W
        h += b
    return h


def forward_one(x, layers, *, act, preprocess=None):
    """Logits (k,) float32 of one image's pixels x (784,): forward_block's arithmetic as vector products, fewer calls."""
    h = preprocess.transform(x[None])[0] if preprocess is not None else x.astype(np.float32, copy=False)
    W, b = layers[0]
    h = np.dot(h, W)  # (width,): np.dot costs less per call than matmul and @ for a vector
    h += b
    for W, b in layers[1:]:
        h = np.dot(act(h, out=h), W)
        h += b
    return h


def multiply_first(x, W):
    """x (m, 784) float32 @ W1 (784, k): in two products when k is not a multiple of 16, one for the first k // 16 * 16 columns.

    OpenBLAS's float32 kernels work in blocks of 16 output columns; a ragged last block runs slower, so on this
    machine 784x48 plus 784x2 took 5-10 % less time than one 784x50. Both write straight into one (m, k) array.
    Below SPLIT_ROWS rows the second call's overhead outweighs that.
    """
    k = W.shape[1]
    cut = k - k % 16
    if cut in (0, k) or len(x) < SPLIT_ROWS:
        return x @ W
    out = np.empty((len(x), k), np.float32)
    np.matmul(x, W[:, :cut], out=out[:, :cut])  # strided views: BLAS reads and writes them in place
    np.matmul(x, W[:, cut:], out=out[:, cut:])
    return out
