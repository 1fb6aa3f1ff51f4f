"""The seed's chapter-3 code (get_data, init_network, predict) for learners, on the engine's safe loaders."""
import os

import numpy as np

from .data import load_mnist
from .functions import sigmoid, softmax
from .modelfile import load_book_weights

__all__ = ["load_mnist", "get_data", "init_network", "predict", "sigmoid", "softmax", "predict_verbatim"]


def get_data():
    """The test set as the seed uses it: x_test (10000, 784) float32 in [0, 1], t_test (10000,)."""
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, flatten=True, one_hot_label=False)
    return x_test, t_test


def init_network():
    """The book's weights dict {W1, b1, W2, b2, W3, b3} from $BOOK_WEIGHTS or ./sample_weight.pkl, safely."""
    path = os.environ.get("BOOK_WEIGHTS") or "sample_weight.pkl"
    return dict(load_book_weights(path).params)


def predict(network, x):
    """The seed's forward pass: x (n, 784) -> softmax probabilities (n, 10)."""
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    y = softmax(a3)
    return y


def sigmoid_verbatim(x):
    """The book's sigmoid exactly as printed: exp(-x) overflows (with a warning) for x below about -88 in float32."""
    return 1 / (1 + np.exp(-x))


def softmax_verbatim(x):
    """The book's common/functions.py softmax exactly as printed, exp computed twice."""
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def predict_verbatim(network, x):
    """The seed's forward pass with the book's own sigmoid and softmax, unchanged: the reference for speed comparisons."""
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = sigmoid_verbatim(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = sigmoid_verbatim(a2)
    a3 = np.dot(z2, W3) + b3
    y = softmax_verbatim(a3)
    return y
