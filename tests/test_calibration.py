"""engine.calibration against loops written out the long way, on confidences spread unevenly over the bins.

The hand examples in test_metrics.py have equal bin sizes; here the bins hold very different counts (so a weighted
and an unweighted ECE differ) and some confidences sit exactly on bin edges (so a moved edge changes a count).
"""
import numpy as np
import pytest

from engine.calibration import confidence_histograms, coverage_at, coverage_curve, expected_calibration_error, reliability_bins


def spread(n=3000, *, seed=7):
    """Mostly confident answers, a tail of unsure ones, and 40 confidences exactly on a tenth: (n,) float, (n,) bool."""
    rng = np.random.default_rng(seed)
    conf = np.concatenate([1 - rng.beta(1, 12, n - n // 4 - 40), rng.uniform(0.1, 0.7, n // 4),
                           np.repeat([0.1, 0.5, 0.9, 1.0], 10)])
    # overconfident when sure, underconfident when unsure: the gaps change sign, so the ECE depends on the bins
    ok = rng.random(n) < np.where(conf > 0.8, conf ** 2, np.sqrt(conf))
    return conf, ok


def bins_by_loop(conf, ok, n_bins):
    """Bin b holds lower < c <= upper (0 goes to the first bin): counts, mean confidence, accuracy per bin."""
    count, sum_conf, sum_ok = np.zeros(n_bins), np.zeros(n_bins), np.zeros(n_bins)
    for c, k in zip(conf, ok, strict=True):
        b = 0
        while b < n_bins - 1 and not c <= (b + 1) / n_bins:
            b += 1
        count[b] += 1
        sum_conf[b] += c
        sum_ok[b] += k
    return count, sum_conf, sum_ok


@pytest.mark.parametrize("n_bins", [10, 7])
def test_reliability_bins_and_ece_match_a_loop_on_uneven_bins(n_bins):
    conf, ok = spread()
    count, sum_conf, sum_ok = bins_by_loop(conf, ok, n_bins)
    assert count.max() > 10 * count[count > 0].min()  # really uneven: a weighted and a plain mean differ
    bins = reliability_bins(conf, ok, n_bins=n_bins)
    np.testing.assert_allclose(bins["lower"], np.arange(n_bins) / n_bins)
    np.testing.assert_allclose(bins["upper"], np.arange(1, n_bins + 1) / n_bins)
    np.testing.assert_array_equal(bins["count"], count)
    full = count > 0
    np.testing.assert_allclose(bins["mean_confidence"][full], sum_conf[full] / count[full])
    np.testing.assert_allclose(bins["accuracy"][full], sum_ok[full] / count[full])
    assert np.all(np.isnan(bins["accuracy"][~full])) and np.all(np.isnan(bins["mean_confidence"][~full]))
    gaps = [abs(sum_ok[b] / count[b] - sum_conf[b] / count[b]) for b in range(n_bins) if count[b]]
    weighted = sum(count[b] / len(conf) * abs(sum_ok[b] / count[b] - sum_conf[b] / count[b]) for b in range(n_bins) if count[b])
    ece = expected_calibration_error(conf, ok, n_bins=n_bins)
    assert ece == pytest.approx(weighted, rel=1e-12)
    assert abs(ece - np.mean(gaps)) > 0.01  # the unweighted mean over bins is a different number
    assert abs(ece - abs(conf.mean() - ok.mean())) > 0.01  # and so is the plain gap (what any binning gives one-signed gaps)


def test_a_confidence_on_an_edge_belongs_to_the_bin_below():
    # lower < c <= upper: 0.5 is in (0.4, 0.5], 0.1 in (0, 0.1], 1.0 in (0.9, 1], 0 in the first bin
    counts = reliability_bins([0.0, 0.1, 0.5, 0.5000001, 1.0], [True] * 5)["count"]
    np.testing.assert_array_equal(counts, [2, 0, 0, 0, 1, 1, 0, 0, 0, 1])
    # the last bins stay in the result when empty (a bincount without minlength would drop them)
    assert len(reliability_bins([0.05], [True])["count"]) == 10 and len(reliability_bins([0.05], [True], n_bins=4)["count"]) == 4


def test_ece_of_one_image_and_of_none():
    assert expected_calibration_error([0.8], [True]) == pytest.approx(0.2)  # one image is a full bin of one
    assert expected_calibration_error([0.3, 0.8], [False, True], n_bins=2) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)
    assert np.isnan(expected_calibration_error([], []))


