"""engine.explore against plain NumPy written out the long way, on synthetic and on hand-made data."""
import numpy as np
import pytest

from engine import explore
from engine.data import load_mnist
from tests.synth import synthetic_digits


@pytest.fixture(scope="module")
def digits():
    return synthetic_digits(500, seed=3)


def test_class_counts_match_a_python_count(digits):
    _, t = digits
    assert explore.class_counts(t).tolist() == [int(sum(1 for v in t if v == d)) for d in range(10)]
    assert explore.class_counts(np.array([9, 9, 1])).tolist() == [0, 1, 0, 0, 0, 0, 0, 0, 0, 2]


def test_select_and_page_of():
    t = np.array([3, 1, 3, 3, 0, 3, 3])
    idx = explore.select(t, 3)
    assert idx.tolist() == [0, 2, 3, 5, 6]
    assert explore.select(t, None).tolist() == list(range(7))
    assert explore.select(t, 7).tolist() == []
    page, n = explore.page_of(idx, 2, per_page=2)
    assert (page.tolist(), n) == ([3, 5], 3)
    assert explore.page_of(idx, 3, per_page=2)[0].tolist() == [6]  # the last page is short
    assert explore.page_of(idx, 99, per_page=2)[0].tolist() == [6]  # clamped, not empty
    assert explore.page_of(idx, -4, per_page=2)[0].tolist() == [0, 2]
    assert explore.page_of(np.array([], int), 1, per_page=24)[1] == 1  # an empty filter still has one (empty) page


def test_sample_is_a_seeded_subset_without_repeats():
    idx = np.arange(100, 200)
    a = explore.sample(idx, 24, seed=5)
    assert len(set(a.tolist())) == 24 and set(a.tolist()) <= set(idx.tolist())
    assert a.tolist() == explore.sample(idx, 24, seed=5).tolist()
    assert a.tolist() != explore.sample(idx, 24, seed=6).tolist()
    assert sorted(explore.sample(idx[:5], 24, seed=1).tolist()) == idx[:5].tolist()


def test_mean_images_are_per_digit_averages(digits):
    img, t = digits
    means = explore.mean_images(img, t)
    assert means.shape == (10, 28, 28) and means.dtype == np.float32
    for d in range(10):
        np.testing.assert_allclose(means[d], img[t == d].astype(np.float64).mean(axis=0), rtol=1e-6, atol=1e-4)


def test_mean_image_of_an_absent_digit_is_nan():
    img = np.full((2, 28, 28), 10, np.uint8)
    means = explore.mean_images(img, np.array([1, 1]))
    assert np.all(means[1] == 10) and np.all(np.isnan(means[0]))


def test_pixel_variance_matches_numpy_var(digits):
    img, _ = digits
    np.testing.assert_allclose(explore.pixel_variance(img), img.astype(np.float64).var(axis=0), rtol=1e-5, atol=1e-3)
    # more than one chunk, and a constant image has zero variance everywhere
    big = np.repeat(img[:3], 5000, axis=0)
    np.testing.assert_allclose(explore.pixel_variance(big), img[:3].astype(np.float64).var(axis=0), rtol=1e-5, atol=1e-3)
    assert np.all(explore.pixel_variance(np.full((4, 28, 28), 200, np.uint8)) == 0)


def test_pixel_histogram_counts_every_pixel_once(digits):
    img, _ = digits
    edges, counts = explore.pixel_histogram(img, bins=32)
    assert edges.tolist() == list(range(0, 257, 8))
    ref, _ = np.histogram(img, bins=np.arange(0, 257, 8))
    assert counts.tolist() == ref.tolist()
    assert counts.sum() == img.size
    _, c256 = explore.pixel_histogram(np.array([[0, 0, 255, 7]], np.uint8), bins=256)
    assert (c256[0], c256[7], c256[255], c256.sum()) == (2, 1, 1, 4)
    with pytest.raises(ValueError, match="divide 256"):
        explore.pixel_histogram(img, bins=30)


def test_pca_2d_finds_the_direction_of_largest_spread():
    # points along one line in pixel space, plus small noise on another: axis 1 must carry almost all variance
    rng = np.random.default_rng(0)
    a, b = np.zeros(784), np.zeros(784)
    a[100], b[500] = 1.0, 1.0
    x = 100 + np.outer(rng.uniform(-100, 100, 400), a) + np.outer(rng.normal(0, 5, 400), b)
    img = x.reshape(400, 28, 28).astype(np.uint8)
    coords, idx, explained = explore.pca_2d(img, n=300, seed=1)
    assert coords.shape == (300, 2) and len(set(idx.tolist())) == 300
    assert explained[0] > 0.9 and explained[1] < 0.1
    # coordinate 1 is the centred value of pixel 100 (in units of 1/255), up to the fixed sign
    xs = img.reshape(400, -1)[idx, 100] / 255
    np.testing.assert_allclose(coords[:, 0], xs - xs.mean(), atol=0.02)


