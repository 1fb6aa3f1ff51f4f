"""Preprocessing: each kind's numbers, fitted on training pixels only, and the round trip through a model file."""
import numpy as np
import pytest

from engine.errors import ModelFormatError
from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import KINDS, Preprocess, fit
from engine.train import init_params
from tests.synth import synthetic_digits


@pytest.fixture(scope="module")
def digits():
    """(train, test) uint8 pixels (n, 784) of synthetic digits with a blank 3-pixel border, as MNIST has: constant pixels."""
    x, _ = synthetic_digits(700, seed=5)
    x[:, :3], x[:, -3:], x[:, :, :3], x[:, :, -3:] = 0, 0, 0, 0
    x = x.reshape(len(x), 784)
    return x[:600], x[600:]


@pytest.fixture(scope="module")
def fits(digits):
    """Every kind fitted once on the training pixels (whitening's eigendecomposition is the slow part)."""
    return {kind: fit(kind, digits[0]) for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_maps_pixels_to_float32_of_the_same_shape(kind, digits, fits):
    _, test = digits
    p = fits[kind]
    y = p.transform(test)
    assert y.shape == (100, 784) and y.dtype == np.float32
    np.testing.assert_array_equal(p.transform(test.reshape(100, 28, 28)), y)
    np.testing.assert_allclose(p.transform(test.astype(np.float64)), y, rtol=1e-6, atol=1e-5)  # any input dtype, same numbers


def test_raw_and_unit_are_the_pixels_and_the_books_normalize(digits):
    _, test = digits
    np.testing.assert_array_equal(fit("raw", test).transform(test), test.astype(np.float32))
    np.testing.assert_allclose(fit("unit", test).transform(test), test / 255.0, rtol=1e-6)


@pytest.mark.parametrize("kind", ["center", "standardize", "whiten"])
def test_statistics_come_from_the_training_images_only(kind, digits, fits):
    train, test = digits
    p = fits[kind]
    scale = 1.0 if kind == "standardize" else 1 / 255
    np.testing.assert_allclose(p.mean_, train.mean(axis=0) * scale, rtol=1e-4, atol=1e-6)
    before = {k: v.copy() for k, v in p.to_arrays().items()}
    p.transform(test)
    assert all(np.array_equal(v, p.to_arrays()[k]) for k, v in before.items())
    assert not np.allclose(test.mean(axis=0) * scale, p.mean_, atol=1e-3)  # a fit on the test images would differ


def test_center_subtracts_the_per_pixel_mean(digits):
    train, _ = digits
    y = fit("center", train).transform(train)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(y, train / 255.0 - (train / 255.0).mean(axis=0), atol=1e-5)


def test_standardize_gives_zero_mean_unit_std_and_leaves_constant_pixels_at_zero(digits):
    train, test = digits
    p = fit("standardize", train)
    y = p.transform(train).astype(np.float64)
    std = train.std(axis=0)
    varying = std > 1e-3 * std.max()
    assert varying.sum() == 22 * 22 and (~varying).sum() == 784 - 22 * 22  # the border is constant, the rest varies
    np.testing.assert_allclose(y[:, varying].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(y[:, varying].std(axis=0), 1, atol=1e-4)
    assert np.all(y[:, ~varying] == 0) and np.all(np.isfinite(p.transform(test)))


def test_global_standardize_uses_one_mean_and_std(digits):
    train, _ = digits
    p = fit("standardize", train, per_pixel=False)
    assert p.mean_.shape == () and p.std_.shape == ()
    y = p.transform(train).astype(np.float64)
    assert y.mean() == pytest.approx(0, abs=1e-4) and y.std() == pytest.approx(1, abs=1e-4)
    np.testing.assert_allclose(y, (train - train.mean()) / train.std(), rtol=1e-4, atol=1e-4)


def test_whiten_decorrelates_the_training_data_up_to_eps():
    rng = np.random.default_rng(0)
    # 20 shared factors make neighbouring "pixels" strongly correlated; the independent noise keeps the covariance full rank
    x = (rng.normal(size=(1600, 20)) @ rng.normal(0, 0.3, (20, 784)) + rng.normal(0, 0.1, (1600, 784))) * 255 + 128
    c = np.cov(x / 255, rowvar=False, bias=True)
    assert np.abs(c - np.diag(np.diag(c))).max() > 0.3 * np.diag(c).mean()  # strongly correlated before
    p = fit("whiten", x, eps=1e-4)
    Z = p.zca_.astype(np.float64)
    np.testing.assert_allclose(Z, Z.T, atol=1e-6)  # ZCA: symmetric, so the images keep their orientation
    cov = np.cov(p.transform(x).astype(np.float64), rowvar=False, bias=True)
    # ZCA with eps: Z = (C + eps I)^(-1/2), so cov(y) = Z C Z = I - eps (C + eps I)^(-1) = I - eps Z^2
    np.testing.assert_allclose(cov + p.eps * Z @ Z, np.eye(784), atol=1e-3)
    assert np.abs(cov - np.eye(784)).max() < 0.05  # eps is small against these variances: nearly the identity


@pytest.mark.parametrize("kind", KINDS)
def test_a_model_file_carries_its_fitted_preprocessing(kind, digits, fits, tmp_path):
    _, test = digits
    pre = fits[kind]
    model = MLP(init_params([784, 20, 10], activation="sigmoid", rng=np.random.default_rng(3)), preprocess=pre)
    loaded = load_model(save_model(model, tmp_path / f"m-{kind}.npz"))
    assert loaded.preprocess.kind == kind
    np.testing.assert_array_equal(loaded.preprocess.transform(test), pre.transform(test))
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))


