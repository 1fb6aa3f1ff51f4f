"""The fast inference paths compute what the plain ones do: one image per call, row blocks, the split first layer.

One image goes through vector products (np.dot) and a batch through matrix products (BLAS gemm), which sum in a
different order, so probabilities agree within float32 rounding, and the digits exactly. The tolerance, rtol 1e-4
and atol 1e-5, covers nets fed raw 0-255 pixels, whose logits run to the hundreds (1e-5 relative there); on the
book's unit-scaled input the two paths agree to about 1e-6.
"""
import numpy as np
import pytest

from engine import model as mlp
from engine.model import MLP, forward_block, forward_one, multiply_first
from engine.preprocess import fit
from tests.synth import synthetic_digits

TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def pixels():
    x, _ = synthetic_digits(300, seed=2)
    return x.reshape(300, 784)


def net(sizes, activation, seed=0):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32)
        params[f"b{i}"] = rng.normal(0, 0.1, b).astype(np.float32)
    return params


def plain_proba(model, x):
    """The textbook forward pass in float64 on the model's own preprocessing: the independent reference."""
    h = model.prepare(x).astype(np.float64)
    act = (lambda a: 1 / (1 + np.exp(-a))) if model.activation == "sigmoid" else (lambda a: np.maximum(a, 0))
    for i in range(1, model.n_layers + 1):
        h = h @ model.params[f"W{i}"] + model.params[f"b{i}"]
        h = act(h) if i < model.n_layers else h
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("kind", [None, "raw", "unit", "standardize", "whiten"])
def test_one_image_per_call_equals_the_batch(pixels, activation, kind):
    model = MLP(net([784, 50, 100, 10], activation), activation=activation, preprocess=fit(kind, pixels) if kind else None)
    batch_p, batch_y = model.predict_proba(pixels), model.predict(pixels)
    one_p = np.concatenate([model.predict_proba(pixels[i:i + 1]) for i in range(len(pixels))])
    one_y = np.concatenate([model.predict(pixels[i:i + 1]) for i in range(len(pixels))])
    np.testing.assert_allclose(one_p, batch_p, **TOL)
    np.testing.assert_array_equal(one_y, batch_y)
    np.testing.assert_allclose(batch_p, plain_proba(model, pixels), rtol=1e-4, atol=1e-5)
    assert one_p.dtype == np.float32 and one_y.dtype == np.intp


def test_one_image_shapes_and_types(pixels):
    model = MLP(net([784, 50, 100, 10], "sigmoid"), preprocess=fit("unit", pixels))
    ref = model.predict_proba(pixels[:5])[3]
    for x in (pixels[3:4], pixels[3:4].reshape(1, 28, 28), pixels[3:4].reshape(1, 1, 28, 28), pixels[3:4].astype(np.float64),
              pixels[3:4].tolist()):
        p, y = model.predict_proba(x), model.predict(x)
        assert p.shape == (1, 10) and p.dtype == np.float32 and y.shape == (1,) and y.dtype == np.intp
        np.testing.assert_allclose(p[0], ref, **TOL)
        assert p.sum() == pytest.approx(1, abs=1e-6) and y[0] == ref.argmax()
    assert model.predict(pixels[:0]).shape == (0,) and model.predict_proba(pixels[:0]).shape == (0, 10)


@pytest.mark.parametrize("batch_size", [1, 2, 7, 63, 64, 256, 257, 1000])
def test_any_batch_size_gives_the_same_answers(pixels, batch_size):
    model = MLP(net([784, 50, 100, 10], "sigmoid"), preprocess=fit("unit", pixels))
    np.testing.assert_allclose(model.predict_proba(pixels, batch_size=batch_size), model.predict_proba(pixels, batch_size=300), **TOL)
    np.testing.assert_array_equal(model.predict(pixels, batch_size=batch_size), model.predict(pixels, batch_size=300))


def test_row_blocks_do_not_change_the_answers(pixels, monkeypatch):
    model = MLP(net([784, 50, 100, 10], "sigmoid"), preprocess=fit("unit", pixels))
    whole = model.predict_proba(pixels, batch_size=300)
    monkeypatch.setattr(mlp, "BLOCK", 1000)  # one block of 300 rows instead of 256 + 44
    np.testing.assert_allclose(model.predict_proba(pixels, batch_size=300), whole, **TOL)


@pytest.mark.parametrize("width", [10, 16, 50, 100, 512, 513])
def test_the_split_first_layer_equals_one_product(width):
    rng = np.random.default_rng(width)
    x, W = rng.random((100, 784), dtype=np.float32), rng.normal(size=(784, width)).astype(np.float32)
    y = multiply_first(x, W)
    assert y.shape == (100, width) and y.dtype == np.float32 and y.flags.c_contiguous
    np.testing.assert_allclose(y, x.astype(np.float64) @ W, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(multiply_first(x[:5], W), y[:5], rtol=1e-5, atol=1e-4)  # below SPLIT_ROWS: one product


def test_forward_one_and_forward_block_agree_for_deep_and_shallow_nets(pixels):
    for sizes in ([784, 10], [784, 30, 10], [784, 64, 48, 20, 10]):
        model = MLP(net(sizes, "relu"), activation="relu", preprocess=fit("unit", pixels))
        layers, p, act = model._inference("own")
        block = forward_block(pixels[:20], layers, act=act, preprocess=p)
        one = np.stack([forward_one(row, layers, act=act, preprocess=p) for row in pixels[:20]])
        np.testing.assert_allclose(one, block, rtol=1e-5, atol=1e-5)


def test_the_one_image_path_keeps_the_caller_s_array_intact(pixels):
    model = MLP(net([784, 50, 100, 10], "sigmoid"))  # no preprocessing: a float32 image goes in as it is
    x = pixels[:1].astype(np.float32) / 255
    before = x.copy()
    model.predict_proba(x)
    model.predict(x)
    np.testing.assert_array_equal(x, before)
