"""The test images a model gets wrong, and stepping through them in order ("Next mistake")."""
import numpy as np


def mistakes(model, x, t, *, batch_size=2000):
    """Ascending indices (m,) of pixels x (n, 784) 0-255 whose predicted digit differs from label t (n,)."""
    pred = model.predict(x, batch_size=batch_size)  # (n,)
    return np.flatnonzero(pred != np.asarray(t))


def next_after(indices, current):
    """The first of the ascending indices after current, wrapping round to the first; None when there are none."""
    indices = np.asarray(indices)
    if len(indices) == 0:
        return None
    k = int(np.searchsorted(indices, current, side="right"))
    return int(indices[k % len(indices)])


def rank(indices, current):
    """1-based position of current among the ascending indices, or None when current is not one of them."""
    indices = np.asarray(indices)
    k = int(np.searchsorted(indices, current))
    return k + 1 if k < len(indices) and indices[k] == current else None
