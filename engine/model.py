"""The MLP of the book's chapter 3, at any depth and width: W1, b1 ... WL, bL, float32."""
import numpy as np

from .functions import ACTIVATIONS, softmax


class MLP:
    """Fully connected net: hidden layers with one activation, then a softmax over 10 classes."""

    def __init__(self, params, *, activation="sigmoid", preprocess=None, card=None):
        self.params = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in params.items()}
        self.activation = activation
        self.preprocess = preprocess  # a fitted engine.preprocess.Preprocess; None means input is used as given
        self.card = dict(card or {})
        self.act = ACTIVATIONS[activation]

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
        out = np.empty((len(x), self.sizes[-1]), dtype=np.float32)
        for i, a in self._logits(x, batch_size, preprocess):
            y = out[i:i + len(a)]  # (m, 10) view: softmax written in place, no temporaries
            np.subtract(a, a.max(axis=1, keepdims=True), out=y)
            np.exp(y, out=y)
            y /= y.sum(axis=1, keepdims=True)
        return out

    def predict(self, x, *, batch_size=1000, preprocess="own"):
        """Predicted digits (n,) for pixels x (n, 784)."""
        out = np.empty(len(x), dtype=np.intp)
        for i, a in self._logits(x, batch_size, preprocess):
            a.argmax(axis=1, out=out[i:i + len(a)])
        return out

    def score(self, x, t, *, batch_size=1000):
        """Accuracy in [0, 1] on pixels x (n, 784) and labels t (n,)."""
        return float(np.mean(self.predict(x, batch_size=batch_size) == np.asarray(t)))

    def _logits(self, x, batch_size, preprocess):
        """Yield (start, logits (m, 10)) for each batch of pixels x: the inference fast path (see fold)."""
        p = self.preprocess if preprocess == "own" else preprocess
        layers, p = fold(self.params, activation=self.activation, preprocess=p)
        act = INPLACE.get(self.activation)
        x = np.asarray(x)
        x = x.reshape(len(x), int(np.prod(x.shape[1:])))  # (n, 784) from (n, 784), (n, 28, 28) or (n, 1, 28, 28); n may be 0
        for i in range(0, len(x), batch_size):
            h = x[i:i + batch_size]  # (m, 784) pixels
            for j, (W, b) in enumerate(layers):
                h = multiply_pixels(h, W, preprocess=p) if j == 0 else h @ W  # (m, width): fresh, so the rest is in place
                h += b
                if j < len(layers) - 1:
                    h = act(h, out=h) if act else self.act(h)
            yield i, h


CHUNK = 512  # rows per uint8 -> float32 block in the first layer: the block stays in cache while W1 multiplies it


def multiply_pixels(x, W, *, preprocess=None):
    """Pixels x (m, 784) @ W1 (784, k) -> (m, k) float32; uint8 is converted in cache-sized row blocks."""
    if preprocess is not None:
        return preprocess.transform(x) @ W
    if x.dtype == np.float32 or len(x) <= CHUNK:
        return x.astype(np.float32, copy=False) @ W
    out = np.empty((len(x), W.shape[1]), np.float32)
    for j in range(0, len(x), CHUNK):
        np.matmul(x[j:j + CHUNK].astype(np.float32), W, out=out[j:j + CHUNK])
    return out


# activations that can overwrite their input; after fold(), sigmoid is a bare tanh
INPLACE = {"sigmoid": np.tanh, "relu": lambda h, out: np.maximum(h, 0, out=out)}


def fold(params, *, activation, preprocess):
    """Inference layers [(W, b)] computing the same logits with fewer passes, and the preprocessing still to apply.

    Sigmoid is 0.5 * tanh(a / 2) + 0.5, so a hidden layer carries u = tanh(a / 2): the halving goes into its
    W and b, and the next layer's z @ W + b becomes u @ (W / 2) + (b + colsum(W) / 2). The book's 'unit'
    preprocessing (pixels / 255) and 'raw' fold into W1 the same way, so uint8 pixels go straight in.
    Float64 here, float32 out: predictions match the unfolded forward pass (tests/test_modelfile.py).
    """
    L = sum(1 for k in params if k.startswith("W"))
    Ws = [params[f"W{i}"].astype(np.float64) for i in range(1, L + 1)]
    bs = [params[f"b{i}"].astype(np.float64) for i in range(1, L + 1)]
    kind = getattr(preprocess, "kind", None)
    if preprocess is None or kind in ("raw", "unit"):
        Ws[0] *= 1.0 if preprocess is None or kind == "raw" else float(preprocess.scale)
        preprocess = None
    if activation == "sigmoid":
        for i in range(1, L):  # z = 0.5 u + 0.5 feeds layer i + 1
            bs[i] += 0.5 * Ws[i].sum(axis=0)
            Ws[i] *= 0.5
        for i in range(L - 1):  # hidden layers output a / 2, ready for tanh
            Ws[i] *= 0.5
            bs[i] *= 0.5
    return [(W.astype(np.float32), b.astype(np.float32)) for W, b in zip(Ws, bs, strict=True)], preprocess
