"""engine.augment's documented edges: its defaults, float pixels outside 0-255, and the memory one Augmenter holds."""
import numpy as np

from engine.augment import Augmenter, augment
from tests.synth import synthetic_digits


def digits(n, seed=5):
    x, _ = synthetic_digits(n, seed=seed)
    return x.reshape(n, 784)


def test_the_defaults_are_two_pixels_and_ten_degrees():
    x = digits(40)
    np.testing.assert_array_equal(augment(x, rng=np.random.default_rng(3)),
                                  augment(x, rng=np.random.default_rng(3), max_shift=2, max_degrees=10))
    a, b = Augmenter(x), Augmenter(x, max_shift=2, max_degrees=10)
    np.testing.assert_array_equal(*(aug(np.random.default_rng(4))[0].copy() for aug in (a, b)))


def test_float_pixels_are_rounded_to_the_nearest_and_clipped_to_0_255():
    x = digits(30).astype(np.float64)
    x[:, ::7] += 0.6  # rounds up, where truncation would keep the value
    x[:, 3::11] = -40.0  # below black
    x[:, 5::13] = 300.7  # above white
    rounded = np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)  # no value here is an exact .5
    for shift, degrees in ((0, 0), (2, 10)):
        np.testing.assert_array_equal(augment(x, rng=np.random.default_rng(1), max_shift=shift, max_degrees=degrees),
                                      augment(rounded, rng=np.random.default_rng(1), max_shift=shift, max_degrees=degrees))
    np.testing.assert_array_equal(augment(x, rng=np.random.default_rng(0), max_shift=0, max_degrees=0), rounded)


def test_an_augmenter_holds_one_byte_per_padded_pixel_and_one_float_per_result_pixel():
    a = Augmenter(digits(50))
    assert a.padded.nbytes == 50 * 31 * 31 and a.images.nbytes == 50 * 784 * 4  # the 53 MB + 172 MB of the docstring, per 55,000
