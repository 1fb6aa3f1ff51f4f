"""engine.stats and engine.tdist against exact binomial sums written out here, textbook tables and brute-force integrals."""
import math
import re
from fractions import Fraction

import numpy as np
import pytest

import engine
from engine.errors import EngineError, StatsError
from engine.stats import Interval, McNemar, compare_groups, difference, mcnemar, mean_interval
from engine.tdist import beta_regularized, t_quantile, t_tail


def exact_p(b, c):
    """min(1, 2 P[X <= min(b, c)]) with X ~ Bin(b + c, 1/2), summed as exact fractions of math.comb terms."""
    m = b + c
    if m == 0:
        return 1.0
    tail = Fraction(sum(math.comb(m, i) for i in range(min(b, c) + 1)), 2 ** m)
    return float(min(Fraction(1), 2 * tail))


def answers(a_only, b_only, both_right, both_wrong, *, seed=0):
    """Labels and two models' predictions (n,) with exactly these four counts, shuffled; wrong answers are label + 1..9."""
    rng = np.random.default_rng(seed)
    n = a_only + b_only + both_right + both_wrong
    y = rng.integers(0, 10, n)
    right_a = np.array([1] * a_only + [0] * b_only + [1] * both_right + [0] * both_wrong, dtype=bool)
    right_b = np.array([0] * a_only + [1] * b_only + [1] * both_right + [0] * both_wrong, dtype=bool)
    order = rng.permutation(n)
    right_a, right_b = right_a[order], right_b[order]
    pred_a = np.where(right_a, y, (y + rng.integers(1, 10, n)) % 10)
    pred_b = np.where(right_b, y, (y + rng.integers(1, 10, n)) % 10)
    return y, pred_a, pred_b


@pytest.mark.parametrize("a_only, b_only, both_right, both_wrong", [
    (137, 74, 9600, 189), (3, 9, 50, 4), (0, 5, 10, 0), (12, 12, 5, 5), (1, 0, 0, 0), (400, 380, 9000, 220),
])
def test_mcnemar_counts_and_p_match_the_exact_binomial_sum(a_only, b_only, both_right, both_wrong):
    y, pa, pb = answers(a_only, b_only, both_right, both_wrong)
    r = mcnemar(y, pa, pb)
    assert (r.a_only, r.b_only, r.n) == (a_only, b_only, len(y))
    assert r.p == pytest.approx(exact_p(a_only, b_only), rel=1e-12)


def test_mcnemar_issue_example_rounds_to_two_in_ten_to_the_five():
    # the issue's own sentence: "A right and B wrong on 137 images, the reverse on 74, p = 2·10⁻⁵"
    r = mcnemar(*answers(137, 74, 9700, 89))
    assert 1.5e-5 <= r.p < 2.5e-5


def test_mcnemar_textbook_bentur_2009():
    # Fagerland, Lydersen & Laake, Statistical Analysis of Contingency Tables, ch. 8: the paired table [[1, 1], [7, 12]]
    # (Bentur et al. 2009); the McNemar exact conditional test gives P = 0.0703 (= 2 * 9 / 256)
    r = mcnemar(*answers(1, 7, 1, 12))
    assert r.p == pytest.approx(0.0703, abs=5e-5)
    assert r.p == 18 / 256


def test_mcnemar_sign_test_by_hand():
    # 10 discordant pairs split 1 : 9: P[X <= 1] = (1 + 10) / 1024, doubled
    assert mcnemar(*answers(9, 1, 0, 0)).p == 22 / 1024


def test_mcnemar_is_symmetric_in_the_two_models():
    y, pa, pb = answers(55, 31, 800, 14, seed=3)
    ab, ba = mcnemar(y, pa, pb), mcnemar(y, pb, pa)
    assert (ab.a_only, ab.b_only) == (ba.b_only, ba.a_only) == (55, 31)
    assert ab.p == ba.p and ab.n == ba.n