def test_histograms_use_the_edges_of_zero_to_one():
    conf, ok = spread()
    h = confidence_histograms(conf, ok, n_bins=20)
    np.testing.assert_allclose(h["edges"], np.linspace(0, 1, 21))
    e = np.linspace(0, 1, 21)  # [lo, hi) per bin, the last one closed: numpy's histogram rule, on [0, 1]
    inside = [(conf >= e[i]) & ((conf < e[i + 1]) | (i == 19)) for i in range(20)]
    np.testing.assert_array_equal(h["correct"], [np.sum(ok & b) for b in inside])
    np.testing.assert_array_equal(h["wrong"], [np.sum(~ok & b) for b in inside])
    # no image below 0.1: the first two bins of [0, 1] are empty (numpy's own range would start at the minimum)
    assert h["correct"][:2].sum() == 0 and h["wrong"][:2].sum() == 0


def test_coverage_curve_and_coverage_at_match_a_loop():
    conf, ok = spread()
    c = coverage_curve(conf, ok)
    np.testing.assert_allclose(c["threshold"], np.arange(101) / 100)
    for i, t in enumerate(c["threshold"]):
        keep = conf >= t
        assert c["answered"][i] == keep.sum() and c["coverage"][i] == pytest.approx(keep.mean())
        assert c["accuracy"][i] == pytest.approx(ok[keep].mean()) if keep.any() else np.isnan(c["accuracy"][i])
    for t in (0.3, 0.5, 0.9, 0.95, 1.0):
        one = coverage_at(conf, ok, t)
        keep = conf >= t  # an image exactly at the threshold is answered
        assert one == pytest.approx({"threshold": t, "answered": keep.sum(), "refused": (~keep).sum(), "coverage": keep.mean(),
                                     "accuracy": ok[keep].mean(), "accuracy_refused": ok[~keep].mean()})
    assert coverage_at(conf, ok, 1.0)["answered"] == 10  # the ten confidences of exactly 1.0


def test_coverage_of_ties_and_of_nothing_answered_or_refused():
    # ties at the threshold: the curve's searchsorted must take the first of the equal confidences
    c = coverage_curve([0.5, 0.5, 0.5, 0.2], [True, False, True, True], thresholds=[0.5, 0.2])
    np.testing.assert_array_equal(c["answered"], [3, 4])
    assert c["accuracy"][0] == pytest.approx(2 / 3) and c["coverage"][0] == 0.75
    everyone = coverage_at([0.4, 0.6], [True, False], 0.0)
    assert everyone["refused"] == 0 and np.isnan(everyone["accuracy_refused"]) and everyone["accuracy"] == 0.5
    nobody = coverage_curve([], [], thresholds=[0.5])
    assert nobody["answered"][0] == 0 and nobody["coverage"][0] == 0 and np.isnan(nobody["accuracy"][0])


def test_inputs_are_read_as_floats_and_booleans_of_one_length():
    # integer confidences of 0 and 1 and 0/1 outcomes: still one bin each, still booleans (not fancy indices)
    bins = reliability_bins(np.array([0, 1, 1]), np.array([0, 1, 0]))
    np.testing.assert_array_equal(bins["count"], [1, 0, 0, 0, 0, 0, 0, 0, 0, 2])
    assert bins["accuracy"][9] == 0.5 and coverage_at(np.array([0, 1, 1]), np.array([0, 1, 0]), 1)["accuracy"] == 0.5
    with pytest.raises(ValueError, match="same length; got 2 and 3"):
        reliability_bins([0.1, 0.2], [True, True, False])


def test_empty_bins_and_empty_sides_give_nan_quietly(recwarn):
    # a page that shows a bin with no images, or a threshold nobody passes, must not fill the server log with warnings
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bins = reliability_bins([0.95, 0.97], [True, False])
        assert np.isnan(bins["accuracy"][:9]).all() and np.isnan(bins["mean_confidence"][:9]).all()
        c = coverage_curve([0.4, 0.6], [True, False], thresholds=[0.5, 0.9])
        assert c["answered"].tolist() == [1, 0] and np.isnan(c["accuracy"][1])
        none, every = coverage_at([0.4], [True], 0.9), coverage_at([0.4], [True], 0.1)
        assert np.isnan(none["accuracy"]) and none["accuracy_refused"] == 1.0
        assert np.isnan(every["accuracy_refused"]) and every["accuracy"] == 1.0
    assert len(recwarn) == 0


def test_one_image_is_all_of_the_coverage():
    c = coverage_curve([0.7], [True], thresholds=[0.5, 0.9])
    assert c["coverage"].tolist() == [1.0, 0.0]
    assert coverage_at([0.7], [True], 0.5)["coverage"] == 1.0


def test_histograms_read_integer_outcomes_as_right_or_wrong():
    h = confidence_histograms(np.array([0.12, 0.52, 0.93]), np.array([1, 0, 1]), n_bins=10)
    assert h["correct"].tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1] and h["wrong"].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
