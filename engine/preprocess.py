"""Preprocessing choices (raw, unit, center, standardize, whiten), fitted on training pixels only."""
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

    def fit(self, x):
        """Learn mean / std / ZCA matrix from training pixels x (n, 784), 0-255; returns self."""
        if self.kind in ("raw", "unit"):
            return self
        x = np.asarray(x, np.float32).reshape(len(x), -1) * self.scale  # (n, 784)
        self.mean_ = x.mean(axis=0) if self.per_pixel or self.kind != "standardize" else np.float32(x.mean())
        if self.kind == "standardize":
            std = x.std(axis=0) if self.per_pixel else np.float32(x.std())
            # constant pixels (the border is always 0) would divide by zero: leave them at 0 instead
            self.std_ = np.where(std < 1e-3 * max(float(np.max(std)), 1e-12), 1.0, std).astype(np.float32)
        if self.kind == "whiten":
            xc = (x - self.mean_).astype(np.float64)
            cov = xc.T @ xc / len(xc)  # (784, 784)
            s, U = np.linalg.eigh(cov)
            s = np.clip(s, 0, None)
            self.zca_ = ((U / np.sqrt(s + self.eps)) @ U.T).astype(np.float32)
        return self

    def transform(self, x):
        """Pixels (n, 784), 0-255 -> float32 (n, 784) under this choice."""
        y = np.asarray(x).reshape(len(x), -1).astype(np.float32)
        if self.scale != 1:
            y *= self.scale
        if self.mean_ is not None:
            y -= self.mean_
        if self.std_ is not None:
            y /= self.std_
        if self.zca_ is not None:
            y = y @ self.zca_
        return y

    def to_card(self):
        """JSON-able description (kind and options); the arrays go to to_arrays()."""
        return {"kind": self.kind, "per_pixel": self.per_pixel, "eps": self.eps, "description": DESCRIPTIONS[self.kind]}

    def to_arrays(self):
        """Fitted arrays keyed for an .npz: pre_mean, pre_std, pre_zca (only those that exist)."""
        named = {"pre_mean": self.mean_, "pre_std": self.std_, "pre_zca": self.zca_}
        return {k: np.asarray(v, np.float32) for k, v in named.items() if v is not None}

    @classmethod
    def from_card(cls, card, arrays):
        """Rebuild from a card dict and the arrays of an .npz; a missing fitted array raises ModelFormatError."""
        kind = card.get("kind") if isinstance(card, dict) else None
        if kind not in KINDS:
            raise ModelFormatError(f"The model card names preprocessing {kind!r}; expected one of {', '.join(KINDS)}.")
        p = cls(kind, per_pixel=bool(card.get("per_pixel", True)), eps=float(card.get("eps", 0.1)),
                mean=arrays.get("pre_mean"), std=arrays.get("pre_std"), zca=arrays.get("pre_zca"))
        need = {"center": ["mean_"], "standardize": ["mean_", "std_"], "whiten": ["mean_", "zca_"]}.get(kind, [])
        for attr in need:
            if getattr(p, attr) is None:
                raise ModelFormatError(
                    f"The model's '{kind}' preprocessing lacks its fitted pre_{attr[:-1]} array: the file is incomplete.")
        return p

    def __repr__(self):
        return f"Preprocess({self.kind!r})"


def fit(kind, x_train, **options):
    """Make and fit a Preprocess of this kind on training pixels (n, 784), 0-255."""
    return Preprocess(kind, **options).fit(x_train)
