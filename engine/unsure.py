"""When to say "unsure": the top probability is low, or the input lies far from everything the model was trained on.

"Far" is measured where the model itself compares digits, in its last hidden layer: the distance from the input's
activations to the nearest of REFERENCE training images. The threshold is the distance that 99 % of the model's
held-out validation images stay within (calibrated once, stored in the model card as "unsure").
"""
from dataclasses import dataclass

import numpy as np

from .explain import embed

LOW_PROBABILITY = 0.5  # a top probability below this is less than even odds: the model is guessing between digits
PERCENTILE = 99.0  # of validation images' nearest-neighbour distances: 1 in 100 MNIST digits is flagged as "far"
REFERENCE = 10_000  # training images the distance is measured to: the first of the training split, by index
QUERY_BLOCK = 512  # query rows per distance block: 512 x 10,000 float32 is 20 MB


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is unsure, and why: p_top against LOW_PROBABILITY, distance against the calibrated threshold."""
    unsure: bool
    low_probability: bool
    far: bool
    p_top: float
    distance: float | None  # to the nearest reference image; None when no reference was available
    threshold: float | None


def reference_indices(train_idx, *, most=REFERENCE):
    """The reference images among a sorted training split's indices (n,): its first `most`."""
    return np.asarray(train_idx)[:most]


class Reference:
    """Last-hidden activations (n, width) of a model's reference images, for nearest distances to new inputs."""

    def __init__(self, model, pixels):
        self.E = embed(model, np.asarray(pixels).reshape(len(pixels), -1))  # (n, width)
        self.sq = np.einsum("ij,ij->i", self.E, self.E)  # (n,) |e|^2

    def __len__(self):
        return len(self.E)

    def nearest(self, Q):
        """Distance (m,) from each query embedding Q (m, width) to its nearest reference embedding."""
        Q = np.asarray(Q, np.float32).reshape(-1, self.E.shape[1])
        out = np.empty(len(Q), np.float64)
        for s in range(0, len(Q), QUERY_BLOCK):
            q = Q[s:s + QUERY_BLOCK]
            d2 = self.sq[None, :] - 2 * (q @ self.E.T) + np.einsum("ij,ij->i", q, q)[:, None]  # (m, n)
            out[s:s + QUERY_BLOCK] = np.sqrt(np.maximum(d2.min(axis=1), 0))
        return out

    def distance(self, model, pixels):
        """Distance (m,) from each image's pixels (m, 784) to its nearest reference image, in the last hidden layer."""
        return self.nearest(embed(model, np.asarray(pixels).reshape(len(pixels), -1)))


def calibrate(model, reference, val_pixels, *, percentile=PERCENTILE):
    """The card's "unsure" entry: the distance `percentile` % of validation images (n, 784) stay within, and how it was made."""
    d = reference.distance(model, val_pixels)
    return {"distance": float(np.percentile(d, percentile)) if len(d) else None, "percentile": percentile,
            "low_probability": LOW_PROBABILITY, "reference": len(reference), "validation": int(len(d)),
            "how": f"nearest of the first {len(reference):,} training-split images in the last hidden layer; the "
                   f"{percentile:g}th percentile over {len(d):,} validation images"}


def threshold_of(card, n_reference):
    """The card's calibrated distance if it was made against a reference of n_reference images, else None."""
    entry = card.get("unsure") if isinstance(card, dict) else None
    if isinstance(entry, dict) and entry.get("reference") == n_reference and isinstance(entry.get("distance"), int | float):
        return float(entry["distance"])
    return None


def judge(proba, *, distance=None, threshold=None, low=LOW_PROBABILITY):
    """Verdict for one image's probabilities (10,), with its nearest-reference distance and the threshold when known."""
    p_top = float(np.max(proba))
    far = distance is not None and threshold is not None and distance > threshold
    return Verdict(unsure=p_top < low or far, low_probability=p_top < low, far=far, p_top=p_top,
                   distance=None if distance is None else float(distance), threshold=threshold)