def test_pca_2d_is_deterministic_for_a_seed(digits):
    img, _ = digits
    c1, i1, _ = explore.pca_2d(img, n=200, seed=4)
    c2, i2, _ = explore.pca_2d(img, n=200, seed=4)
    assert i1.tolist() == i2.tolist() and np.array_equal(c1, c2)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("one_hot_label", [True, False])
def test_describe_load_matches_what_load_mnist_returns(synth_mnist, normalize, flatten, one_hot_label):
    folder, arrays = synth_mnist
    img, t = arrays["train"]
    (x_train, t_train), _ = load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label,
                                       data_dir=folder, download=False)
    view = explore.describe_load(img, t, normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)
    assert view["x"] == {"shape": x_train.shape, "dtype": str(x_train.dtype),
                         "min": x_train.min().item(), "max": x_train.max().item()}
    assert view["t"]["shape"] == t_train.shape and view["t"]["dtype"] == str(t_train.dtype)
    assert (view["t"]["min"], view["t"]["max"]) == (t_train.min().item(), t_train.max().item())
    np.testing.assert_array_equal(view["x0"], x_train[0])
    np.testing.assert_array_equal(view["t0"], t_train[0])
    start, values = view["x0_peek"]
    assert values[0] != 0 and np.all(x_train[0].reshape(-1)[:start] == 0)



def test_class_counts_read_labels_stored_as_floats():
    assert explore.class_counts(np.array([1.0, 1.0, 3.0]), k=4).tolist() == [0, 2, 0, 1]


def test_mean_images_of_fewer_classes_and_no_warning_for_an_absent_one():
    import warnings
    img = np.stack([np.full((28, 28), v, np.uint8) for v in (10, 30, 200)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an absent digit is NaN quietly, not a RuntimeWarning on every page view
        means = explore.mean_images(img, np.array([0, 0, 2]), k=4)
    assert means.shape == (4, 28, 28)
    assert np.all(means[0] == 20) and np.all(np.isnan(means[1])) and np.all(means[2] == 200) and np.all(np.isnan(means[3]))


def test_pixel_variance_is_float32():
    assert explore.pixel_variance(np.zeros((2, 28, 28), np.uint8)).dtype == np.float32


def test_pixel_histogram_by_default_counts_each_value_and_one_bin_counts_all():
    img = np.array([[0, 3, 3, 254]], np.uint8)  # no 255 anywhere: every count still has 256 places
    edges, counts = explore.pixel_histogram(img)
    assert edges.tolist() == list(range(257)) and counts.dtype == np.int64
    assert counts.tolist() == [1 if v in (0, 254) else 2 if v == 3 else 0 for v in range(256)]
    edges, counts = explore.pixel_histogram(img, bins=1)
    assert edges.tolist() == [0, 256] and counts.tolist() == [4]
    _, c = explore.pixel_histogram(img.astype(np.float64), bins=2)  # pixels given as floats 0-255
    assert c.tolist() == [3, 1]
    with pytest.raises(ValueError, match="divide 256"):
        explore.pixel_histogram(img, bins=0)


def test_pixel_histogram_adds_up_over_several_chunks():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (explore.CHUNK + 37, 28, 28)).astype(np.uint8)
    _, counts = explore.pixel_histogram(img, bins=64)
    assert counts.tolist() == np.bincount(img.ravel() // 4, minlength=64).tolist()  # all at once: no chunks


def test_pca_2d_matches_an_eigendecomposition_of_the_centred_sample():
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):  # 784 x 784 work: one thread is fastest on a busy 2-core machine
        check_pca_2d_against_eigh()


def check_pca_2d_against_eigh():
    """pca_2d on 3,010 images of uneven per-pixel spread against NumPy's eigh of the same centred sample."""
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(100, 40, (3010, 28, 28)) * np.linspace(0.2, 1.5, 784).reshape(28, 28), 0, 255).astype(np.uint8)
    coords, idx, explained = explore.pca_2d(img)  # the default sample: 3,000 images, seed 0
    assert idx.tolist() == np.sort(np.random.default_rng(0).permutation(3010)[:3000]).tolist()
    assert coords.dtype == explained.dtype == np.float32 and explained.shape == (2,)
    x = img[idx].reshape(3000, -1).astype(np.float64) / 255
    x -= x.mean(axis=0)
    var, vecs = np.linalg.eigh(x.T @ x / 3000)  # ascending
    top = vecs[:, [-1, -2]]
    top = top * np.sign(top[np.abs(top).argmax(axis=0), [0, 1]])  # largest loading positive
    np.testing.assert_allclose(coords, x @ top, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(explained, var[[-1, -2]] / var.sum(), rtol=1e-5)


def test_peek_starts_at_the_first_ink_and_shows_six_values():
    row = np.zeros(784, np.float32)
    row[100:110] = np.arange(1, 11)
    start, values = explore._peek(row)
    assert start == 100 and values.tolist() == [1, 2, 3, 4, 5, 6]
    start, values = explore._peek(np.zeros(784))
    assert start == 0 and values.tolist() == [0] * 6  # a blank image: its first six pixels
