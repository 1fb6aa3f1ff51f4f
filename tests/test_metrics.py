"""Metrics and calibration against hand-computed examples, brute-force loops and synthetic data with known calibration."""
import warnings

import numpy as np
import pytest

from engine.calibration import confidence_histograms, coverage_at, coverage_curve, expected_calibration_error, reliability_bins
from engine.functions import cross_entropy_error
from engine.metrics import (
    accuracy_score,
    agreement_matrix,
    cell_indices,
    classification_report,
    confusion_matrix,
    disagreement_indices,
    most_confident_mistakes,
    normalize_rows,
    order_by_confidence,
    order_by_loss,
    per_image_loss,
    precision_recall_f1,
    top_confusions,
)

# six images, three classes; counted by hand: 0->0, 0->1, 1->1, 2->2, 2->0, 2->2
T_HAND = [0, 0, 1, 2, 2, 2]
P_HAND = [0, 1, 1, 2, 0, 2]


@pytest.fixture
def random_answers():
    rng = np.random.default_rng(1)
    t = rng.integers(0, 10, 2000)
    # right 70% of the time, otherwise a random digit: every cell gets a realistic count
    pred = np.where(rng.random(2000) < 0.7, t, rng.integers(0, 10, 2000))
    return t, pred


def test_confusion_matrix_hand_example():
    cm = confusion_matrix(T_HAND, P_HAND, n_classes=3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert accuracy_score(T_HAND, P_HAND) == pytest.approx(4 / 6)


def test_confusion_matrix_matches_brute_force_loop(random_answers):
    t, pred = random_answers
    brute = np.zeros((10, 10), np.int64)
    for a, b in zip(t, pred, strict=True):
        brute[a, b] += 1
    cm = confusion_matrix(t, pred)
    np.testing.assert_array_equal(cm, brute)
    assert cm.sum() == len(t)
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(t, minlength=10))  # rows are the truth
    assert np.trace(cm) / len(t) == pytest.approx(accuracy_score(t, pred))


def test_confusion_matrix_refuses_bad_labels():
    with pytest.raises(ValueError, match="0..2"):
        confusion_matrix([0, 3], [0, 1], n_classes=3)
    with pytest.raises(ValueError, match="same length"):
        confusion_matrix([0, 1], [0])


def test_normalize_rows_sums_to_one_and_leaves_empty_rows_zero():
    rates = normalize_rows(confusion_matrix(T_HAND, P_HAND, n_classes=4))
    np.testing.assert_allclose(rates.sum(axis=1), [1, 1, 1, 0])
    assert rates[2, 0] == pytest.approx(1 / 3)


def test_cell_indices_hold_exactly_the_cell(random_answers):
    t, pred = random_answers
    cm = confusion_matrix(t, pred)
    seen = []
    for i in range(10):
        for j in range(10):
            idx = cell_indices(t, pred, i, j)
            assert len(idx) == cm[i, j]
            assert np.all(t[idx] == i) and np.all(pred[idx] == j)
            seen.append(idx)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), np.arange(len(t)))  # every image in exactly one cell
    np.testing.assert_array_equal(cell_indices(T_HAND, P_HAND, 2, 0), [4])


def test_precision_recall_f1_hand_computed():
    s = precision_recall_f1(confusion_matrix(T_HAND, P_HAND, n_classes=3))
    # class 0: 1 of 2 predicted-0 right, 1 of 2 true-0 found; class 1: 1 of 2, 1 of 1; class 2: 2 of 2, 2 of 3
    np.testing.assert_allclose(s["precision"], [1 / 2, 1 / 2, 1])
    np.testing.assert_allclose(s["recall"], [1 / 2, 1, 2 / 3])
    np.testing.assert_allclose(s["f1"], [1 / 2, 2 / 3, 0.8])
    np.testing.assert_array_equal(s["support"], [2, 1, 3])