def test_mcnemar_with_no_disagreement_has_p_one():
    y = np.arange(20) % 10
    pred = np.where(np.arange(20) < 15, y, (y + 1) % 10)  # both models make the same 5 mistakes
    assert mcnemar(y, pred, pred.copy()) == McNemar(a_only=0, b_only=0, n=20, p=1.0)


def test_mcnemar_when_every_image_is_discordant():
    y = np.zeros(12, dtype=int)
    pa, pb = np.zeros(12, dtype=int), np.ones(12, dtype=int)  # A always right, B always wrong
    r = mcnemar(y, pa, pb)
    assert (r.a_only, r.b_only, r.n) == (12, 0, 12)
    assert r.p == 2 / 2 ** 12
    # a both-sides-wrong image is not discordant even when the two wrong answers differ
    assert mcnemar([0, 0], [1, 0], [2, 1]) == McNemar(a_only=1, b_only=0, n=2, p=1.0)


def test_mcnemar_stays_exact_for_thousands_of_discordant_pairs():
    # 30,000 vs 29,000: a float sum of 2**-59000-sized terms would underflow to 0 and a naive one overflow
    p = mcnemar(*answers(30_000, 29_000, 0, 0)).p
    z = (30_000 - 29_000) / math.sqrt(59_000)  # the normal approximation is close at this size
    assert 0 < p < 1e-4
    assert p == pytest.approx(math.erfc((z - 1 / math.sqrt(59_000)) / math.sqrt(2)), rel=0.05)
    assert mcnemar(*answers(5_000, 5_000, 0, 0)).p == 1.0


@pytest.mark.parametrize("y, pa, pb", [
    ([1, 2, 3], [1, 2], [1, 2, 3]),
    ([1, 2, 3], [1, 2, 3], [1, 2, 3, 4]),
    ([[1, 2]], [[1, 2]], [[1, 2]]),
])
def test_mcnemar_refuses_mismatched_shapes_with_one_message(y, pa, pb):
    with pytest.raises(StatsError, match="1-D and the same length") as info:
        mcnemar(y, pa, pb)
    assert isinstance(info.value, EngineError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("q, df, textbook", [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 4, 2.776), (0.975, 9, 2.262), (0.975, 30, 2.042),
    (0.95, 5, 2.015), (0.995, 10, 3.169), (0.9995, 1, 636.619), (0.975, 120, 1.980),
])
def test_t_quantile_matches_the_textbook_table(q, df, textbook):
    assert t_quantile(q, df) == pytest.approx(textbook, abs=5e-4)
    assert t_quantile(1 - q, df) == pytest.approx(-t_quantile(q, df), rel=1e-12)


def test_t_quantile_known_closed_forms_and_the_normal_limit():
    assert t_quantile(0.975, 4) == pytest.approx(2.7764451051977987, rel=1e-9)
    # df = 1 is Cauchy: quantile tan(pi (q - 1/2)); df = 2 has t = (2q - 1) sqrt(2 / (4 q (1 - q)))
    assert t_quantile(0.9, 1) == pytest.approx(math.tan(math.pi * 0.4), rel=1e-9)
    assert t_quantile(0.9, 2) == pytest.approx(0.8 * math.sqrt(2 / (4 * 0.9 * 0.1)), rel=1e-9)
    assert t_quantile(0.975, 1e9) == pytest.approx(1.959963984540054, rel=1e-6)


def test_t_quantile_below_one_at_the_median_and_in_the_lower_half():
    # closed forms as above: a quantile under 1 must be found without doubling the bracket
    for q in (0.6, 0.4, 0.55):
        assert t_quantile(q, 1) == pytest.approx(math.tan(math.pi * (q - 0.5)), rel=1e-9)
        assert t_quantile(q, 2) == pytest.approx((2 * q - 1) * math.sqrt(2 / (4 * q * (1 - q))), rel=1e-9)
    for df in (1, 4.5, 300):
        assert t_quantile(0.5, df) == pytest.approx(0.0, abs=1e-12)


