"""Reference arithmetic written out from the definitions, in float64, for tests to check the engine against."""
import numpy as np


def plain_input(x, p):
    """Pixels (n, 784) or (784,) through preprocessing p (None: as given) in float64: ((x * scale) - mean) / std [@ zca]."""
    h = np.asarray(x, np.float64)
    if p is None:
        return h
    h = h * float(p.scale)
    if p.mean_ is not None:
        h = h - p.mean_.astype(np.float64)
    if p.std_ is not None:
        h = h / p.std_.astype(np.float64)
    if p.zca_ is not None:
        h = h @ p.zca_.astype(np.float64)
    return h
