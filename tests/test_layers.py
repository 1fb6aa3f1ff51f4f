"""Backprop layers: the book's gradient check (numerical vs backprop) and each layer against its plain formula."""
import numpy as np
import pytest

from engine.functions import cross_entropy_error, softmax
from engine.layers import Affine, Network, Relu, Sigmoid, SoftmaxWithLoss
from engine.train import init_params

SIZES = [12, 7, 5, 4]  # small, so the float64 numerical gradient is quick


def reference_loss(params, x, t, activation):
    """The net's mean cross-entropy in float64 with plain formulas: the independent reference."""
    act = (lambda a: 1 / (1 + np.exp(-a))) if activation == "sigmoid" else (lambda a: np.maximum(a, 0))
    h = x.astype(np.float64)
    L = len(params) // 2
    for i in range(1, L + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            h = act(h)
    h = h - h.max(axis=1, keepdims=True)
    logp = h - np.log(np.exp(h).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(t)), t].mean()


def numerical_gradient(params, x, t, activation, *, h=1e-5):
    """Central differences of reference_loss for every weight, in float64 (the book's numerical_gradient)."""
    p64 = {k: v.astype(np.float64) for k, v in params.items()}
    grads = {}
    for k, v in p64.items():
        g = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            old = v[i]
            v[i] = old + h
            up = reference_loss(p64, x, t, activation)
            v[i] = old - h
            down = reference_loss(p64, x, t, activation)
            v[i] = old
            g[i] = (up - down) / (2 * h)
        grads[k] = g
    return grads


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_gradient_check_backprop_matches_numerical(activation):
    rng = np.random.default_rng(1)
    params = init_params(SIZES, activation=activation, rng=rng)
    for k in params:
        if k.startswith("b"):
            params[k] = rng.normal(0, 0.1, params[k].shape).astype(np.float32)  # non-zero biases, so their gradients vary
    x = rng.normal(0, 1, (9, SIZES[0])).astype(np.float32)
    t = rng.integers(0, SIZES[-1], 9)
    net = Network(params, activation=activation)
    loss = net.gradient(x, t)
    assert loss == pytest.approx(reference_loss(params, x, t, activation), rel=1e-5)
    numeric = numerical_gradient(params, x, t, activation)
    for k, g in numeric.items():
        assert net.grads[k].dtype == np.float32
        assert np.abs(g).max() > 1e-4, f"{k}: the check needs gradients that are not all ~0"
        np.testing.assert_allclose(net.grads[k], g, rtol=1e-3, atol=1e-6, err_msg=k)


def test_second_step_uses_fresh_gradients_not_stale_buffers():
    rng = np.random.default_rng(2)
    params = init_params(SIZES, activation="sigmoid", rng=rng)
    net = Network(params, activation="sigmoid")
    xa, xb = rng.normal(size=(6, 12)).astype(np.float32), rng.normal(size=(6, 12)).astype(np.float32)
    ta, tb = rng.integers(0, 4, 6), rng.integers(0, 4, 6)
    net.gradient(xa, ta)
    net.gradient(xb, tb)
    fresh = Network(params, activation="sigmoid")
    fresh.gradient(xb, tb)
    for k in params:
        np.testing.assert_array_equal(net.grads[k], fresh.grads[k])


def test_params_are_views_of_one_flat_buffer():
    net = Network(init_params([784, 50, 100, 10], activation="sigmoid", rng=np.random.default_rng(0)))
    assert net.flat.size == 784 * 50 + 50 + 50 * 100 + 100 + 100 * 10 + 10
    net.flat[:] = 0.5
    assert all(np.all(v == 0.5) for v in net.params.values())


def test_sigmoid_and_relu_forward_and_backward_match_formulas():
    x = np.linspace(-30, 30, 61, dtype=np.float32).reshape(1, -1)
    s = Sigmoid()
    y = s.forward(x.copy())
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x.astype(np.float64))), atol=1e-6)
    np.testing.assert_allclose(s.backward(np.ones_like(x)), y * (1 - y), atol=1e-7)
    r = Relu()
    np.testing.assert_array_equal(r.forward(x.copy()), np.maximum(x, 0))
    np.testing.assert_array_equal(r.backward(np.full_like(x, 2.0)), np.where(x > 0, 2.0, 0.0))


def test_softmax_with_loss_matches_functions_and_survives_far_apart_rows():
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [-300.0, -290.0, -310.0], [50.0, 0.0, 0.0]], np.float32)
    t = np.array([2, 0, 1, 1])
    layer = SoftmaxWithLoss()
    loss = layer.forward(a.copy(), t)
    # the third row is 340 below the fourth: a single batch-wide shift would underflow it to 0/0
    logits = a.astype(np.float64)
    expected = np.mean([np.log(np.exp(r - r.max()).sum()) - (r[k] - r.max()) for r, k in zip(logits, t, strict=True)])
    assert loss == pytest.approx(expected, rel=1e-5)
    assert np.isfinite(loss)
    y = softmax(a.astype(np.float64))
    assert cross_entropy_error(y[:2], t[:2]) == pytest.approx(SoftmaxWithLoss().forward(a[:2].copy(), t[:2]), rel=1e-5)
    dx = layer.backward()
    onehot = np.eye(3)[t]
    np.testing.assert_allclose(dx, (y - onehot) / 4, atol=1e-6)
    assert layer.correct == 3  # rows 0-2 put the max on the label (row 1 ties; argmax takes the first, 0); row 3 does not


