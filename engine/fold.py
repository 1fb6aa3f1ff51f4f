"""Inference layers with the sigmoid's affine parts and the pixel scale folded into the weights: the same logits, fewer passes."""
import numpy as np

# activations that overwrite their input; after fold(), sigmoid is a bare tanh
INPLACE = {"sigmoid": np.tanh, "relu": lambda h, out: np.maximum(h, 0, out=out)}


def pixel_scale(preprocess):
    """The factor raw or unit preprocessing (or none) folds into W1, 1.0 or 1/255; None if it must run on each batch."""
    kind = getattr(preprocess, "kind", None)
    if preprocess is None or kind == "raw":
        return 1.0
    return float(preprocess.scale) if kind == "unit" else None


def fold_factors(L, *, activation, scale):
    """[(factor on W_i, whether b_i shifts)] for i = 1..L: what fold() does to each layer, without touching weights."""
    half = 0.5 if activation == "sigmoid" else 1.0
    return [((scale if i == 0 else 1.0) * (half if i > 0 else 1.0) * (half if i < L - 1 else 1.0),
             activation == "sigmoid" and (i > 0 or i < L - 1)) for i in range(L)]


def fold(params, *, activation, preprocess):
    """Inference layers [(W, b)] computing the same logits with fewer passes, and the preprocessing still to apply.

    Sigmoid is 0.5 * tanh(a / 2) + 0.5, so a hidden layer carries u = tanh(a / 2): the halving goes into its
    W and b, and the next layer's z @ W + b becomes u @ (W / 2) + (b + colsum(W) / 2). The book's 'unit'
    preprocessing (pixels / 255) and 'raw' fold into W1 the same way, so uint8 pixels go straight in.
    Weights stay float32: their factors are powers of two (exact) times at most the float32 pixel scale, one rounding,
    as the float64 product cast back gave; only the bias shifts sum in float64. An unchanged layer is shared, not copied.
    """
    L = sum(1 for k in params if k.startswith("W"))
    scale = pixel_scale(preprocess)
    layers = []
    for i, (w, shifted) in enumerate(fold_factors(L, activation=activation, scale=1.0 if scale is None else scale)):
        W, b = params[f"W{i + 1}"], params[f"b{i + 1}"]
        if shifted:
            b = b.astype(np.float64)
            if i > 0:  # z = 0.5 u + 0.5 of the layer before feeds this one
                b += 0.5 * W.sum(axis=0, dtype=np.float64)
            if i < L - 1:  # a hidden layer outputs a / 2, ready for tanh
                b *= 0.5
        layers.append((W if w == 1 else W * np.float32(w), b.astype(np.float32, copy=False)))
    return layers, (preprocess if scale is None else None)