def test_an_infinite_or_huge_df_is_the_normal_distribution():
    # standard normal table: P[Z > 1] = 0.158655..., P[Z > 2] = 0.0227501..., z_{0.975} = 1.959964...
    assert t_tail(1.0, math.inf) == pytest.approx(0.15865525393145705, rel=1e-12)
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959963984540054, rel=1e-9)
    for df in (1e12, 1e300):  # the t tail differs from the normal one by ~1/df here; the continued fraction would not converge
        assert t_tail(2.0, df) == pytest.approx(0.022750131948179195, rel=1e-9)


@pytest.mark.parametrize("t", [-0.3, -1.0, -1.5, -12.0, 0.0])
def test_t_tail_below_zero_takes_the_whole_curve(t):
    # closed forms: df = 1 (Cauchy) P[T > t] = 1/2 - atan(t) / pi; df = 2: 1/2 - t / (2 sqrt(2 + t^2))
    assert t_tail(t, 1) == pytest.approx(0.5 - math.atan(t) / math.pi, rel=1e-12)
    assert t_tail(t, 2) == pytest.approx(0.5 - t / (2 * math.sqrt(2 + t * t)), rel=1e-12)


@pytest.mark.parametrize("q, df", [(0.0, 3), (1.0, 3), (1.5, 3), (-0.2, 3), (0.9, 0), (0.9, -2), (0.9, math.nan)])
def test_t_quantile_refuses_values_outside_its_domain(q, df):
    with pytest.raises(ValueError, match=re.escape(f"t_quantile needs 0 < q < 1 and df > 0; got q={q}, df={df}.")):
        t_quantile(q, df)


@pytest.mark.parametrize("t, df", [(0.7, 2.5), (2.1, 7.3), (4.0, 1.6), (1.3, 40.0)])
def test_t_tail_matches_a_brute_force_integral_of_the_density(t, df):
    # the t density integrated from t to a far bound with the trapezoid rule, plus the analytic far tail
    logc = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    far = 2000.0
    x = np.linspace(t, far, 2_000_001)
    f = np.exp(logc - (df + 1) / 2 * np.log1p(x * x / df))
    beyond = math.exp(logc) * df ** ((df + 1) / 2) * far ** (-df) / df  # ∫ c (x²/df)^(-(df+1)/2) from far
    assert t_tail(t, df) == pytest.approx(np.trapezoid(f, x) + beyond, rel=1e-5)


def test_beta_regularized_against_closed_forms():
    # I_x(1, b) = 1 - (1 - x)^b and I_x(a, 1) = x^a
    for x in (0.01, 0.3, 0.77, 0.999):
        assert beta_regularized(x, 1.0, 3.5) == pytest.approx(1 - (1 - x) ** 3.5, rel=1e-12)
        assert beta_regularized(x, 2.5, 1.0) == pytest.approx(x ** 2.5, rel=1e-12)
    assert beta_regularized(0.0, 2, 3) == 0.0 and beta_regularized(1.0, 2, 3) == 1.0


@pytest.mark.parametrize("a, b, x", [(5, 30, Fraction(1, 1000)), (40, 60, Fraction(1, 100)), (40, 60, Fraction(1, 2)),
                                     (3, 200, Fraction(1, 1000)), (200, 3, Fraction(99, 100)), (30, 5, Fraction(9, 10))])
def test_beta_regularized_keeps_far_tails_to_full_precision(a, b, x):
    # for whole a, b: I_x(a, b) = P[Bin(a + b - 1, x) >= a], summed exactly over math.comb terms; a tail of 1e-53 must not
    # come out as 1 - (1 - tail)
    n = a + b - 1
    exact = sum(math.comb(n, j) * x ** j * (1 - x) ** (n - j) for j in range(a, n + 1))
    assert beta_regularized(float(x), a, b) == pytest.approx(float(exact), rel=1e-10)