def test_unfitted_and_damaged_preprocessing_fail_clearly(digits):
    with pytest.raises(ValueError, match="not fitted"):
        Preprocess("center").transform(digits[1])
    with pytest.raises(ModelFormatError, match="pre_mean array has shape"):
        Preprocess.from_card({"kind": "center"}, {"pre_mean": np.zeros(10, np.float32)})
    with pytest.raises(ModelFormatError, match="lacks its fitted pre_zca"):
        Preprocess.from_card({"kind": "whiten"}, {"pre_mean": np.zeros(784, np.float32)})


@pytest.mark.parametrize("eps", ["abc", "0.1", None, 0, -1, float("nan"), float("inf"), True, [0.1], pytest.param(10**400, id="10**400")])
def test_a_card_with_a_bad_eps_is_refused_with_one_clear_error(eps, fits):
    with pytest.raises(ModelFormatError, match=r"^The model card's preprocess\.eps is .+; set it to a positive number such as 0\.1\.$"):
        Preprocess.from_card({"kind": "whiten", "eps": eps}, fits["whiten"].to_arrays())


def test_a_card_with_a_bad_per_pixel_is_refused(fits):
    with pytest.raises(ModelFormatError, match=r"^The model card's preprocess\.per_pixel is 'no'; set it to true or false\.$"):
        Preprocess.from_card({"kind": "standardize", "per_pixel": "no"}, fits["standardize"].to_arrays())


def test_a_bad_eps_in_a_model_files_card_names_the_file(tmp_path, fits):
    model = MLP(init_params([784, 20, 10], activation="sigmoid", rng=np.random.default_rng(3)), preprocess=fits["whiten"])
    np.savez(tmp_path / "m.npz", **model.params, **fits["whiten"].to_arrays())  # a bare .npz: its card is the sidecar
    (tmp_path / "m.json").write_text('{"preprocess": {"kind": "whiten", "eps": "abc"}}')
    with pytest.raises(ModelFormatError, match=r"^m.npz: The model card's preprocess\.eps is 'abc'"):
        load_model(tmp_path / "m.npz")


@pytest.mark.parametrize("kind, key, value, words", [
    ("center", "pre_mean", 1e300, "pre_mean array has NaN or infinite values as float32"),  # finite only until the cast
    ("standardize", "pre_std", 1e-50, "pre_std array has zero or negative values"),  # 0 as float32: pixels / 0
    ("standardize", "pre_std", -1.0, "pre_std array has zero or negative values"),
    ("standardize", "pre_mean", np.nan, "pre_mean array has NaN or infinite values"),
    ("whiten", "pre_zca", 3e38, "overflows float32 once combined"),  # finite, but mean @ zca is not
])
def test_fitted_arrays_that_are_not_finite_as_float32_are_refused(fits, kind, key, value, words):
    arrays = {k: v.astype(np.float64) for k, v in fits[kind].to_arrays().items()}
    arrays[key] = np.full_like(arrays[key], value)
    with pytest.raises(ModelFormatError, match=words):
        Preprocess.from_card({"kind": kind}, arrays)


@pytest.mark.parametrize("kind", KINDS)
def test_a_fitted_preprocessing_counts_its_bytes(kind, fits):
    fitted = sum(v.nbytes for v in fits[kind].to_arrays().values())
    assert fits[kind].nbytes == 2 * fitted and (fitted == 0) == (kind in ("raw", "unit"))
