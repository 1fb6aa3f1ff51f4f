"""ui.stats' plain helpers: percent() never prints a false 0% or 100%, ink() counts what the dataset page says; the
split (or one digit of it) behind every cached statistic is the loaded dataset's."""
import numpy as np
import pytest

from tests import apptest_helpers
from ui import stats
from ui.stats import ink, percent

app_env = apptest_helpers.app_env  # synthetic MNIST in MNIST_DIR, caches cleared before and after


@pytest.mark.parametrize(("p", "digits", "text"), [
    (0, 1, "0.0%"), (1, 1, "100.0%"), (0.5, 1, "50.0%"), (0.0123, 1, "1.2%"), (0.0005, 1, "0.1%"),
    (0.0004, 1, "< 0.1%"), (1e-9, 1, "< 0.1%"), (np.float32(3e-5), 2, "< 0.01%"), (3e-5, 1, "< 0.1%"),
    (0.9994, 1, "99.9%"), (0.9996, 1, "> 99.9%"), (0.99996, 2, "> 99.99%"), (np.float32(0.9999), 2, "99.99%"),
    (0.004, 0, "< 1%"), (0.996, 0, "> 99%"), (0.97123, 2, "97.12%"),
    # exactly half a step below 1: plain rounding would print 100%, so it is "almost sure" already
    (0.995, 0, "> 99%"), (0.9995, 1, "> 99.9%"), (0.99995, 2, "> 99.99%"),
])
def test_percent_says_tiny_and_almost_sure_in_words(p, digits, text):
    assert percent(p, digits) == text


def test_percent_never_rounds_a_nonzero_share_to_zero_or_a_short_one_to_a_hundred():
    for p in np.concatenate([np.geomspace(1e-12, 1e-2, 200), 1 - np.geomspace(1e-12, 1e-2, 200)]):
        for digits in (0, 1, 2):
            text = percent(p, digits)
            assert text.lstrip("<> ") not in (f"{0:.{digits}%}", f"{1:.{digits}%}"), (p, digits, text)


def test_ink_counts_pixels_as_the_dataset_page_words_them():
    x = np.zeros((28, 28), np.uint8)
    x[3, :5] = [1, 127, 128, 255, 0]
    assert ink(x) == (4, 2, 255)
    assert ink(np.zeros((28, 28), np.uint8)) == (0, 0, 0)


def test_percent_shows_one_decimal_unless_told_otherwise():
    assert percent(0.4567) == "45.7%" and percent(0.0004) == "< 0.1%" and percent(0.9996) == "> 99.9%"


def _where(x, t, digit):
    """The images and labels of one digit, picked with a plain loop."""
    keep = [i for i in range(len(t)) if t[i] == digit]
    return x[keep].reshape(-1, 28, 28), t[keep]


@pytest.mark.parametrize("split", ["train", "test"])
def test_arrays_gives_the_datasets_split_or_one_digit_of_it(app_env, split):
    x, t = app_env[split]
    img, lab = stats._arrays("any key", split)  # a plain function (the cached ones call it): no running app needed
    np.testing.assert_array_equal(img, x)
    np.testing.assert_array_equal(lab, t)
    for digit in range(10):  # 0 too: a digit, not "no digit"
        want_x, want_t = _where(x, t, digit)
        img, lab = stats._arrays("any key", split, digit)
        np.testing.assert_array_equal(img, want_x)
        np.testing.assert_array_equal(lab, want_t)
        assert len(lab) == int(np.sum(t == digit)) and set(lab.tolist()) <= {digit}


def test_the_cached_statistics_are_the_loaded_splits(app_env):
    x, t = app_env["train"]
    # st.cache_data works outside a running app too (bare mode): called twice, the second answer comes from the cache
    for _ in range(2):
        assert stats.class_counts("k", "train").tolist() == [int(np.sum(t == d)) for d in range(10)]
        means = stats.mean_images("k", "train")
        for d in range(10):
            np.testing.assert_allclose(means[d], _where(x, t, d)[0].astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(stats.pixel_variance("k", "train", 3), _where(x, t, 3)[0].astype(np.float64).var(axis=0),
                                   rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(stats.pixel_variance("k", "train", None), x.astype(np.float64).var(axis=0),
                                   rtol=1e-4, atol=1e-3)
