"""Calibration of the top-class confidence: reliability bins, expected calibration error, histograms, coverage.

Every function takes confidence (n,), the top-class probability of each image, and correct (n,) bool,
whether that top class was the true label; an Evaluation holds both.
"""
import numpy as np


def reliability_bins(confidence, correct, *, n_bins=10):
    """Equal-width bins of (0, 1]: dict of arrays (n_bins,) lower, upper, count, mean_confidence, accuracy (NaN when empty)."""
    conf, ok = _pair(confidence, correct)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bin b holds lower < c <= upper, so a confidence of exactly 1.0 lands in the last bin, 0 in the first
    b = np.clip(np.searchsorted(edges[1:-1], conf, side="left"), 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    sum_conf = np.bincount(b, weights=conf, minlength=n_bins)
    sum_ok = np.bincount(b, weights=ok, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf, acc = sum_conf / count, sum_ok / count  # NaN for empty bins: no data, not zero accuracy
    return {"lower": edges[:-1], "upper": edges[1:], "count": count, "mean_confidence": mean_conf, "accuracy": acc}


def expected_calibration_error(confidence, correct, *, n_bins=10):
    """ECE in [0, 1], lower is better: sum over bins of (count / n) * |accuracy - mean confidence|."""
    bins = reliability_bins(confidence, correct, n_bins=n_bins)
    n, full = bins["count"].sum(), bins["count"] > 0
    if n == 0:
        return float("nan")
    gap = np.abs(bins["accuracy"][full] - bins["mean_confidence"][full])
    return float(np.sum(bins["count"][full] / n * gap))


def confidence_histograms(confidence, correct, *, n_bins=20):
    """Counts (n_bins,) of confidence for correct and for wrong answers over shared edges (n_bins + 1,) on [0, 1]."""
    conf, ok = _pair(confidence, correct)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    right, _ = np.histogram(conf[ok], bins=edges)
    wrong, _ = np.histogram(conf[~ok], bins=edges)
    return {"edges": edges, "correct": right, "wrong": wrong}


def coverage_curve(confidence, correct, *, thresholds=None):
    """Answer only when confidence >= t: dict of arrays (m,) threshold, answered, coverage, accuracy (on answered, NaN if none)."""
    conf, ok = _pair(confidence, correct)
    t = np.linspace(0.0, 1.0, 101) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    order = np.argsort(conf, kind="stable")
    sorted_conf = conf[order]
    # right_above[i] = correct answers among the images from sorted position i upward
    right_above = np.concatenate([np.cumsum(ok[order][::-1])[::-1], [0]])
    first = np.searchsorted(sorted_conf, t, side="left")  # first image with confidence >= t
    answered = len(conf) - first
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = right_above[first] / answered
    n = max(len(conf), 1)
    return {"threshold": t, "answered": answered, "coverage": answered / n, "accuracy": acc}


def coverage_at(confidence, correct, t):
    """One threshold t: dict answered, refused (counts), coverage, accuracy on the answered (NaN if none), accuracy_refused."""
    conf, ok = _pair(confidence, correct)
    keep = conf >= t
    answered, refused = int(keep.sum()), int((~keep).sum())
    acc = float(ok[keep].mean()) if answered else float("nan")
    acc_refused = float(ok[~keep].mean()) if refused else float("nan")
    return {"threshold": float(t), "answered": answered, "refused": refused, "coverage": answered / max(len(conf), 1),
            "accuracy": acc, "accuracy_refused": acc_refused}


def _pair(confidence, correct):
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    ok = np.asarray(correct, dtype=bool).ravel()
    if conf.shape != ok.shape:
        raise ValueError(f"confidence and correct must have the same length; got {conf.shape[0]} and {ok.shape[0]}.")
    return conf, ok
