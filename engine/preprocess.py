"""Preprocessing choices (raw, unit, center, standardize, whiten), fitted on training pixels only."""
import math

import numpy as np

from .errors import ModelFormatError

KINDS = ("raw", "unit", "center", "standardize", "whiten")
DESCRIPTIONS = {
    "raw": "pixels 0-255 unchanged",
    "unit": "pixels / 255, in [0, 1] (the book's normalize=True)",
    "center": "pixels / 255 minus the per-pixel training mean",
    "standardize": "z-score: (pixel - mean) / std from the training images",
    "whiten": "ZCA whitening of pixels / 255: decorrelated, unit variance",
}
CONSTANT = 1e-3  # a pixel whose training std is below this fraction of the largest std counts as constant (the border)
CHUNK = 4096  # rows per float64 block when fitting: 26 MB at a time, never a float copy of all 60,000 images


class Preprocess:
    """A fitted transform y = ((x * scale) - mean) / std [@ zca]; the arrays are learned from training pixels."""

    def __init__(self, kind, *, mean=None, std=None, zca=None, per_pixel=True, eps=0.1):
        if kind not in KINDS:
            raise ValueError(f"Unknown preprocessing '{kind}': choose one of {', '.join(KINDS)}.")
        self.kind, self.per_pixel, self.eps = kind, per_pixel, eps
        self.scale = np.float32(1.0 if kind in ("raw", "standardize") else 1 / 255)
        self.mean_ = None if mean is None else np.asarray(mean, np.float32)
        self.std_ = None if std is None else np.asarray(std, np.float32)
        self.zca_ = None if zca is None else np.asarray(zca, np.float32)
        self._folded = None

    def fit(self, x):
        """Learn mean / std / ZCA matrix from training pixels x (n, 784), 0-255; returns self."""
        self._folded = None
        if self.kind in ("raw", "unit"):
            return self
        x = np.asarray(x).reshape(len(x), -1)  # (n, 784) as given (uint8): converted CHUNK rows at a time, never whole
        n, d = x.shape
        s1, s2 = np.zeros(d), np.zeros(d)  # (784,) float64 sums of the scaled pixels and of their squares
        for i in range(0, n, CHUNK):
            xb = np.multiply(x[i:i + CHUNK], self.scale, dtype=np.float64)
            s1 += xb.sum(axis=0)
            s2 += np.einsum("ij,ij->j", xb, xb)
        global_stats = self.kind == "standardize" and not self.per_pixel
        mean = s1.sum() / (n * d) if global_stats else s1 / n
        self.mean_ = np.float32(mean) if global_stats else mean.astype(np.float32)
        if self.kind == "standardize":
            var = s2.sum() / (n * d) - mean**2 if global_stats else s2 / n - mean**2
            std = np.sqrt(np.clip(var, 0, None))  # float64: E[x^2] - E[x]^2 is exact enough for pixels in 0-255
            std = np.float32(std) if global_stats else std.astype(np.float32)
            # constant pixels (the border is always 0) would divide by zero: divide by 1, so they map to 0
            self.std_ = np.where(std < CONSTANT * max(float(np.max(std)), 1e-12), 1.0, std).astype(np.float32)
        if self.kind == "whiten":
            cov = np.zeros((d, d))  # (784, 784) float64
            for i in range(0, n, CHUNK):
                xc = np.multiply(x[i:i + CHUNK], self.scale, dtype=np.float64)  # (CHUNK, 784)
                xc -= mean  # in place: one block in memory, not two
                cov += xc.T @ xc
            s, U = np.linalg.eigh(cov / n)
            s = np.clip(s, 0, None)  # tiny negative eigenvalues are rounding
            self.zca_ = ((U / np.sqrt(s + self.eps)) @ U.T).astype(np.float32)  # U diag(1/sqrt(s + eps)) U^T
        return self

    def _fold(self):
        """Fold scale, mean, std and zca into y = x * a - o (or y = x @ A - o): one or two passes per batch."""
        if self.kind in ("raw", "unit"):
            return (None if self.kind == "raw" else self.scale), None, None
        if self.mean_ is None:
            raise ValueError(f"This '{self.kind}' preprocessing is not fitted: call fit(x_train) first.")
        mean = self.mean_.astype(np.float64)
        if self.kind == "whiten":
            Z = self.zca_.astype(np.float64)
            return None, (Z * float(self.scale)).astype(np.float32), (mean @ Z).astype(np.float32)
        a = np.float64(self.scale) / (self.std_.astype(np.float64) if self.std_ is not None else 1.0)
        return np.asarray(a, np.float32), None, np.asarray(mean * a / self.scale, np.float32)

    def transform(self, x):
        """Pixels (n, 784), 0-255 (uint8 or float) -> float32 (n, 784) under this choice."""
        if self._folded is None:
            self._folded = self._fold()
        a, A, o = self._folded
        x = np.asarray(x).reshape(len(x), -1)
        if A is not None:
            y = np.matmul(x.astype(np.float32, copy=False), A)  # (n, 784)
        elif a is not None and a.ndim == 0 and len(x) >= 512:
            y = np.multiply(x, a, dtype=np.float32)  # cast and scale in one pass: measured faster on large batches
        elif a is not None:
            y = x.astype(np.float32)  # a plain cast, then in place: measured faster on small batches and per-pixel scales
            y *= a
        else:
            return x.astype(np.float32)
        if o is not None:
            y -= o
        return y

    @property
    def nbytes(self):
        """Bytes of the fitted arrays and of the folded copy transform() keeps (the same sizes again)."""
        return 2 * sum(v.nbytes for v in self.to_arrays().values())

    def to_card(self):
        """JSON-able description (kind and options); the arrays go to to_arrays()."""
        return {"kind": self.kind, "per_pixel": self.per_pixel, "eps": self.eps, "description": DESCRIPTIONS[self.kind]}

    def to_arrays(self):
        """Fitted arrays keyed for an .npz: pre_mean, pre_std, pre_zca (only those that exist)."""
        named = {"pre_mean": self.mean_, "pre_std": self.std_, "pre_zca": self.zca_}
        return {k: np.asarray(v, np.float32) for k, v in named.items() if v is not None}

    @classmethod
    def from_card(cls, card, arrays):
        """Rebuild from a card dict and the arrays of an .npz; bad options or fitted arrays raise ModelFormatError."""
        kind = card.get("kind") if isinstance(card, dict) else None
        if kind not in KINDS:
            raise ModelFormatError(f"The model card names preprocessing {kind!r:.40}; expected one of {', '.join(KINDS)}.")
        per_pixel, eps = card.get("per_pixel", True), card.get("eps", 0.1)
        if not isinstance(per_pixel, bool):
            raise ModelFormatError(f"The model card's preprocess.per_pixel is {per_pixel!r:.40}; set it to true or false.")
        if not _positive_number(eps):
            raise ModelFormatError(f"The model card's preprocess.eps is {eps!r:.40}; set it to a positive number such as 0.1.")
        need = {"center": ["mean_"], "standardize": ["mean_", "std_"], "whiten": ["mean_", "zca_"]}.get(kind, [])
        shapes = {"mean_": [(784,)] + [()] * (kind == "standardize"), "std_": [(784,), ()], "zca_": [(784, 784)]}
        fitted = {attr[:-1]: arrays.get(f"pre_{attr[:-1]}") for attr in need}  # arrays this kind does not use are ignored
        for key, v in fitted.items():
            if v is None:
                raise ModelFormatError(f"The model's '{kind}' preprocessing lacks its fitted pre_{key} array: the file is incomplete.")
            if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
                kind_of = v.dtype if isinstance(v, np.ndarray) else type(v).__name__
                raise ModelFormatError(f"The model's pre_{key} array is {kind_of}, not numbers: the file is corrupt.")
            if v.shape not in shapes[f"{key}_"]:
                raise ModelFormatError(f"The model's pre_{key} array has shape {v.shape}, "
                                       f"expected {shapes[f'{key}_'][0]}: the file is corrupt.")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # overflow to inf is caught just below
            p = cls(kind, per_pixel=per_pixel, eps=float(eps), **fitted)
        # finite checks after the float32 cast, not before: a float64 1e300 is finite until it is stored as float32
        for key, v in p.to_arrays().items():
            if not np.all(np.isfinite(v)):
                raise ModelFormatError(f"The model's {key} array has NaN or infinite values as float32: the file is corrupt.")
        if p.std_ is not None and not np.all(p.std_ > 0):
            raise ModelFormatError("The model's pre_std array has zero or negative values, which divide by zero: the file is corrupt.")
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            p._folded = p._fold()
        if not all(np.all(np.isfinite(v)) for v in p._folded if v is not None):
            raise ModelFormatError(f"The model's fitted '{kind}' preprocessing overflows float32 once combined: the file is corrupt.")
        return p

    def __repr__(self):
        return f"Preprocess({self.kind!r})"


def _positive_number(value):
    """True for a finite int or float above 0 (not a bool, a string or NaN), as a card's eps must be."""
    try:
        return not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < float(value) < math.inf
    except OverflowError:  # an integer too large for a float
        return False


def fit(kind, x_train, **options):
    """Make and fit a Preprocess of this kind on training pixels (n, 784), 0-255."""
    return Preprocess(kind, **options).fit(x_train)
