"""Optimizers (the book's SGD, Momentum, Adam) updating float32 arrays in place, and learning-rate schedules."""
import math

import numpy as np


class SGD:
    """p -= lr * g."""

    def __init__(self, *, lr=0.1):
        self.lr = lr

    def update(self, params, grads):
        """Step every array in params (dict) along -grads (same keys); grads are used as scratch."""
        for k, p in params.items():
            g = grads[k]
            g *= -self.lr  # a Python float keeps float32 arrays float32
            p += g


class Momentum:
    """v = momentum * v - lr * g; p += v."""

    def __init__(self, *, lr=0.01, momentum=0.9):
        self.lr, self.momentum = lr, momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
        for k, p in params.items():
            v, g = self.v[k], grads[k]
            v *= self.momentum
            g *= self.lr
            v -= g
            p += v


class Adam:
    """Adam (Kingma & Ba) with the bias correction folded into the step size, as in the book."""

    def __init__(self, *, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.iter = 0
        self.m = self.v = self.tmp = None

    def update(self, params, grads):
        if self.m is None:
            self.m = {k: np.zeros_like(p) for k, p in params.items()}
            self.v = {k: np.zeros_like(p) for k, p in params.items()}
            self.tmp = {k: np.empty_like(p) for k, p in params.items()}
        self.iter += 1
        lr_t = self.lr * math.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter)
        for k, p in params.items():
            m, v, g, tmp = self.m[k], self.v[k], grads[k], self.tmp[k]
            np.subtract(g, m, out=tmp)  # m += (1 - beta1) (g - m)
            tmp *= 1.0 - self.beta1
            m += tmp
            g *= g  # v += (1 - beta2) (g^2 - v)
            g -= v
            g *= 1.0 - self.beta2
            v += g
            np.sqrt(v, out=tmp)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= lr_t
            p -= tmp


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
SCHEDULES = ("constant", "cosine", "step")


def make_optimizer(name, *, lr):
    """An optimizer by name ('sgd', 'momentum', 'adam') with learning rate lr."""
    return OPTIMIZERS[name](lr=lr)


def scheduled_lr(lr, epoch, epochs, *, schedule="constant"):
    """Learning rate for epoch (0-based) of epochs: constant, cosine down to 1% of lr, or /10 at 50% and 75%."""
    if schedule == "cosine":
        return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * epoch / epochs)))
    if schedule == "step":
        return lr * (0.1 ** ((epoch >= epochs // 2) + (epoch >= 3 * epochs // 4)))
    return lr