def test_classification_report_rows_and_top_confusion():
    rows = classification_report(T_HAND, P_HAND, n_classes=4)
    assert [r["digit"] for r in rows] == [0, 1, 2, 3]
    assert (rows[0]["confused_with"], rows[0]["confused_count"]) == (1, 1)
    assert (rows[1]["confused_with"], rows[1]["confused_count"]) == (None, 0)  # never wrong
    assert (rows[2]["confused_with"], rows[2]["confused_count"]) == (0, 1)
    assert rows[2]["f1"] == pytest.approx(0.8)
    # a class nobody has and nobody predicts: zeros, not NaN or a division warning
    assert rows[3] == {"digit": 3, "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "confused_with": None, "confused_count": 0}


def test_per_image_loss_is_the_books_cross_entropy_per_image():
    rng = np.random.default_rng(2)
    proba = rng.dirichlet(np.ones(10), 50).astype(np.float32)
    t = rng.integers(0, 10, 50)
    loss = per_image_loss(proba, t)
    assert loss.shape == (50,) and loss.dtype == np.float32
    assert loss[3] == pytest.approx(-np.log(proba[3, t[3]] + 1e-7), rel=1e-5)
    assert loss.mean() == pytest.approx(cross_entropy_error(proba, t), rel=1e-5)


def test_ordering_helpers_sort_the_given_indices_with_stable_ties():
    values = np.array([0.5, 0.9, 0.1, 0.9, 0.3])
    np.testing.assert_array_equal(order_by_confidence([0, 1, 3, 4], values), [1, 3, 0, 4])
    np.testing.assert_array_equal(order_by_confidence([0, 1, 3, 4], values, descending=False), [4, 0, 1, 3])
    np.testing.assert_array_equal(order_by_loss([2, 4, 0], values), [0, 4, 2])


def test_most_confident_mistakes_are_wrong_sorted_and_the_top_k():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet(np.full(10, 0.3), 500)
    t = rng.integers(0, 10, 500)
    idx = most_confident_mistakes(proba, t, k=24)
    assert len(idx) == 24
    assert np.all(proba[idx].argmax(axis=1) != t[idx])
    conf = proba[idx].max(axis=1)
    assert np.all(np.diff(conf) <= 0)
    wrong = proba.argmax(axis=1) != t
    # brute force: no wrong image outside the list is more confident than the least confident inside it
    assert proba[wrong].max(axis=1)[~np.isin(np.flatnonzero(wrong), idx)].max() <= conf[-1]
    assert len(most_confident_mistakes(proba, t, k=10_000)) == wrong.sum()


def test_agreement_matrix_and_disagreements():
    a, b, c = [1, 2, 3, 4], [1, 2, 0, 4], [1, 0, 0, 4]
    m = agreement_matrix([a, b, c])
    np.testing.assert_allclose(m, [[1, 0.75, 0.5], [0.75, 1, 0.75], [0.5, 0.75, 1]])
    np.testing.assert_array_equal(disagreement_indices([a, b, c]), [1, 2])
    np.testing.assert_array_equal(disagreement_indices([a, a]), [])
    with pytest.raises(ValueError, match="two or more"):
        agreement_matrix([a])


def calibrated(n, *, seed=0, shrink=1.0):
    """Top-class confidences and outcomes where P(correct | c) = shrink * c; shrink=1 is perfect calibration."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.1, 1.0, n)
    return conf, rng.random(n) < shrink * conf


def test_ece_is_near_zero_when_calibrated_and_large_when_overconfident():
    assert expected_calibration_error(*calibrated(200_000)) < 0.01
    # accuracy is 70% of the confidence: the gap averages 0.3 * E[c] = 0.3 * 0.55
    assert expected_calibration_error(*calibrated(200_000, shrink=0.7)) == pytest.approx(0.165, abs=0.01)


def test_ece_and_bins_hand_example():
    conf, ok = [0.95, 0.95, 0.55, 0.55], [True, False, True, True]
    # two bins used: (0.9, 1] accuracy 0.5 vs 0.95, (0.5, 0.6] accuracy 1 vs 0.55; each weighs half
    assert expected_calibration_error(conf, ok) == pytest.approx(0.45)
    bins = reliability_bins(conf, ok)
    np.testing.assert_array_equal(bins["count"], [0, 0, 0, 0, 0, 2, 0, 0, 0, 2])
    assert bins["accuracy"][9] == 0.5 and bins["mean_confidence"][5] == pytest.approx(0.55)
    assert np.isnan(bins["accuracy"][0])  # empty: no data, not 0% accuracy
    assert reliability_bins([1.0], [True])["count"][-1] == 1


def test_confidence_histograms_split_correct_and_wrong():
    conf, ok = calibrated(1000)
    h = confidence_histograms(conf, ok, n_bins=20)
    assert len(h["edges"]) == 21 and h["correct"].sum() == ok.sum() and h["wrong"].sum() == (~ok).sum()
    # calibrated data: the top 5% of confidence is mostly right, the bottom 15% mostly wrong
    assert h["correct"][-1] > h["wrong"][-1] and h["wrong"][2] > h["correct"][2]


def test_coverage_curve_monotone_and_matches_single_thresholds():
    conf, ok = calibrated(5000, seed=4)
    c = coverage_curve(conf, ok)
    assert np.all(np.diff(c["answered"]) <= 0) and np.all(np.diff(c["coverage"]) <= 0)
    assert c["coverage"][0] == 1 and c["accuracy"][0] == pytest.approx(ok.mean())
    for t in (0.0, 0.3, 0.555, 0.9, 0.99):
        one = coverage_at(conf, ok, t)
        i = np.searchsorted(c["threshold"], t)
        if np.isclose(c["threshold"][i], t):
            assert c["answered"][i] == one["answered"] and c["accuracy"][i] == pytest.approx(one["accuracy"])
        assert one["answered"] + one["refused"] == 5000
        assert one["answered"] == (conf >= t).sum() and one["accuracy"] == pytest.approx(ok[conf >= t].mean())
    # calibrated: refusing unsure answers raises accuracy on the rest
    assert coverage_at(conf, ok, 0.9)["accuracy"] > ok.mean() + 0.3
    none = coverage_at(conf, ok, 1.01)
    assert none["answered"] == 0 and np.isnan(none["accuracy"])
    assert coverage_curve(conf, ok, thresholds=[1.01])["answered"][0] == 0


def dirty_heap(nbytes):
    """Free a few arrays of nbytes filled with NaN, so NumPy's next allocations of that size reuse memory that is not 0."""
    junk = [np.full(nbytes // 8, np.nan) for _ in range(16)]
    del junk


def test_accuracy_of_no_images_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # np.mean of an empty array would warn "Mean of empty slice"
        assert np.isnan(accuracy_score([], []))


def test_an_empty_row_stays_zero_even_when_memory_is_dirty():
    cm = np.array([[3, 1, 0, 0], [0, 0, 0, 0], [2, 0, 5, 1], [0, 0, 0, 0]])  # classes 1 and 3 have no images
    dirty_heap(cm.size * 8)
    rates = normalize_rows(cm)
    for i in range(4):
        total = cm[i].sum()
        np.testing.assert_array_equal(rates[i], cm[i] / total if total else np.zeros(4))


def test_precision_recall_f1_match_a_loop_on_many_classes():
    # 300 classes: the (k,) results are too big for NumPy's small-block cache, so an entry left unset would show garbage
    rng = np.random.default_rng(8)
    k = 300
    cm = rng.integers(1, 4, (k, k)) * (rng.random((k, k)) < 0.01)  # sparse: most classes are never right
    cm[5, :], cm[:, 5] = 0, 0
    cm[5, 5] = 1  # predicted exactly once, and right: precision 1
    cm[7, :], cm[:, 7] = 0, 0  # no images, never predicted
    cm[9, 9], cm[:, 9], cm[9, 3] = 0, 0, 2  # has images, never predicted
    dirty_heap(k * 8)
    s = precision_recall_f1(cm)
    for c in range(k):
        tp, predicted, support = cm[c, c], cm[:, c].sum(), cm[c].sum()
        p = tp / predicted if predicted else 0.0
        r = tp / support if support else 0.0
        assert s["precision"][c] == pytest.approx(p) and s["recall"][c] == pytest.approx(r)
        assert s["f1"][c] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert (s["precision"][5], s["recall"][5], s["f1"][5]) == (1.0, 1.0, 1.0)
    assert s["support"].dtype == np.int64
    np.testing.assert_array_equal(s["support"], cm.sum(axis=1))


@pytest.mark.parametrize("dtype", [np.int64, np.uint32])
def test_top_confusions_match_a_loop_for_any_integer_counts(dtype):
    cm = np.array([[7, 0, 2, 2], [0, 4, 0, 0], [1, 3, 9, 0], [0, 0, 0, 0]], dtype=dtype)
    other, count = top_confusions(cm)
    for i in range(4):
        wrong = [(int(cm[i, j]), -j) for j in range(4) if j != i and cm[i, j] > 0]
        best = max(wrong, default=None)  # the most frequent wrong prediction, the smaller digit on a tie
        assert (other[i], count[i]) == ((-best[1], best[0]) if best else (-1, 0))


def test_a_sure_mistake_has_the_books_finite_loss():
    proba = np.array([[0.0, 1.0], [0.25, 0.75]], np.float32)  # image 0: probability 0 for its true class
    loss = per_image_loss(proba, [0, 1])
    assert loss[0] == pytest.approx(-np.log(1e-7), rel=1e-5)
    assert loss[1] == pytest.approx(-np.log(0.75 + 1e-7), rel=1e-5)


def test_disagreements_of_three_models_are_the_images_they_do_not_all_share():
    a, b, c = [4, 1, 2, 3, 5], [4, 1, 2, 0, 5], [7, 1, 2, 3, 5]
    want = [i for i in range(5) if len({a[i], b[i], c[i]}) > 1]
    np.testing.assert_array_equal(disagreement_indices([a, b, c]), want)
    with pytest.raises(ValueError, match=r"got 1 of shape \(5,\)"):
        disagreement_indices([a])


def test_ordering_an_empty_list_of_images_gives_no_images():
    for order in (order_by_confidence, order_by_loss):
        got = order([], np.array([0.2, 0.7]))
        assert got.dtype == np.int64 and len(got) == 0