def test_batches_of_changing_size_and_large_scores_give_the_formulas_answers():
    """A full batch, then a partial one, then a full one again: every reused buffer follows the batch's size; scores
    near 60 would overflow float32's exp without the shift by the max."""
    rng = np.random.default_rng(11)
    params = init_params([784, 12, 10], activation="relu", rng=rng)
    net = Network(params, activation="relu")
    W1, b1, W2, b2 = (params[k].astype(np.float64) for k in ("W1", "b1", "W2", "b2"))
    for n in (32, 7, 32, 1):
        x, t = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
        h = np.maximum(x @ W1 + b1, 0)
        a = h @ W2 + b2
        y = np.exp(a - a.max(axis=1, keepdims=True))
        y /= y.sum(axis=1, keepdims=True)
        assert net.gradient(x, t) == pytest.approx(-np.log(y[np.arange(n), t]).mean(), rel=1e-4), n
        d = (y - np.eye(10)[t]) / n
        np.testing.assert_allclose(net.grads["b2"], d.sum(axis=0), atol=1e-6)
        np.testing.assert_allclose(net.grads["W2"], h.T @ d, atol=1e-5)
        dh = (d @ W2.T) * (h > 0)
        np.testing.assert_allclose(net.grads["b1"], dh.sum(axis=0), atol=1e-6)
        np.testing.assert_allclose(net.grads["W1"], x.T.astype(np.float64) @ dh, atol=1e-5)
    layer = SoftmaxWithLoss()
    big = np.array([[60.0, 58.0, 50.0], [59.0, 61.0, 40.0]], np.float32)
    want = big - big.max(axis=1, keepdims=True)
    want = -(want[[0, 1], [0, 1]] - np.log(np.exp(want).sum(axis=1))).mean()
    assert layer.forward(big.copy(), np.array([0, 1])) == pytest.approx(want, rel=1e-5)


def test_affine_forward_and_backward_match_formulas_and_reuse_their_buffers():
    rng = np.random.default_rng(5)
    W, b = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    dW, db = np.zeros_like(W), np.zeros_like(b)
    layer = Affine(W, b, dW, db)  # need_dx defaults to True, as in the book's Affine
    outs, dxs = [], []
    for _ in range(2):  # two batches of the same size: the second writes into the first's arrays
        x, dout = rng.normal(size=(5, 6)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
        out = layer.forward(x)
        np.testing.assert_allclose(out, x.astype(np.float64) @ W + b, rtol=1e-5, atol=1e-5)
        dx = layer.backward(dout)
        np.testing.assert_allclose(dW, x.T.astype(np.float64) @ dout, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(db, dout.sum(axis=0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(dx, dout.astype(np.float64) @ W.T, rtol=1e-5, atol=1e-5)
        outs.append(out)
        dxs.append(dx)
    assert outs[0] is outs[1] and dxs[0] is dxs[1]
    assert out.dtype == dx.dtype == np.float32


def test_the_net_stays_float32_skips_the_pixel_gradient_and_reuses_its_scores_buffer():
    rng = np.random.default_rng(6)
    params = {k: v.astype(np.float64) for k, v in init_params(SIZES, activation="relu", rng=rng).items()}  # e.g. the book's
    net = Network(params, activation="relu")
    assert net.flat.dtype == net.grad_flat.dtype == np.float32
    # the first layer's dx would be a gradient for the pixels, which nothing reads: a (n, 784) matmul saved per batch
    assert [layer.need_dx for layer in net.layers if isinstance(layer, Affine)] == [False, True, True]
    x1, x2 = rng.normal(size=(8, SIZES[0])).astype(np.float32), rng.normal(size=(8, SIZES[0])).astype(np.float32)
    s1 = net.scores(x1)
    np.testing.assert_allclose(s1, reference_scores(params, x1), rtol=1e-4, atol=1e-5)
    assert s1.dtype == np.float32
    s2 = net.scores(x2)
    assert s2 is s1  # "the returned array is a reused buffer": no new (n, k) array per batch
    np.testing.assert_allclose(s2, reference_scores(params, x2), rtol=1e-4, atol=1e-5)


def reference_scores(params, x):
    """Logits (n, k) of a ReLU net in float64 with plain formulas."""
    h = x.astype(np.float64)
    L = len(params) // 2
    for i in range(1, L + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            h = np.maximum(h, 0)
    return h


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_a_second_batch_of_the_same_size_reuses_every_array_the_layers_keep(activation):
    """The module's "reused buffers": after one step, the next step of the same size allocates no array a layer keeps."""
    rng = np.random.default_rng(9)
    net = Network(init_params(SIZES, activation=activation, rng=rng), activation=activation)
    layers = [*net.layers, net.last]
    net.gradient(rng.normal(size=(6, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], 6))
    kept = [dict(vars(layer)) for layer in layers]  # holds the first step's arrays, so a new one cannot take their place
    x, t = rng.normal(size=(6, SIZES[0])).astype(np.float32), rng.integers(0, SIZES[-1], 6)
    net.gradient(x, t)
    for before, layer in zip(kept, layers, strict=True):
        for name, value in vars(layer).items():
            if isinstance(value, np.ndarray) and value is not x and value is not t:  # the batch itself is the caller's
                assert value is before[name], f"{type(layer).__name__}.{name}"
