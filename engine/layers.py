"""Backprop layers (the book's common/layers.py) in float32, in place, with reused buffers, and the net built from them."""
import numpy as np


def _ones(layer, n):
    """A float32 ones vector (n,): ones @ dout sums the rows as a BLAS call, several times faster than dout.sum(axis=0)."""
    ones = layer.__dict__.get("_ones_vec")
    if ones is None or len(ones) != n:
        ones = layer._ones_vec = np.ones(n, np.float32)
    return ones


def _buffer(layer, name, shape):
    """A float32 scratch array kept on the layer and reused while the batch shape stays the same."""
    buf = layer.__dict__.get(name)
    if buf is None or buf.shape != shape:
        buf = np.empty(shape, np.float32)
        setattr(layer, name, buf)
    return buf


class Affine:
    """out = x @ W + b; backward fills dW, db (views into the net's flat gradient) and returns dx."""

    def __init__(self, W, b, dW, db, *, need_dx=True):
        self.W, self.b, self.dW, self.db = W, b, dW, db
        self.need_dx = need_dx  # the first layer's dx would be a gradient for the pixels: skip a (n, 784) matmul
        self.x = None

    def forward(self, x):
        self.x = x
        out = _buffer(self, "_out", (len(x), self.W.shape[1]))
        np.matmul(x, self.W, out=out)  # (n, out)
        out += self.b
        return out

    def backward(self, dout):
        np.matmul(self.x.T, dout, out=self.dW)  # (in, out)
        np.matmul(_ones(self, len(dout)), dout, out=self.db)
        if not self.need_dx:
            return None
        dx = _buffer(self, "_dx", self.x.shape)
        return np.matmul(dout, self.W.T, out=dx)  # (n, in)


class Sigmoid:
    """y = 1 / (1 + exp(-x)) via tanh (never overflows), computed in place; dy/dx = y (1 - y)."""

    def forward(self, x):
        x *= 0.5
        np.tanh(x, out=x)
        x *= 0.5
        x += 0.5
        self.out = x
        return x

    def backward(self, dout):
        tmp = _buffer(self, "_tmp", dout.shape)
        np.subtract(1.0, self.out, out=tmp)
        tmp *= self.out
        dout *= tmp
        return dout


class Relu:
    """y = max(0, x) in place; the gradient passes where y > 0."""

    def forward(self, x):
        np.maximum(x, 0.0, out=x)
        self.out = x
        return x

    def backward(self, dout):
        mask = self.__dict__.get("_mask")
        if mask is None or mask.shape != dout.shape:
            mask = self._mask = np.empty(dout.shape, bool)
        np.greater(self.out, 0.0, out=mask)
        np.multiply(dout, mask, out=dout)
        return dout


class SoftmaxWithLoss:
    """Softmax and mean cross-entropy together: the backward is simply (y - onehot(t)) / n."""

    def forward(self, a, t):
        """Scores a (n, k), labels t (n,) -> mean loss (float); a is shifted in place."""
        n = len(a)
        rows = self.__dict__.get("_rows")
        if rows is None or len(rows) != n:
            rows = self._rows = np.arange(n)
        y = _buffer(self, "_y", a.shape)
        a -= a.max()  # exp stays finite; one max over the batch is much cheaper than a max per row
        np.exp(a, out=y)
        s = np.matmul(y, _ones(self, a.shape[1]))[:, None]  # (n, 1) row sums
        if s.min() < 1e-30:  # a row far below the batch max underflowed: shift each row by its own max instead
            a -= a.max(axis=1, keepdims=True)
            np.exp(a, out=y)
            s = y.sum(axis=1, keepdims=True)
        y /= s
        self.y, self.t = y, t
        self.correct = int(np.count_nonzero(a.argmax(axis=1) == t))  # for the running training accuracy
        # log-sum-exp form: exact and free of the book's +1e-7
        return float(np.log(s).sum() - a[rows, t].sum()) / n

    def backward(self):
        dx = self.y
        dx[self._rows, self.t] -= 1.0
        dx *= 1.0 / len(dx)
        return dx


class Network:
    """A trainable MLP: params and grads live in one flat float32 array each, so an optimizer step is a few whole-array ops."""

    def __init__(self, params, *, activation="sigmoid"):
        L = sum(1 for k in params if k.startswith("W"))
        keys = [f"{p}{i}" for i in range(1, L + 1) for p in "Wb"]
        sizes = [params[k].size for k in keys]
        self.flat = np.concatenate([np.asarray(params[k], np.float32).ravel() for k in keys])
        self.grad_flat = np.zeros_like(self.flat)
        self.params, self.grads = {}, {}
        start = 0
        for k, size in zip(keys, sizes, strict=True):
            shape = np.shape(params[k])
            self.params[k] = self.flat[start:start + size].reshape(shape)
            self.grads[k] = self.grad_flat[start:start + size].reshape(shape)
            start += size
        act = {"sigmoid": Sigmoid, "relu": Relu}[activation]
        self.layers = []
        for i in range(1, L + 1):
            self.layers.append(Affine(self.params[f"W{i}"], self.params[f"b{i}"], self.grads[f"W{i}"], self.grads[f"b{i}"],
                                      need_dx=i > 1))
            if i < L:
                self.layers.append(act())
        self.last = SoftmaxWithLoss()

    def scores(self, x):
        """Logits (n, k) for prepared input x (n, 784); the returned array is a reused buffer."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        """Mean cross-entropy of the batch; keeps what backward needs."""
        return self.last.forward(self.scores(x), t)

    def gradient(self, x, t):
        """Loss of the batch, and fill self.grads (and grad_flat) by backprop."""
        loss = self.loss(x, t)
        dout = self.last.backward()
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return loss

    def copy_params(self):
        """An independent {W1: ..., b1: ...} copy of the current weights."""
        return {k: v.copy() for k, v in self.params.items()}
