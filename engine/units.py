"""Hidden units at a glance: laid out in a grid, placed on their activation curve, counted as saturated or off."""
import math
from typing import NamedTuple

import numpy as np

from . import explain
from .functions import ACTIVATIONS
from .saturation import SATURATED  # the app's one definition of a saturated sigmoid unit: |a| > 5


def grid_shape(n, *, cols=10):
    """(rows, cols) for n units: rows of `cols` (10 reads well for 50 and 100), squarer for wide layers, one row for few."""
    if n <= cols:
        return 1, max(n, 1)
    if n > 20 * cols:
        cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def as_grid(v, *, cols=10):
    """Values (n,) -> float64 (rows, cols) in reading order, NaN in the unused cells; the unit number is row * cols + col."""
    v = np.asarray(v, np.float64).ravel()
    rows, cols = grid_shape(len(v), cols=cols)
    out = np.full(rows * cols, np.nan)
    out[:len(v)] = v
    return out.reshape(rows, cols)


def curve(activation, *, lo=-8.0, hi=8.0, n=161):
    """The activation function drawn as points: (a (n,), z (n,)) float64 over [lo, hi]."""
    a = np.linspace(lo, hi, n)
    return a, np.asarray(ACTIVATIONS[activation](a), np.float64)


def curve_range(a_values, *, margin=1.0, at_least=6.0):
    """(lo, hi) symmetric around 0 covering every pre-activation in a_values (a list of arrays), at least [-6, 6]."""
    top = max((float(np.max(np.abs(a))) for a in a_values if np.size(a)), default=0.0)
    r = max(at_least, math.ceil(top + margin))
    return -float(r), float(r)


def saturation(a, *, activation):
    """How many of the units with pre-activations a (n,) barely react: sigmoid |a| > SATURATED, ReLU a <= 0 (off)."""
    a = np.asarray(a)
    stuck = np.abs(a) > SATURATED if activation == "sigmoid" else a <= 0
    return int(stuck.sum())


class LogitParts(NamedTuple):
    """Class cls's logit split into the last layer's inputs: logit = plus + minus + bias, where terms = z * w."""

    cls: int
    z: np.ndarray  # (width,) the last hidden layer's activations (the prepared input for a net without hidden layers)
    w: np.ndarray  # (width,) W_L[:, cls], the weights from those units into class cls
    terms: np.ndarray  # (width,) z * w
    plus: float  # sum of the positive terms
    minus: float  # sum of the negative terms
    bias: float  # b_L[cls]
    logit: float  # a_L[cls]


def logit_parts(model, tr, cls):
    """LogitParts of class cls for an explain.Trace tr: what pushed its score up and what pulled it down."""
    c = explain.contributions(model, tr, cls)
    z = np.asarray(tr.z[-2] if model.n_layers > 1 else tr.x, np.float64)
    w = model.params[f"W{model.n_layers}"][:, cls].astype(np.float64)
    return LogitParts(int(cls), z, w, c.terms, float(c.terms[c.terms > 0].sum()), float(c.terms[c.terms < 0].sum()),
                      c.bias, c.logit)