def test_mean_interval_by_hand():
    v = [96.1, 96.4, 95.9, 96.3, 96.0]
    r = mean_interval(v)
    mean = sum(v) / 5
    sd = math.sqrt(sum((x - mean) ** 2 for x in v) / 4)
    half = 2.776445105 * sd / math.sqrt(5)  # t_{0.975, 4}
    assert r == Interval(mean=pytest.approx(mean), sd=pytest.approx(sd), lo=pytest.approx(mean - half),
                         hi=pytest.approx(mean + half), n=5)
    wide = mean_interval(v, level=0.99)  # t_{0.995, 4} = 4.604
    assert wide.hi - wide.mean == pytest.approx(4.604 * sd / math.sqrt(5), rel=1e-3)


def test_mean_interval_of_one_value_has_no_spread():
    r = mean_interval([97.03])
    assert math.isnan(r.sd) and r.lo == r.hi == r.mean == 97.03 and r.n == 1


@pytest.mark.parametrize("values, kwargs, words", [
    ([], {}, "at least one value"), ([[1.0, 2.0]], {}, "1-D list"),
    ([1.0, 2.0], {"level": 1.0}, "strictly between 0 and 1"), ([1.0, 2.0], {"level": 0}, "strictly between 0 and 1"),
])
def test_mean_interval_refuses_nonsense(values, kwargs, words):
    with pytest.raises(StatsError, match=words):
        mean_interval(values, **kwargs)


def test_float32_values_are_summed_in_float64():
    # in float32, 2**24 + 1 rounds back to 2**24, so a float32 sum would lose both ones
    v = np.array([2 ** 24, 1, 1], dtype=np.float32)
    r = mean_interval(v)
    mean = (2 ** 24 + 2) / 3
    assert r.mean == mean
    assert r.sd == pytest.approx(math.sqrt(((2 ** 24 - mean) ** 2 + 2 * (1 - mean) ** 2) / 2), rel=1e-12)
    # and the paired differences too: 2**24 - (-1) is 2**24 in float32
    assert difference(v, np.array([-1, 0, 0], np.float32), paired=True).mean == (2 ** 24 + 3) / 3


def test_welch_difference_by_hand():
    a, b = [97.0, 97.2, 96.9, 97.1], [96.2, 96.6, 96.1]
    d = difference(a, b, names=("unit", "whiten"))
    va, vb = np.var(a, ddof=1) / 4, np.var(b, ddof=1) / 3
    df = (va + vb) ** 2 / (va ** 2 / 3 + vb ** 2 / 2)
    assert d.mean == pytest.approx(np.mean(a) - np.mean(b))
    assert d.half == pytest.approx(t_quantile(0.975, df) * math.sqrt(va + vb))
    assert (d.a, d.b, d.within_noise) == ("unit", "whiten", False)


def test_paired_difference_is_the_interval_of_the_differences():
    a, b = [97.0, 96.5, 97.3], [96.8, 96.4, 97.0]
    d = difference(a, b, paired=True)
    ref = mean_interval(np.subtract(a, b))
    assert (d.mean, d.lo, d.hi) == pytest.approx((ref.mean, ref.lo, ref.hi))
    with pytest.raises(StatsError, match="same runs"):
        difference([1.0, 2.0], [1.0], paired=True)


def test_a_single_run_can_never_show_a_gap():
    d = difference([97.0], [92.0])
    assert d.mean == 5.0 and math.isnan(d.half) and math.isnan(d.lo) and d.within_noise
    d = difference([97.0], [92.0], paired=True)
    assert d.mean == 5.0 and math.isnan(d.half) and d.within_noise


