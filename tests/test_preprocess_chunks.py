"""engine.preprocess fitted on more rows than one CHUNK: the sums carried across blocks give NumPy's whole-array answers."""
import numpy as np
import pytest

from engine.preprocess import CHUNK, Preprocess, fit


@pytest.fixture(scope="module")
def pixels():
    """(2 CHUNK + 500, 784) uint8: a left-to-right ramp of brightness plus noise, the border always 0 (a constant pixel)."""
    rng = np.random.default_rng(5)
    n = 2 * CHUNK + 500
    x = rng.integers(0, 60, (n, 28, 28)) + np.linspace(0, 180, 28)[None, None, :].astype(int)
    x[:, 0, :] = 0
    return x.astype(np.uint8).reshape(n, 784)


def same_after_saving(p, some):
    """p rebuilt from its card and arrays, as a model file loads it, transforms some pixels to the very same numbers."""
    q = Preprocess.from_card(p.to_card(), p.to_arrays())
    np.testing.assert_array_equal(q.transform(some), p.transform(some))


def test_raw_and_unit_scale_and_center_and_standardize_match_numpy(pixels):
    x = pixels.astype(np.float64)
    some = pixels[:50]
    np.testing.assert_array_equal(fit("raw", pixels).transform(some), some.astype(np.float32))
    np.testing.assert_allclose(fit("unit", pixels).transform(some), some / 255, rtol=1e-6)
    np.testing.assert_allclose(fit("center", pixels).transform(some), (some - x.mean(axis=0)) / 255, atol=1e-5)
    std = x.std(axis=0)
    std = np.where(std < 1e-3 * std.max(), 1.0, std)  # the always-0 border divides by 1
    per_pixel = fit("standardize", pixels)
    np.testing.assert_allclose(per_pixel.transform(some), (some - x.mean(axis=0)) / std, atol=1e-4)
    whole = fit("standardize", pixels, per_pixel=False)  # one mean and one std for every pixel
    np.testing.assert_allclose(whole.transform(some), (some - x.mean()) / x.std(), atol=1e-4)
    assert np.ndim(whole.mean_) == 0 and np.ndim(whole.std_) == 0
    for p in (fit("center", pixels), per_pixel, whole):
        same_after_saving(p, some)


def test_whitening_matches_numpy_zca(pixels):
    x = pixels.astype(np.float64) / 255
    mean = x.mean(axis=0)
    s, U = np.linalg.eigh((x - mean).T @ (x - mean) / len(x))
    Z = U @ np.diag(1 / np.sqrt(np.clip(s, 0, None) + 0.1)) @ U.T
    p = fit("whiten", pixels)
    np.testing.assert_allclose(p.transform(pixels[:50]), (x[:50] - mean) @ Z, atol=2e-4)
    same_after_saving(p, pixels[:50])


@pytest.mark.parametrize("kind", ["raw", "unit", "center", "standardize"])
def test_a_batch_of_512_rows_or_more_gives_the_small_batches_float32_numbers(kind, pixels):
    p = fit(kind, pixels[:1000])
    big = pixels[1000:1600]  # 600 rows: past the 512 where transform takes its one-pass route for one scale
    in_pieces = np.vstack([p.transform(big[i:i + 100]) for i in range(0, 600, 100)])
    for x in (big, big.astype(np.float64)):  # uint8 as stored, or floats: float32 out either way
        y = p.transform(x)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, in_pieces, rtol=1e-6, atol=1e-6)
