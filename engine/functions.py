"""Stable activation and loss functions, float32 in, float32 out (the book's common/functions.py)."""
import numpy as np


def sigmoid(x):
    """Logistic function, stable for any x: tanh never overflows where exp(-x) would."""
    return 0.5 * np.tanh(0.5 * x) + 0.5


def relu(x):
    """max(0, x)."""
    return np.maximum(x, 0)


def softmax(x):
    """Row-wise softmax of scores (n, k) or (k,); subtracting the max keeps exp finite."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """Mean cross-entropy of probabilities y (n, k) against labels t (n,) or one-hot (n, k)."""
    if y.ndim == 1:
        y, t = y[None, :], np.reshape(t, (1, -1))
    if t.shape == y.shape:
        t = t.argmax(axis=1)
    n = y.shape[0]
    return float(-np.log(y[np.arange(n), t] + 1e-7).sum() / n)


ACTIVATIONS = {"sigmoid": sigmoid, "relu": relu}