def test_two_runs_already_give_an_interval_paired_or_welch():
    # paired, n = 2: differences 1.0 and 0.4, sd = 0.6 / sqrt(2); t_{0.975, 1} = 12.706 from the table
    d = difference([97.0, 96.0], [96.0, 95.6], paired=True)
    assert d.mean == pytest.approx(0.7) and d.half == pytest.approx(12.706 * 0.3, abs=5e-4 * 0.3)
    # Welch with two runs on one side, written out by hand, on either side
    two, three = [97.0, 96.0], [95.0, 95.5, 95.2]
    va, vb = 0.5 / 2, np.var(three, ddof=1) / 3  # var([97, 96], ddof=1) = 0.5
    df = (va + vb) ** 2 / (va ** 2 / 1 + vb ** 2 / 2)
    for a, b, sign in ((two, three, 1), (three, two, -1)):
        d = difference(a, b)
        assert d.mean == pytest.approx(sign * (96.5 - np.mean(three)))
        assert d.half == pytest.approx(t_quantile(0.975, df) * math.sqrt(va + vb), rel=1e-12)


def test_sides_that_each_repeat_one_value_give_a_zero_width_interval():
    d = difference([97.0, 97.0], [96.0, 96.0, 96.0])
    assert (d.mean, d.half, d.lo, d.hi, d.within_noise) == (1.0, 0.0, 1.0, 1.0, False)


def test_the_level_reaches_the_paired_interval():
    a, b = [97.0, 96.5, 97.3], [96.8, 96.4, 97.0]  # differences 0.2, 0.1, 0.3: sd 0.1
    d = difference(a, b, paired=True, level=0.90)
    assert d.half == pytest.approx(2.920 * 0.1 / math.sqrt(3), abs=5e-4 * 0.1)  # t_{0.95, 2} = 2.920


def test_compare_groups_separates_a_clear_gap_from_noise():
    groups = {"whiten": [95.6, 95.8, 95.7], "unit": [97.0, 97.1, 96.9], "center": [96.9, 97.0, 97.05]}
    r = compare_groups(groups)
    assert r.order == ("unit", "center", "whiten")
    assert r.tied == ("unit", "center")
    assert (r.margin.a, r.margin.b) == ("unit", "whiten")
    assert r.margin.mean == pytest.approx(np.mean(groups["unit"]) - np.mean(groups["whiten"]))
    assert r.margin.half > 0 and not r.margin.within_noise
    assert len(r.pairs) == 3

    noisy = {"unit": [97.0, 95.0, 96.5], "whiten": [95.9, 96.8, 95.1]}  # the same order, far wider spread
    r = compare_groups(noisy)
    assert r.tied == ("unit", "whiten") and r.margin is None


def test_compare_groups_pairs_runs_and_uses_the_level_only_when_asked():
    # the same three seeds on both sides: each seed gains 0.2, 0.15, 0.25 (sd 0.05) while the seeds spread by 1.0
    groups = {"tuned": [97.0, 96.0, 95.0], "shared": [96.8, 95.85, 94.75]}
    r = compare_groups(groups)  # Welch by default: the spread across seeds hides the gain
    assert r.tied == ("tuned", "shared") and r.margin is None
    r = compare_groups(groups, paired=True)
    assert r.tied == ("tuned",) and (r.margin.a, r.margin.b) == ("tuned", "shared")
    assert r.margin.mean == pytest.approx(0.2)
    assert r.margin.half == pytest.approx(4.303 * 0.05 / math.sqrt(3), abs=5e-4 * 0.05)  # t_{0.975, 2} = 4.303
    r = compare_groups(groups, paired=True, level=0.99)  # t_{0.995, 2} = 9.925: half 0.287 > 0.2, within noise
    assert r.pairs[0].half == pytest.approx(9.925 * 0.05 / math.sqrt(3), abs=5e-4 * 0.05)
    assert r.tied == ("tuned", "shared") and r.margin is None


def test_compare_groups_is_exported_lazily_by_the_package():
    assert engine.mcnemar is mcnemar and engine.compare_groups is compare_groups and engine.StatsError is StatsError
    with pytest.raises(StatsError, match="^compare_groups needs at least one group of values.$"):
        compare_groups({})
