"""Preprocessing: each kind's numbers, fitted on training pixels only, and the round trip through a model file."""
import warnings

import numpy as np
import pytest

from engine.errors import ModelFormatError
from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import DESCRIPTIONS, KINDS, Preprocess, fit
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


@pytest.mark.parametrize("kind", ["raw", "unit"])
def test_raw_and_unit_learn_nothing_from_the_training_pixels(kind, digits):
    p = fit(kind, digits[0])
    assert p.mean_ is None and p.std_ is None and p.zca_ is None
    assert p.to_arrays() == {} and p.nbytes == 0  # nothing to store in a model file


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


@pytest.mark.parametrize("kind", KINDS)
def test_transform_is_the_documented_formula_of_its_scale_and_fitted_arrays(kind, digits, fits):
    # y = ((x * scale) - mean) / std [@ zca]: explain.input_gradient chains saliency back to the pixels through scale and std
    _, test = digits
    p = Preprocess(kind, **{k[4:]: v for k, v in fits[kind].to_arrays().items()})  # pre_mean -> mean=...
    scale = 1.0 if kind in ("raw", "standardize") else 1 / 255  # raw and z-scores work on 0-255, the rest on pixels / 255
    assert float(p.scale) == pytest.approx(scale, rel=1e-6)
    y = test * scale
    for key, step in (("mean_", np.subtract), ("std_", np.divide), ("zca_", np.matmul)):
        if getattr(p, key) is not None:
            y = step(y, getattr(p, key).astype(np.float64))
    np.testing.assert_allclose(p.transform(test), y, rtol=1e-5, atol=1e-4)


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


def test_standardize_divides_by_each_pixels_std_and_by_1_where_it_is_nearly_constant():
    x = np.zeros((100, 784))
    x[::2, 0] = 255  # std 127.5, the largest
    x[0, 1] = 1  # nearly constant: std 0.0995, under 1e-3 of 127.5, so divided by 1, not blown up 10 times
    x[::2, 2] = 1  # std 0.5: small, but a real spread, kept
    x[:, 3] = 0.3  # constant; E[x^2] - E[x]^2 of these floats rounds to just below 0, which must not give NaN
    for scale in (1.0, 1e-3):  # 1e-3: the largest std is under 1, the limit is still 1e-3 of it
        xs = x * scale
        std = xs.std(axis=0)
        std = np.where(std < 1e-3 * std.max(), 1.0, std)
        np.testing.assert_allclose(fit("standardize", xs).transform(xs), (xs - xs.mean(axis=0)) / std, atol=1e-5)


def test_stored_statistics_are_in_pixels_for_standardize_and_in_0_1_for_center(digits):
    # the units a model file's pre_mean and pre_std are written in: another scale would misread every saved model
    train, _ = digits
    st, ce = fit("standardize", train), fit("center", train)
    np.testing.assert_allclose(st.mean_, train.mean(axis=0), rtol=1e-5, atol=1e-4)
    varying = train.std(axis=0) > 1
    np.testing.assert_allclose(st.std_[varying], train.std(axis=0)[varying], rtol=1e-5)
    np.testing.assert_allclose(ce.mean_, train.mean(axis=0) / 255, rtol=1e-5, atol=1e-7)


def test_an_unknown_kind_is_refused_with_the_choices():
    with pytest.raises(ValueError) as e:
        Preprocess("blur")
    assert str(e.value) == "Unknown preprocessing 'blur': choose one of raw, unit, center, standardize, whiten."


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


@pytest.mark.parametrize("kind, per_pixel", [("center", True), ("standardize", True), ("standardize", False)])
def test_a_card_and_its_arrays_rebuild_the_same_preprocessing(kind, per_pixel, digits):
    train, test = digits
    p = fit(kind, train, per_pixel=per_pixel)
    card = p.to_card()
    assert card == {"kind": kind, "per_pixel": per_pixel, "eps": 0.1, "description": DESCRIPTIONS[kind]}
    q = Preprocess.from_card(card, p.to_arrays())
    assert q.kind == kind and q.per_pixel is per_pixel
    np.testing.assert_array_equal(q.transform(test), p.transform(test))


def test_a_whitening_cards_eps_comes_back_from_the_card(fits):
    w = fits["whiten"]
    p = Preprocess("whiten", eps=0.05, mean=w.mean_, zca=w.zca_)  # fitted arrays borrowed: eps only shapes the fit
    card = p.to_card()
    assert card == {"kind": "whiten", "per_pixel": True, "eps": 0.05, "description": DESCRIPTIONS["whiten"]}
    q = Preprocess.from_card(card, p.to_arrays())
    assert q.eps == 0.05 and type(q.eps) is float


def test_a_card_without_options_gets_the_defaults(fits):
    # per-pixel statistics and eps 0.1, the defaults Preprocess itself has, for cards written before the options existed
    q = Preprocess.from_card({"kind": "whiten"}, fits["whiten"].to_arrays())
    assert q.per_pixel is True and q.eps == 0.1
    assert Preprocess.from_card({"kind": "standardize"}, fits["standardize"].to_arrays()).per_pixel is True


@pytest.mark.parametrize("card", [None, "whiten", ["whiten"], {"kind": "blur"}, {}])
def test_a_card_that_names_no_known_kind_is_refused_with_the_choices(card):
    with pytest.raises(ModelFormatError) as e:
        Preprocess.from_card(card, {})
    kind = card.get("kind") if isinstance(card, dict) else None  # a card that is not a dict names no kind
    assert str(e.value) == f"The model card names preprocessing {kind!r}; expected one of raw, unit, center, standardize, whiten."


def test_one_mean_for_every_pixel_is_allowed_only_for_global_standardize(digits):
    whole = fit("standardize", digits[0], per_pixel=False)
    q = Preprocess.from_card(whole.to_card(), whole.to_arrays())
    np.testing.assert_array_equal(q.transform(digits[1]), whole.transform(digits[1]))
    with pytest.raises(ModelFormatError, match=r"^The model's pre_mean array has shape \(\), expected \(784,\): the file is corrupt\.$"):
        Preprocess.from_card({"kind": "center"}, {"pre_mean": np.asarray(whole.mean_)})  # a 0-d array


@pytest.mark.parametrize("value, named", [(np.array(["a"] * 784), "<U1"), (np.zeros(784, bool), "bool"),
                                          ([0.0] * 784, "list"), ("0" * 784, "str")])
def test_fitted_arrays_that_are_not_numbers_are_refused_naming_what_they_are(value, named):
    with pytest.raises(ModelFormatError) as e:
        Preprocess.from_card({"kind": "center"}, {"pre_mean": value})
    assert str(e.value) == f"The model's pre_mean array is {named}, not numbers: the file is corrupt."


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
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a hostile file is refused quietly: the overflow it causes is expected, not warned about
        with pytest.raises(ModelFormatError, match=words):
            Preprocess.from_card({"kind": kind}, arrays)


def test_a_zero_std_is_refused_with_the_whole_reason(fits):
    arrays = {**fits["standardize"].to_arrays(), "pre_std": np.zeros(784, np.float32)}
    with pytest.raises(ModelFormatError) as e:
        Preprocess.from_card({"kind": "standardize"}, arrays)
    assert str(e.value) == "The model's pre_std array has zero or negative values, which divide by zero: the file is corrupt."


@pytest.mark.parametrize("kind", KINDS)
def test_a_fitted_preprocessing_counts_its_bytes(kind, fits):
    fitted = sum(v.nbytes for v in fits[kind].to_arrays().values())
    assert fits[kind].nbytes == 2 * fitted and (fitted == 0) == (kind in ("raw", "unit"))
