"""Dataset statistics for the browser: class counts, mean and variance images, pixel histograms, a 2-D PCA map."""
import numpy as np

from .data import one_hot, shape_images

CHUNK = 10_000  # images per pass: float64 work stays near 60 MB instead of 370 MB for the whole train set


def class_counts(t, *, k=10):
    """Images per digit: labels (n,) -> int64 (k,)."""
    return np.bincount(np.asarray(t, np.int64), minlength=k)[:k]


def select(t, digit=None):
    """Indices (m,) of the images whose label is digit, or of all images when digit is None."""
    t = np.asarray(t)
    return np.arange(len(t)) if digit is None else np.flatnonzero(t == digit)


def page_of(indices, page, *, per_page):
    """The 1-based page'th slice of indices, and the page count (at least 1); page is clamped into range."""
    n_pages = max(1, -(-len(indices) // per_page))
    page = min(max(int(page), 1), n_pages)
    return indices[(page - 1) * per_page:page * per_page], n_pages


def sample(indices, k, *, seed):
    """k indices drawn without replacement from indices (all of them, shuffled, when there are fewer)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(indices)[:k]


def mean_images(img, t, *, k=10):
    """Mean picture of each digit: uint8 (n, 28, 28), labels (n,) -> float32 (k, 28, 28) in 0-255 (NaN for an absent digit)."""
    flat = img.reshape(len(img), -1)  # (n, 784), a view
    t = np.asarray(t)
    # summing uint8 rows straight into float64 avoids a float copy of the whole set
    sums = np.stack([flat[t == d].sum(axis=0, dtype=np.float64) for d in range(k)])  # (k, 784)
    counts = class_counts(t, k=k).astype(np.float64)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums / counts).reshape(k, *img.shape[1:]).astype(np.float32)


def pixel_variance(img):
    """Per-pixel variance over the images: uint8 (n, 28, 28) -> float32 (28, 28), in (0-255)^2."""
    s = np.zeros(img.shape[1:], np.int64)
    s2 = np.zeros(img.shape[1:], np.int64)
    for i in range(0, len(img), CHUNK):
        x = img[i:i + CHUNK].astype(np.uint16)  # 255^2 = 65025 still fits in uint16
        s += x.sum(axis=0, dtype=np.int64)
        s2 += (x * x).sum(axis=0, dtype=np.int64)
    # integer sums are exact, so E[x^2] - E[x]^2 loses nothing to cancellation
    n = len(img)
    return ((s2 * n - s * s) / (n * n)).astype(np.float32)


def pixel_histogram(img, *, bins=256):
    """Counts of pixel values 0-255 grouped into bins equal-width bins -> (edges (bins + 1,), counts int64 (bins,))."""
    if bins < 1 or 256 % bins:
        raise ValueError(f"bins must divide 256 (got {bins}): use 8, 16, 32, 64, 128 or 256.")
    flat = np.asarray(img, np.uint8).reshape(-1)
    counts = np.zeros(256, np.int64)
    step = CHUNK * 784
    for i in range(0, len(flat), step):  # bincount widens to int64: chunks keep that copy small
        counts += np.bincount(flat[i:i + step], minlength=256)
    return np.arange(0, 257, 256 // bins), counts.reshape(bins, -1).sum(axis=1)


def pca_2d(img, *, n=3000, seed=0):
    """Project a random sample onto its top-2 principal axes -> (coords float32 (m, 2), indices (m,), explained ratio (2,))."""
    idx = np.sort(np.random.default_rng(seed).permutation(len(img))[:n])
    x = img[idx].reshape(len(idx), -1) / 255.0  # (m, 784) float64
    x -= x.mean(axis=0)
    # SVD of the 784 x 784 covariance rather than of x itself: same axes, ~5x less work for m = 3,000
    U, s, _ = np.linalg.svd(x.T @ x / len(x), hermitian=True)
    axes = U[:, :2]  # (784, 2)
    # an SVD's signs are arbitrary: make each axis's largest loading positive so the map never flips between runs
    axes = axes * np.sign(axes[np.abs(axes).argmax(axis=0), [0, 1]])
    return (x @ axes).astype(np.float32), idx, (s[:2] / s.sum()).astype(np.float32)


def describe_load(img, t, *, normalize, flatten, one_hot_label):
    """What load_mnist returns for these flags, without building it: shape, dtype, min, max of x and t, and row 0."""
    lo, hi = int(img.min()), int(img.max())
    # run the engine's own transform on a 2-image stand-in so the range matches load_mnist exactly
    probe = shape_images(np.stack([np.full(img.shape[1:], lo, np.uint8), np.full(img.shape[1:], hi, np.uint8)]),
                         normalize=normalize, flatten=flatten)
    x0 = shape_images(img[:1], normalize=normalize, flatten=flatten)[0]
    t_rows = one_hot(np.asarray(t[:1])) if one_hot_label else np.asarray(t[:1])
    t_range = (0.0, 1.0) if one_hot_label else (int(t.min()), int(t.max()))
    return {
        "x": {"shape": (len(img), *probe.shape[1:]), "dtype": str(probe.dtype),
              "min": probe.min().item(), "max": probe.max().item()},
        "t": {"shape": (len(t), *t_rows.shape[1:]), "dtype": str(t_rows.dtype), "min": t_range[0], "max": t_range[1]},
        "x0": x0, "t0": t_rows[0], "x0_peek": _peek(x0.reshape(-1)),
    }


def _peek(row, *, k=6):
    """(start, values) of k consecutive entries of a flat image row from its first non-zero pixel: a slice worth printing."""
    nz = np.flatnonzero(row)
    start = int(nz[0]) if len(nz) else 0
    return start, row[start:start + k]

