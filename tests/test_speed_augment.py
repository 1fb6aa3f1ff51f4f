"""The grouped, buffer-reusing augmentation gives exactly what the previous implementation gave, from the same random stream."""
import numpy as np
import pytest

from engine import augment as aug
from engine.augment import PAD, SIDE, Augmenter, _tables, augment, draw, transforms
from tests.synth import synthetic_digits


def reference_augment(x, *, rng, max_shift=2, max_degrees=10):
    """The implementation before issue 17, verbatim: one random transform per image, corners gathered per image."""
    x = np.asarray(x).reshape(len(x), SIDE * SIDE)
    if x.dtype != np.uint8:
        x = np.clip(np.rint(x), 0, 255).astype(np.uint8)
    index, frac_r, frac_c = _tables(int(max_shift), int(max_degrees))
    n = len(x)
    pick = rng.integers(0, len(index), n)
    out = np.empty((n, SIDE * SIDE), np.float32)
    for s in range(0, n, 512):
        m = min(512, n - s)
        pad = np.zeros((m, PAD, PAD), np.uint8)
        pad[:, 1:SIDE + 1, 1:SIDE + 1] = x[s:s + m].reshape(m, SIDE, SIDE)
        quad = np.zeros((m * PAD * PAD + PAD + 1, 4), np.uint8)
        flat = pad.reshape(-1)
        quad[:len(flat), 0], quad[:len(flat) - 1, 1] = flat, flat[1:]
        quad[:len(flat) - PAD, 2], quad[:len(flat) - PAD - 1, 3] = flat[PAD:], flat[PAD + 1:]
        k = pick[s:s + m]
        corners = np.take(quad.view(np.uint32).ravel(), index[k] + (np.arange(m, dtype=np.int32) * PAD * PAD)[:, None])
        c = corners.view(np.uint8).reshape(m, SIDE * SIDE, 4)
        fr, fc = frac_r[k], frac_c[k]
        top = np.subtract(c[..., 1], c[..., 0], dtype=np.float32)
        top *= fc
        top += c[..., 0]
        bottom = np.subtract(c[..., 3], c[..., 2], dtype=np.float32)
        bottom *= fc
        bottom += c[..., 2]
        bottom -= top
        bottom *= fr
        np.add(top, bottom, out=out[s:s + m])
    return out


def per_pixel(image, degrees, dr, dc):
    """One image by the textbook formula, a Python loop over pixels in float64: rotate about the centre, shift, bilinear."""
    a, centre = np.deg2rad(degrees), (SIDE - 1) / 2
    img = np.pad(image.reshape(SIDE, SIDE).astype(np.float64), 1)  # outside the frame is background
    out = np.zeros((SIDE, SIDE))
    for r in range(SIDE):
        for c in range(SIDE):
            y, x = r - centre - dr, c - centre - dc
            sr = np.clip(np.cos(a) * y - np.sin(a) * x + centre + 1, 0, SIDE + 1)
            sc = np.clip(np.sin(a) * y + np.cos(a) * x + centre + 1, 0, SIDE + 1)
            r0, c0 = int(sr), int(sc)
            fr, fc = sr - r0, sc - c0
            at = lambda i, j: img[i, j] if i <= SIDE + 1 and j <= SIDE + 1 else 0.0  # noqa: E731
            top = at(r0, c0) + fc * (at(r0, c0 + 1) - at(r0, c0))
            bottom = at(r0 + 1, c0) + fc * (at(r0 + 1, c0 + 1) - at(r0 + 1, c0))
            out[r, c] = top + fr * (bottom - top)
    return out.ravel()


@pytest.fixture(scope="module")
def digits():
    x, _ = synthetic_digits(300, seed=4)
    return x.reshape(300, 784)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 300])
@pytest.mark.parametrize("shift, degrees", [(1, 10), (2, 10), (0, 0), (4, 45), (0, 7), (3, 0)])
def test_augment_equals_the_previous_implementation_bit_for_bit(digits, n, shift, degrees):
    new = augment(digits[:n], rng=np.random.default_rng(n + degrees), max_shift=shift, max_degrees=degrees)
    old = reference_augment(digits[:n], rng=np.random.default_rng(n + degrees), max_shift=shift, max_degrees=degrees)
    assert new.dtype == np.float32 and new.shape == (n, 784)
    np.testing.assert_array_equal(new, old)


def test_the_random_stream_is_unchanged(digits):
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    augment(digits, rng=a, max_shift=1, max_degrees=10)
    reference_augment(digits, rng=b, max_shift=1, max_degrees=10)
    assert a.integers(0, 2**62) == b.integers(0, 2**62)  # both drew exactly n integers in [0, 189)


def test_each_image_matches_the_per_pixel_formula_for_its_drawn_transform(digits):
    x = digits[:6]
    picks = draw(len(x), rng=np.random.default_rng(1), max_shift=2, max_degrees=10)
    degrees, dr, dc = transforms(2, 10)
    out = augment(x, rng=np.random.default_rng(1), max_shift=2, max_degrees=10)
    for img, src, k in zip(out, x, picks, strict=True):
        np.testing.assert_allclose(img, per_pixel(src, degrees[k], dr[k], dc[k]), atol=2e-4)  # float32 rounding of 0-255


def test_transforms_decode_the_tables_order():
    degrees, dr, dc = transforms(1, 10)
    assert len(degrees) == 21 * 9 == len(_tables(1, 10)[0])
    assert (degrees[0], dr[0], dc[0]) == (-10, -1, -1) and (degrees[-1], dr[-1], dc[-1]) == (10, 1, 1)
    assert (degrees[94], dr[94], dc[94]) == (0, 0, 0)  # the middle transform leaves the digit alone
    every = {(d, r, c) for d in range(-10, 11) for r in (-1, 0, 1) for c in (-1, 0, 1)}
    assert set(zip(degrees.tolist(), dr.tolist(), dc.tolist(), strict=True)) == every


def test_augmenter_reuses_one_buffer_and_where_maps_each_image(digits, monkeypatch):
    monkeypatch.setattr(aug, "CHUNK", 16)  # several steps per transform group even with 300 images
    a = Augmenter(digits, max_shift=1, max_degrees=10)
    first, where = a(np.random.default_rng(3))
    kept = first.copy()
    np.testing.assert_array_equal(kept[where], reference_augment(digits, rng=np.random.default_rng(3), max_shift=1, max_degrees=10))
    assert sorted(where) == list(range(300))
    second, where2 = a(np.random.default_rng(4))
    assert second is first, "the same (n, 784) buffer every epoch: no new 170 MB array per epoch on the full set"
    assert not np.array_equal(second[where2], kept[where])
    np.testing.assert_array_equal(second[where2], reference_augment(digits, rng=np.random.default_rng(4), max_shift=1, max_degrees=10))


def test_float_pixels_are_rounded_like_before(digits):
    x = digits[:40].astype(np.float64) + 0.3
    np.testing.assert_array_equal(augment(x, rng=np.random.default_rng(0), max_shift=1, max_degrees=5),
                                  reference_augment(x, rng=np.random.default_rng(0), max_shift=1, max_degrees=5))
