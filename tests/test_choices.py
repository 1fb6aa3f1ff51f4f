"""engine.choices against NumPy written out the long way: the five preprocessing choices fitted on the same images, one
digit under each, their value histograms, the pixel statistics and the whitening filter at other epsilons."""
import numpy as np
import pytest

from engine import choices
from engine.preprocess import KINDS, fit
from tests.synth import synthetic_digits


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    """784 x 784 eigendecompositions: several BLAS threads on a busy 2-core machine are many times slower than one."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits():
    img, _ = synthetic_digits(300, seed=5)
    return img  # uint8 (300, 28, 28)


@pytest.fixture(scope="module")
def fitted(digits):
    return choices.fit_all(digits)  # (n, 28, 28) images: fit_all flattens them itself


def test_fit_all_fits_each_choice_on_the_same_pixels(digits, fitted):
    """Every choice, fitted on the images as given, turns a digit into the values its formula gives."""
    assert list(fitted) == list(KINDS)
    x = digits.reshape(len(digits), -1).astype(np.float64)
    row = x[:2]
    u = x / 255
    expected = {"raw": row, "unit": row / 255, "center": row / 255 - u.mean(axis=0)}
    std = x.std(axis=0)
    std = np.where(std < 1e-3 * std.max(), 1.0, std)  # constant pixels divide by 1 (engine.preprocess's rule)
    expected["standardize"] = (row - x.mean(axis=0)) / std
    s, U = np.linalg.eigh(np.cov(u, rowvar=False, bias=True))
    expected["whiten"] = (row / 255 - u.mean(axis=0)) @ ((U / np.sqrt(np.clip(s, 0, None) + 0.1)) @ U.T)
    for kind in KINDS:
        np.testing.assert_allclose(fitted[kind].transform(digits[:2]), expected[kind], atol=2e-4, err_msg=kind)
    only = choices.fit_all(digits, kinds=("unit", "center"))
    assert list(only) == ["unit", "center"]


def test_a_digit_under_each_choice_is_its_transform_as_a_28_by_28_picture(digits, fitted):
    img = digits[7]
    under = choices.digit_under(fitted, img)
    assert list(under) == list(KINDS)
    for kind, picture in under.items():
        assert picture.shape == (28, 28) and picture.dtype == np.float32
        np.testing.assert_array_equal(picture.reshape(-1), fitted[kind].transform(img.reshape(1, 784))[0])
    np.testing.assert_allclose(under["unit"], img / 255, rtol=1e-6)


def test_value_histogram_spans_the_values_and_counts_each_once():
    v = np.array([[-3.0, -1.0, 0.0], [0.5, 2.0, 5.0]])
    edges, counts = choices.value_histogram(v, bins=4)
    np.testing.assert_allclose(edges, [-3, -1, 1, 3, 5])
    assert counts.tolist() == [1, 3, 1, 1]  # [-3, -1) [-1, 1) [1, 3) [3, 5], the last bin closed
    edges, counts = choices.value_histogram(np.linspace(0, 1, 81))
    assert len(edges) == 41 and counts.sum() == 81  # 40 bins by default


def test_a_constant_input_gets_one_bin_either_side_of_its_value():
    edges, counts = choices.value_histogram(np.full(10, 2.0), bins=4)
    np.testing.assert_allclose(edges, [1.5, 1.75, 2.0, 2.25, 2.5])
    assert counts.tolist() == [0, 0, 10, 0]


def test_values_under_each_choice_give_histogram_mean_and_std(digits, fitted):
    x = digits[:50].reshape(50, -1)
    out = choices.values_under(fitted, x, bins=12)
    assert list(out) == list(KINDS)
    for kind, (edges, counts, mean, std) in out.items():
        y = fitted[kind].transform(x).astype(np.float64)
        ref_counts, ref_edges = np.histogram(y, bins=12, range=(y.min(), y.max()))
        np.testing.assert_allclose(edges, ref_edges, rtol=1e-5, atol=1e-6)
        assert counts.tolist() == ref_counts.tolist() and counts.sum() == y.size
        assert mean == pytest.approx(y.mean(), rel=1e-5, abs=1e-6) and std == pytest.approx(y.std(), rel=1e-5)
    assert len(choices.values_under(fitted, x)["unit"][0]) == 41  # 40 bins by default


@pytest.mark.parametrize("side", [28, 14])
def test_pixel_statistics_are_numpys_mean_and_std_over_several_chunks(side):
    rng = np.random.default_rng(1)
    n = choices.CHUNK + 905  # two passes, the second one short
    img = rng.integers(0, 256, (n, side, side)).astype(np.uint8)
    img[:, 0, 0] = 77  # a constant pixel: std exactly 0, not the square root of a rounding error
    mean, std = choices.pixel_statistics(img)
    assert mean.shape == std.shape == (side, side) and mean.dtype == std.dtype == np.float32
    x = img.astype(np.float64)
    np.testing.assert_allclose(mean, x.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std, x.std(axis=0), rtol=1e-5)
    assert std[0, 0] == pytest.approx(0, abs=1e-3) and mean[0, 0] == pytest.approx(77)


@pytest.mark.parametrize(("row", "col"), [(14, 14), (3, 20)])
def test_the_whitening_filter_makes_its_pixel_from_the_centred_digit(digits, fitted, row, col):
    """The filter of pixel [row, col], laid over the centred digit and summed, is that pixel of the whitened digit."""
    w = fitted["whiten"]
    f = choices.whitening_filter(w) if (row, col) == (14, 14) else choices.whitening_filter(w, row=row, col=col)
    img = digits[3]
    centred = img.reshape(28, 28) / 255 - w.mean_.reshape(28, 28)
    whitened = w.transform(img.reshape(1, 784)).reshape(28, 28)
    assert (f * centred).sum() == pytest.approx(whitened[row, col], abs=1e-4)
    f[:] = 0  # a copy: the fitted matrix is untouched
    assert np.abs(w.zca_).max() > 0 and np.array_equal(choices.whitening_filter(w, row=row, col=col),
                                                      w.zca_[:, row * 28 + col].reshape(28, 28))


@pytest.fixture(scope="module")
def refit(digits):
    """Whitening fitted afresh at eps 0.01: what rewhiten must reproduce without refitting."""
    return fit("whiten", digits.reshape(len(digits), -1), eps=0.01)


def test_rewhiten_at_another_eps_is_a_fresh_fit_at_that_eps(fitted, refit):
    w = choices.rewhiten(fitted["whiten"], 0.01)
    assert w.kind == "whiten" and w.eps == 0.01 and isinstance(w.eps, float)
    np.testing.assert_array_equal(w.mean_, fitted["whiten"].mean_)
    np.testing.assert_allclose(w.zca_, refit.zca_, atol=2e-3 * np.abs(refit.zca_).max())


def test_whiten_by_eps_shows_the_filter_and_the_digit_at_each_eps(digits, fitted, refit):
    w = fitted["whiten"]
    img = digits[4]
    out = choices.whiten_by_eps(w, img, eps=[0.1, 0.01], row=5, col=9)
    assert len(out) == 2
    (f0, y0), (f1, y1) = out
    np.testing.assert_array_equal(f0, w.zca_[:, 5 * 28 + 9].reshape(28, 28))  # eps 0.1 is the fitted one, as it is
    np.testing.assert_array_equal(y0, w.transform(img.reshape(1, 784)).reshape(28, 28))
    scale = np.abs(refit.zca_).max()
    np.testing.assert_allclose(f1, refit.zca_[:, 5 * 28 + 9].reshape(28, 28), atol=2e-3 * scale)
    expected = refit.transform(img.reshape(1, 784)).reshape(28, 28)
    np.testing.assert_allclose(y1, expected, atol=2e-3 * np.abs(expected).max())
    (g, _), = choices.whiten_by_eps(w, img, eps=[0.1])
    np.testing.assert_array_equal(g, w.zca_[:, 14 * 28 + 14].reshape(28, 28))  # pixel [14, 14] by default


def test_the_gain_ratio_is_that_of_the_strongest_and_faintest_variance(digits, fitted):
    u = digits.reshape(len(digits), -1) / 255
    s = np.clip(np.linalg.eigvalsh(np.cov(u, rowvar=False, bias=True)), 0, None)
    for eps in (0.1, 0.01):
        expected = np.sqrt((s.max() + eps) / (s.min() + eps))
        assert choices.whitening_gain_ratio(fitted["whiten"], eps) == pytest.approx(expected, rel=2e-3)
