"""Statistics for comparing models: McNemar's exact test on paired answers, t intervals over seeds, a ranking.

Conventions follow scikit-learn: labels come first (y_true, pred_a, pred_b), options are keyword-only, results are
small frozen dataclasses of plain Python numbers. Pure Python and NumPy; the t quantile comes from engine.tdist.
"""
import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .errors import StatsError
from .tdist import t_quantile


@dataclass(frozen=True)
class McNemar:
    """Paired comparison of two classifiers on the same n images: a_only = A right and B wrong, b_only = the reverse."""
    a_only: int
    b_only: int
    n: int
    p: float  # exact two-sided p-value; 1.0 when the models never disagree on correctness


@dataclass(frozen=True)
class Interval:
    """Mean of n values with sample sd (ddof=1) and a Student-t interval [lo, hi] for the mean."""
    mean: float
    sd: float
    lo: float
    hi: float
    n: int


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with its t interval [lo, hi] and half-width (the ± figure); nan bounds when unknowable."""
    a: str
    b: str
    mean: float
    half: float
    lo: float
    hi: float

    @property
    def within_noise(self):
        """True unless the interval lies wholly above or below 0 (so also True when it is unknown)."""
        return not (self.lo > 0 or self.hi < 0)


@dataclass(frozen=True)
class Ranking:
    """Groups by mean, best first; tied = best plus those within noise of it; margin = best vs the best of the rest."""
    order: tuple
    tied: tuple
    margin: Difference | None  # None when every group is within noise of the best
    pairs: tuple  # every Difference(a, b) with a ranked above b


def mcnemar(y_true, pred_a, pred_b):
    """McNemar's exact test of two classifiers' predictions (n,) against labels y_true (n,) on the same images."""
    y, a, b = (np.asarray(v) for v in (y_true, pred_a, pred_b))
    if not (y.ndim == a.ndim == b.ndim == 1 and len(y) == len(a) == len(b)):
        raise StatsError(f"mcnemar needs y_true, pred_a and pred_b 1-D and the same length (the same images); "
                         f"got shapes {y.shape}, {a.shape} and {b.shape}.")
    right_a, right_b = a == y, b == y
    a_only, b_only = int(np.sum(right_a & ~right_b)), int(np.sum(~right_a & right_b))
    return McNemar(a_only=a_only, b_only=b_only, n=len(y), p=binomial_two_sided(a_only, b_only))


def binomial_two_sided(k1, k2):
    """Exact two-sided p of k1 vs k2 successes under a fair coin: min(1, 2 P[X <= min(k1, k2)]), X ~ Bin(k1 + k2, 1/2)."""
    m, k = k1 + k2, min(k1, k2)
    if m == 0:
        return 1.0
    # exact integers: sum C(m, i) for i <= k, each term from the last, then one correctly rounded division by 2**m;
    # no float ever overflows or loses the tail, even for tens of thousands of discordant pairs
    term = total = 1
    for i in range(k):
        term = term * (m - i) // (i + 1)
        total += term
    return min(1.0, 2 * total / 2 ** m)


def mean_interval(values, *, level=0.95):
    """Mean, sd and Student-t interval of values (n,); for n == 1 the sd is nan and lo = hi = mean (no spread known)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) == 0:
        raise StatsError(f"mean_interval needs a 1-D list of at least one value; got shape {v.shape}.")
    _check_level(level)
    n, mean = len(v), float(v.mean())
    if n == 1:
        return Interval(mean=mean, sd=float("nan"), lo=mean, hi=mean, n=1)
    sd = float(v.std(ddof=1))
    half = t_quantile((1 + level) / 2, n - 1) * sd / math.sqrt(n)
    return Interval(mean=mean, sd=sd, lo=mean - half, hi=mean + half, n=n)


def difference(a, b, *, names=("a", "b"), paired=False, level=0.95):
    """mean(a) - mean(b) with a Welch t interval (paired=True: the t interval of a[i] - b[i], e.g. the same seeds)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    _check_level(level)
    if paired:
        if a.shape != b.shape or a.ndim != 1:
            raise StatsError(f"A paired difference needs the same runs on both sides; got shapes {a.shape} and {b.shape}.")
        d = mean_interval(a - b, level=level)
        return _difference(names, d.mean, d.hi - d.mean if d.n > 1 else float("nan"))
    ia, ib = mean_interval(a, level=level), mean_interval(b, level=level)
    va, vb = (ia.sd ** 2 / ia.n if ia.n > 1 else float("nan")), (ib.sd ** 2 / ib.n if ib.n > 1 else float("nan"))
    se2 = va + vb
    if not se2 > 0:  # nan: one side has a single run; 0: both sides repeat one value exactly
        return _difference(names, ia.mean - ib.mean, se2)
    df = se2 ** 2 / (va ** 2 / (ia.n - 1) + vb ** 2 / (ib.n - 1))  # Welch-Satterthwaite
    return _difference(names, ia.mean - ib.mean, t_quantile((1 + level) / 2, df) * math.sqrt(se2))


def compare_groups(groups, *, paired=False, level=0.95):
    """Rank groups {name: values (n,)} by mean and say which are within noise of the best, and the best's margin."""
    if not groups:
        raise StatsError("compare_groups needs at least one group of values.")
    means = {name: mean_interval(v, level=level).mean for name, v in groups.items()}
    order = tuple(sorted(means, key=lambda name: -means[name]))  # stable: ties keep the caller's order
    pairs = tuple(difference(groups[a], groups[b], names=(a, b), paired=paired, level=level)
                  for a, b in combinations(order, 2))
    versus_best = {d.b: d for d in pairs if d.a == order[0]}
    tied = (order[0], *(name for name in order[1:] if versus_best[name].within_noise))
    rest = [name for name in order if name not in tied]
    return Ranking(order=order, tied=tied, margin=versus_best[rest[0]] if rest else None, pairs=pairs)


def _difference(names, mean, half):
    return Difference(a=names[0], b=names[1], mean=float(mean), half=float(half),
                      lo=float(mean - half), hi=float(mean + half))


def _check_level(level):
    if not 0 < level < 1:
        raise StatsError(f"level is the interval's coverage, strictly between 0 and 1 (0.95 for 95 %); got {level}.")
