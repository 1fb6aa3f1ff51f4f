"""Student's t distribution without SciPy: its upper tail and quantile, from the regularized incomplete beta function.

For t >= 0 the upper tail is P[T > t] = I_x(df/2, 1/2) / 2 with x = df / (df + t²) (Abramowitz & Stegun 26.7.1);
the quantile inverts that tail by bisection, so any real df > 0 works (Welch's df is not an integer).
"""
import math

_CF_STEPS = 10_000  # Lentz's continued fraction needs about sqrt(max(a, b)) steps; this covers df up to ~1e7
_TINY = 1e-300  # keeps Lentz's divisions away from zero
_NORMAL_DF = 1e7  # beyond this the t and the normal quantile agree to ~1e-7 and the fraction would be slow


def beta_regularized(x, a, b):
    """I_x(a, b) in [0, 1] for 0 <= x <= 1 and a, b > 0: the CDF of a Beta(a, b) variable at x."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    # the fraction converges fast on the side of the mean a / (a + b); the other side uses I_x(a, b) = 1 - I_{1-x}(b, a)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(1.0 - x, b, a) / b


def t_tail(t, df):
    """P[T > t] for Student's t with df > 0 degrees of freedom (float t, any sign)."""
    if math.isinf(df) or df > _NORMAL_DF:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    upper = 0.5 * beta_regularized(df / (df + t * t), df / 2.0, 0.5)
    return upper if t >= 0 else 1.0 - upper


def t_quantile(q, df):
    """The t value with P[T <= t] = q, for 0 < q < 1 and df > 0 (e.g. t_quantile(0.975, 4) = 2.776...)."""
    if not 0.0 < q < 1.0 or not df > 0:
        raise ValueError(f"t_quantile needs 0 < q < 1 and df > 0; got q={q}, df={df}.")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    tail = 1.0 - q
    lo, hi = 0.0, 1.0
    while t_tail(hi, df) > tail:  # the tail falls as t grows: double until the root is bracketed
        lo, hi = hi, 2.0 * hi
    for _ in range(200):  # bisection: slow but certain, and 200 halvings reach float precision from any bracket
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if t_tail(mid, df) > tail else (lo, mid)
    return 0.5 * (lo + hi)


def _beta_fraction(x, a, b):
    """The continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _CF_STEPS + 1):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h
