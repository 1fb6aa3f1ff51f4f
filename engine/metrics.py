"""Scores of a classifier's answers: accuracy, confusion matrix, per-class report, mistakes, model agreement.

Conventions follow scikit-learn: arguments are (y_true, y_pred), rows of a confusion matrix are the truth,
columns the prediction, and `*_score` is higher-is-better. Everything returns plain NumPy arrays or lists of dicts.
"""
import numpy as np

EPS = 1e-7  # the book's cross_entropy_error guard: log(0) would be -inf for a confident mistake


def accuracy_score(y_true, y_pred):
    """Fraction in [0, 1] of labels y_true (n,) equal to predictions y_pred (n,)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def confusion_matrix(y_true, y_pred, *, n_classes=10):
    """Counts (k, k) int64: entry [i, j] is how many images of true class i were predicted as j."""
    y_true, y_pred = _pair(y_true, y_pred)
    k = n_classes
    if len(y_true) and (min(y_true.min(), y_pred.min()) < 0 or max(y_true.max(), y_pred.max()) >= k):
        raise ValueError(f"Labels must lie in 0..{k - 1}; pass n_classes= to match your classes.")
    # one bincount over the flattened cell index i*k + j is a single pass, no Python loop
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def normalize_rows(cm):
    """Row-normalised rates (k, k) float64: each true class sums to 1; a class with no images stays all 0."""
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1, keepdims=True)  # (k, 1)
    return np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)


def precision_recall_f1(cm):
    """Per-class arrays (k,) from a confusion matrix: precision, recall, f1, support; 0 where undefined (no division by zero)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)  # column sums: predicted as k; row sums: truly k
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)}


def top_confusions(cm):
    """Per true class (k,): the most frequent wrong prediction (-1 if none) and its count."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, -1)  # the diagonal is right, not a confusion; -1 keeps it below any real count
    other = off.argmax(axis=1)  # ties go to the smaller digit, as argmax does
    count = off[np.arange(len(off)), other]
    return np.where(count > 0, other, -1), np.maximum(count, 0)


def classification_report(y_true, y_pred, *, n_classes=10):
    """One row dict per class: digit, precision, recall, f1, support, confused_with (digit or None), confused_count."""
    cm = confusion_matrix(y_true, y_pred, n_classes=n_classes)
    scores = precision_recall_f1(cm)
    other, count = top_confusions(cm)
    return [{"digit": c, "precision": float(scores["precision"][c]), "recall": float(scores["recall"][c]),
             "f1": float(scores["f1"][c]), "support": int(scores["support"][c]),
             "confused_with": int(other[c]) if other[c] >= 0 else None, "confused_count": int(count[c])}
            for c in range(len(other))]


def cell_indices(y_true, y_pred, true, pred):
    """Indices (m,) of exactly the images in cell [true, pred] of the confusion matrix, ascending."""
    y_true, y_pred = _pair(y_true, y_pred)
    return np.flatnonzero((y_true == true) & (y_pred == pred))


def per_image_loss(proba, y_true):
    """Cross-entropy (n,) float32 of each image: -log(p of the true class + 1e-7), the book's loss without the mean."""
    proba = np.asarray(proba)
    y_true = np.asarray(y_true, dtype=np.int64)
    return -np.log(proba[np.arange(len(proba)), y_true] + np.float32(EPS)).astype(np.float32)


def order_by_confidence(indices, confidence, *, descending=True):
    """The given image indices (m,) sorted by confidence (n,) of each image; ties keep index order."""
    return _order(indices, confidence, descending=descending)


def order_by_loss(indices, loss, *, descending=True):
    """The given image indices (m,) sorted by per-image loss (n,), worst first by default; ties keep index order."""
    return _order(indices, loss, descending=descending)


def most_confident_mistakes(proba, y_true, *, k=24):
    """Indices (<= k,) of wrong predictions with the highest top-class probability, most confident first."""
    proba = np.asarray(proba)
    pred, conf = proba.argmax(axis=1), proba.max(axis=1)
    wrong = np.flatnonzero(pred != np.asarray(y_true))
    return _order(wrong, conf, descending=True)[:k]


def agreement_matrix(preds):
    """Rates (m, m) float64: entry [a, b] is the fraction of images where models a and b predict the same digit."""
    P = _stack(preds)  # (m, n)
    return (P[:, None, :] == P[None, :, :]).mean(axis=2)


def disagreement_indices(preds):
    """Indices (d,) of images where not every model predicts the same digit, ascending."""
    P = _stack(preds)  # (m, n)
    return np.flatnonzero((P != P[0]).any(axis=0))


def _order(indices, values, *, descending):
    indices = np.asarray(indices, dtype=np.int64)
    key = np.asarray(values)[indices]
    # lexsort sorts by the last key first; the index breaks ties so a gallery's order never flickers
    return indices[np.lexsort((indices, -key if descending else key))]


def _pair(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true).astype(np.int64, copy=False), np.asarray(y_pred).astype(np.int64, copy=False)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D and the same length; got shapes {y_true.shape} and {y_pred.shape}.")
    return y_true, y_pred


def _stack(preds):
    P = np.stack([np.asarray(p, dtype=np.int64) for p in preds])
    if P.ndim != 2 or len(P) < 2:
        raise ValueError(f"Agreement needs predictions (n,) from two or more models; got {len(P)} of shape {P.shape[1:]}.")
    return P
