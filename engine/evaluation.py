"""One model's full evaluation on a labelled set: probabilities, answers, losses, matrix and per-class report."""
import time
from dataclasses import dataclass

import numpy as np

from .metrics import accuracy_score, classification_report, confusion_matrix, per_image_loss


@dataclass(frozen=True)
class Evaluation:
    """Everything a page shows about one model on one set; arrays are read-only so a cached result cannot be mutated."""

    proba: np.ndarray  # (n, 10) float32 softmax output
    t: np.ndarray  # (n,) int64 true digits
    pred: np.ndarray  # (n,) int64 argmax of proba
    confidence: np.ndarray  # (n,) float32 top-class probability
    loss: np.ndarray  # (n,) float32 cross-entropy of each image
    accuracy: float  # fraction correct, in [0, 1]
    confusion: np.ndarray  # (10, 10) int64, rows = true digit, columns = prediction
    report: list  # one dict per digit: precision, recall, f1, support, confused_with, confused_count
    seconds: float  # wall time of the whole evaluation, for the README's speed table

    @property
    def correct(self):
        """(n,) bool: whether each prediction is right."""
        return self.pred == self.t

    @property
    def n(self):
        """Number of images evaluated."""
        return len(self.t)


def evaluate(model, x_pixels, t, *, batch_size=1000):
    """Run model on pixels x (n, 784) in 0-255 with labels t (n,) and compute every metric once."""
    start = time.perf_counter()
    t = np.asarray(t).astype(np.int64)
    if len(t) != len(x_pixels):
        raise ValueError(f"{len(x_pixels)} images but {len(t)} labels: pass one label per image.")
    proba = model.predict_proba(x_pixels, batch_size=batch_size)  # (n, 10)
    pred = proba.argmax(axis=1)
    cm = confusion_matrix(t, pred, n_classes=proba.shape[1])
    arrays = {"proba": proba, "t": t, "pred": pred, "confidence": proba.max(axis=1), "loss": per_image_loss(proba, t),
              "confusion": cm}
    for a in arrays.values():
        a.flags.writeable = False
    return Evaluation(**arrays, accuracy=accuracy_score(t, pred), report=classification_report(t, pred, n_classes=proba.shape[1]),
                      seconds=time.perf_counter() - start)
