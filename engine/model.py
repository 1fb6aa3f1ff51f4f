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
        n = len(x)
        out = np.empty((n, self.sizes[-1]), dtype=np.float32)
        for i in range(0, n, batch_size):
            out[i:i + batch_size] = softmax(self.scores(self.prepare(x[i:i + batch_size], preprocess=preprocess)))
        return out

    def predict(self, x, *, batch_size=1000, preprocess="own"):
        """Predicted digits (n,) for pixels x (n, 784)."""
        n = len(x)
        out = np.empty(n, dtype=np.int64)
        for i in range(0, n, batch_size):
            out[i:i + batch_size] = self.scores(self.prepare(x[i:i + batch_size], preprocess=preprocess)).argmax(axis=1)
        return out

    def score(self, x, t, *, batch_size=1000):
        """Accuracy in [0, 1] on pixels x (n, 784) and labels t (n,)."""
        return float(np.mean(self.predict(x, batch_size=batch_size) == np.asarray(t)))
