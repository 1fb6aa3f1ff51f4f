"""The mismatch demo: a model fed data under another preprocessing, its accuracy, and how its first layer saturates."""
import numpy as np

SATURATED = 5.0  # |a| > 5: sigmoid(a) is within 0.007 of 0 or 1 and its slope sigma'(a) below 0.007 (0.25 at a = 0)
CLIP = 20.0  # histograms stop at ±20; values beyond land in the two end bins so raw input's ±4,000 stays on the chart


def first_layer(model, x, *, preprocess="own"):
    """Layer-1 pre-activations a1 = x' @ W1 + b1, float32 (n, width1), for pixels x (n, 784) fed through preprocess."""
    return model.prepare(x, preprocess=preprocess) @ model.params["W1"] + model.params["b1"]


def saturated_share(a, *, limit=SATURATED):
    """Share in [0, 1] of the values of a with |a| > limit."""
    a = np.asarray(a)
    return float(np.count_nonzero(np.abs(a) > limit)) / max(a.size, 1)


def clipped_histogram(a, *, limit=CLIP, bins=40):
    """(edges (bins + 1,), counts int64 (bins,)) of a over [-limit, limit]; values outside are counted in the end bins."""
    edges = np.linspace(-limit, limit, bins + 1)
    counts, _ = np.histogram(np.clip(np.asarray(a, np.float64), -limit, limit), bins=edges)
    return edges, counts


def mismatch(model, x, t, preprocesses, *, limit=SATURATED):
    """For each {name: Preprocess} the model is fed through: accuracy on pixels x (n, 784), labels t (n,), layer-1 saturation.

    Returns {name: {'accuracy', 'saturated', 'edges', 'counts', 'median_abs'}}; the histogram is of a1 (see clipped_histogram).
    """
    t = np.asarray(t)
    out = {}
    for name, pre in preprocesses.items():
        a1 = first_layer(model, x, preprocess=pre)  # (n, width1)
        edges, counts = clipped_histogram(a1)
        out[name] = {"accuracy": float(np.mean(model.predict(x, preprocess=pre) == t)),
                     "saturated": saturated_share(a1, limit=limit), "edges": edges, "counts": counts,
                     "median_abs": float(np.median(np.abs(a1)))}
    return out
