"""The preprocessing choices side by side: fitted on the same images, one digit under each, the values they produce."""
import numpy as np

from .preprocess import KINDS
from .preprocess import fit as fit_preprocess

CHUNK = 4096  # images per float64 pass when summing pixel statistics: 26 MB at a time


def fit_all(x_train, *, kinds=KINDS):
    """{kind: Preprocess} each fitted on the same training pixels x_train (n, 784), 0-255."""
    x_train = np.asarray(x_train).reshape(len(x_train), -1)
    return {k: fit_preprocess(k, x_train) for k in kinds}


def digit_under(preprocesses, img):
    """{kind: float32 (28, 28)}: one uint8 (28, 28) digit as the net sees it under each fitted preprocessing."""
    row = np.asarray(img).reshape(1, -1)
    return {k: p.transform(row).reshape(28, 28) for k, p in preprocesses.items()}


def value_histogram(values, *, bins=40):
    """(edges (bins + 1,), counts int64 (bins,)) over the full range of values, whatever their scale."""
    v = np.asarray(values, np.float32).ravel()
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:  # a constant input: one bin around it
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return edges, counts


def values_under(preprocesses, x, *, bins=40):
    """{kind: (edges, counts, mean, std)} of every pixel value of x (n, 784) under each preprocessing."""
    out = {}
    for k, p in preprocesses.items():
        y = p.transform(x)  # (n, 784)
        edges, counts = value_histogram(y, bins=bins)
        out[k] = (edges, counts, float(y.mean()), float(y.std()))
    return out


def pixel_statistics(img):
    """Per-pixel mean and standard deviation of uint8 images (n, 28, 28) -> two float32 (28, 28), in pixel units 0-255."""
    flat = np.asarray(img).reshape(len(img), -1)
    s = np.zeros(flat.shape[1])
    s2 = np.zeros(flat.shape[1])
    for i in range(0, len(flat), CHUNK):
        x = flat[i:i + CHUNK].astype(np.float64)
        s += x.sum(axis=0)
        s2 += np.einsum("ij,ij->j", x, x)  # no (CHUNK, 784) temporary for x * x
    mean = s / len(flat)
    std = np.sqrt(np.maximum(s2 / len(flat) - mean * mean, 0.0))  # float64 sums of 0-255 values: cancellation is negligible
    side = int(np.sqrt(flat.shape[1]))
    return mean.reshape(side, side).astype(np.float32), std.reshape(side, side).astype(np.float32)


def whitening_filter(whiten, *, row=14, col=14):
    """The ZCA weights (28, 28) that make whitened pixel [row, col] from the centred pixels: a centre-surround pattern."""
    return whiten.zca_[:, row * 28 + col].reshape(28, 28).copy()


def rewhiten(whiten, eps):
    """The fitted whitening preprocessing at another eps, without refitting: its ZCA matrix U diag(1/sqrt(s + eps0)) Uᵀ
    gives back the eigenvectors U and the pixel variances s (s = 1/z² - eps0 for its eigenvalues z)."""
    from .preprocess import Preprocess
    z, U = np.linalg.eigh(whiten.zca_.astype(np.float64))
    s = np.clip(1.0 / z**2 - whiten.eps, 0.0, None)  # (784,) variances along U, in (pixels / 255)^2
    zca = (U / np.sqrt(s + eps)) @ U.T
    return Preprocess("whiten", mean=whiten.mean_, zca=zca.astype(np.float32), eps=float(eps))


def whiten_by_eps(whiten, img, *, eps, row=14, col=14):
    """[(filter (28, 28), img whitened (28, 28))] at each eps: what eps does to the ZCA filter of pixel [row, col]."""
    out = []
    for e in eps:
        w = whiten if e == whiten.eps else rewhiten(whiten, e)
        out.append((whitening_filter(w, row=row, col=col), w.transform(np.asarray(img).reshape(1, -1)).reshape(28, 28)))
    return out


def whitening_gain_ratio(whiten, eps):
    """How unevenly whitening at eps scales the directions of pixel variation: the factor 1/sqrt(s + eps) of the
    faintest direction over that of the strongest (1 = every direction alike, no whitening left; large = strong)."""
    z = np.linalg.eigvalsh(whiten.zca_.astype(np.float64))
    s = np.clip(1.0 / z**2 - whiten.eps, 0.0, None)  # the variances along the eigenvectors, as in rewhiten()
    return float(np.sqrt((s.max() + eps) / (s.min() + eps)))
