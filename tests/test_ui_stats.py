"""ui.stats' plain helpers: percent() never prints a false 0% or 100%, ink() counts what the dataset page says."""
import numpy as np
import pytest

from ui.stats import ink, percent


@pytest.mark.parametrize(("p", "digits", "text"), [
    (0, 1, "0.0%"), (1, 1, "100.0%"), (0.5, 1, "50.0%"), (0.0123, 1, "1.2%"), (0.0005, 1, "0.1%"),
    (0.0004, 1, "< 0.1%"), (1e-9, 1, "< 0.1%"), (np.float32(3e-5), 2, "< 0.01%"), (3e-5, 1, "< 0.1%"),
    (0.9994, 1, "99.9%"), (0.9996, 1, "> 99.9%"), (0.99996, 2, "> 99.99%"), (np.float32(0.9999), 2, "99.99%"),
    (0.004, 0, "< 1%"), (0.996, 0, "> 99%"), (0.97123, 2, "97.12%"),
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
