"""MLP's answers, sizes and bytes, and fold()'s layers, against a plain float64 forward pass and fold()'s derivation."""
import numpy as np
import pytest

from engine import fold as fold_module
from engine.fold import INPLACE, fold, fold_factors, pixel_scale
from engine.model import BLOCK, MLP, forward_block, forward_one, multiply_first
from engine.preprocess import KINDS, Preprocess, fit
from tests import reference
from tests.synth import synthetic_digits

WIDTHS = {0: [], 1: [50], 2: [50, 30], 3: [40, 33, 20]}  # hidden widths by depth; 50 and 33 split in multiply_first


@pytest.fixture(scope="module")
def digits():
    x, t = synthetic_digits(600, seed=5)
    return x.reshape(600, 784), t


@pytest.fixture(scope="module")
def fitted(digits):
    return {kind: fit(kind, digits[0][:400]) for kind in KINDS}


def make_params(hidden, *, seed=0, first=1.0):
    """Random float32 weights 784-hidden-10; first scales W1 (raw pixels need small first weights)."""
    rng = np.random.default_rng(seed)
    sizes = [784, *hidden, 10]
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = (rng.normal(0, 2 / np.sqrt(a), (a, b)) * (first if i == 1 else 1.0)).astype(np.float32)
        params[f"b{i}"] = rng.normal(0, 0.5, b).astype(np.float32)
    return params


def book_sigmoid(a):
    return 1 / (1 + np.exp(-a))


def plain_input(x, p):
    """Pixels (n, ...) through preprocessing p in float64, as rows (n, 784)."""
    return reference.plain_input(np.asarray(x).reshape(len(x), -1), p)


def plain_logits(params, activation, h):
    """The textbook forward pass in float64 on prepared input h."""
    L = sum(1 for k in params if k.startswith("W"))
    for i in range(1, L + 1):
        h = h @ params[f"W{i}"].astype(np.float64) + params[f"b{i}"].astype(np.float64)
        if i < L:
            h = book_sigmoid(h) if activation == "sigmoid" else np.maximum(h, 0)
    return h


def plain_softmax(a):
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def plain_proba(params, activation, x, p):
    return plain_softmax(plain_logits(params, activation, plain_input(x, p)))


def model_for(kind, fitted, activation="sigmoid", hidden=(50, 30), seed=0):
    p = fitted[kind] if kind is not None else None
    first = 0.004 if kind in ("raw", None) else 1.0  # raw 0-255 pixels: keep the first layer's sums near 1
    return MLP(make_params(list(hidden), seed=seed, first=first), activation=activation, preprocess=p)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
@pytest.mark.parametrize("n", [1, 2, 63, 64, 300, 600])
def test_probabilities_and_digits_match_a_float64_forward_pass(digits, fitted, activation, depth, n):
    """One image, small batches and several ragged BLOCKs, for 0-3 hidden layers of both activations."""
    x = digits[0][:n]
    m = model_for("unit", fitted, activation, WIDTHS[depth], seed=depth)
    want = plain_proba(m.params, activation, x, fitted["unit"])
    got = m.predict_proba(x)
    assert got.shape == (n, 10) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1, atol=1e-5)
    # digits: only where the runner-up is not within float32 rounding of the winner
    top2 = np.sort(want, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    digits_ = m.predict(x)
    assert digits_.shape == (n,) and digits_.dtype == np.intp
    assert clear.sum() >= n * 0.9
    np.testing.assert_array_equal(digits_[clear], want.argmax(axis=1)[clear])


@pytest.mark.parametrize("batch_size", [1, 7, 100, BLOCK, 1000])
def test_any_batch_size_gives_the_forward_pass(digits, fitted, batch_size):
    """Blocks of 1 row (the one-image path inside the loop), ragged blocks and blocks longer than BLOCK."""
    x = digits[0][:270]
    m = model_for("unit", fitted, "relu", (50, 30))
    want = plain_proba(m.params, "relu", x, fitted["unit"])
    np.testing.assert_allclose(m.predict_proba(x, batch_size=batch_size), want, rtol=1e-4, atol=1e-6)
    clear = np.diff(np.sort(want, axis=1)[:, -2:], axis=1)[:, 0] > 1e-4
    np.testing.assert_array_equal(m.predict(x, batch_size=batch_size)[clear], want.argmax(axis=1)[clear])


@pytest.mark.parametrize("kind", [None, *KINDS])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_each_preprocessing_runs_before_the_net(digits, fitted, kind, activation):
    """raw and unit folded into W1, center/standardize/whiten run per batch: all give the plain pass's answer."""
    x = digits[0][400:]  # images the preprocessing was not fitted on
    m = model_for(kind, fitted, activation)
    p = fitted[kind] if kind is not None else None
    want = plain_proba(m.params, activation, x, p)
    np.testing.assert_allclose(m.predict_proba(x), want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(m.predict_proba(x[3:4])[0], want[3], rtol=1e-4, atol=1e-5)
    clear = np.diff(np.sort(want, axis=1)[:, -2:], axis=1)[:, 0] > 1e-4
    np.testing.assert_array_equal(m.predict(x)[clear], want.argmax(axis=1)[clear])
    assert m.predict(x[5:6])[0] == want[5].argmax() or not clear[5]


def test_preprocess_none_own_or_another_is_what_runs(digits, fitted):
    """'own' uses the model's, None the pixels as given, a Preprocess that one; the folded copies never mix."""
    x = digits[0][400:500]
    m = model_for("unit", fitted, "sigmoid")
    for arg, p in [("own", fitted["unit"]), (None, None), (fitted["center"], fitted["center"]), ("own", fitted["unit"]),
                   (fitted["raw"], None), (fitted["whiten"], fitted["whiten"])]:
        want = plain_proba(m.params, "sigmoid", x, p)
        np.testing.assert_allclose(m.predict_proba(x, preprocess=arg), want, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(m.predict_proba(x[7:8], preprocess=arg)[0], want[7], rtol=1e-4, atol=1e-5)
        clear = np.diff(np.sort(want, axis=1)[:, -2:], axis=1)[:, 0] > 1e-4
        np.testing.assert_array_equal(m.predict(x, preprocess=arg)[clear], want.argmax(axis=1)[clear])
        if clear[7]:
            assert m.predict(x[7:8], preprocess=arg)[0] == want[7].argmax()
        np.testing.assert_allclose(m.prepare(x, preprocess=arg), plain_input(x, p), rtol=1e-5, atol=1e-4)
    # a model without preprocessing takes its input as given under 'own'
    bare = MLP(m.params, activation="sigmoid")
    np.testing.assert_allclose(bare.predict_proba(x / 255), plain_proba(m.params, "sigmoid", x / 255, None), rtol=1e-4, atol=1e-6)
    assert bare.prepare(x).dtype == np.float32


def test_prepare_gives_float32_rows(digits, fitted):
    """prepare() flattens images to rows and returns float32 in every case."""
    x = digits[0][:4].reshape(4, 28, 28)
    m = model_for("unit", fitted)
    for arg in ["own", None, fitted["center"]]:
        h = m.prepare(x, preprocess=arg)
        assert h.shape == (4, 784) and h.dtype == np.float32


@pytest.mark.parametrize("n", [0, 1, 3, 300])
def test_images_as_rows_squares_or_with_a_channel_give_the_same_answers(digits, fitted, n):
    """x as (n, 784), (n, 28, 28) or (n, 1, 28, 28), n = 0 included."""
    rows = digits[0][:n]
    m = model_for("unit", fitted, "relu")
    want = plain_proba(m.params, "relu", rows, fitted["unit"]) if n else np.empty((0, 10))
    for x in (rows, rows.reshape(n, 28, 28), rows.reshape(n, 1, 28, 28)):
        proba = m.predict_proba(x)
        assert proba.shape == (n, 10)
        np.testing.assert_allclose(proba, want, rtol=1e-4, atol=1e-6)
        d = m.predict(x)
        assert d.shape == (n,)
        np.testing.assert_array_equal(d, np.asarray(want).argmax(axis=1) if n else np.empty(0, int))


def test_large_logits_give_finite_probabilities(digits, fitted):
    """Logits in the hundreds overflow exp in float32 unless the maximum is taken off first."""
    m = model_for("unit", fitted, "relu", (50,))
    m.params["W2"] *= 60
    m.params["b2"] *= 60
    x = digits[0][:40]
    logits = plain_logits(m.params, "relu", plain_input(x, fitted["unit"]))
    assert np.abs(logits).max() > 200
    want = plain_softmax(logits)
    for xs in (x, x[:1]):
        got = m.predict_proba(xs)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want[:len(xs)], atol=1e-5)


def test_score_is_the_share_of_right_labels(digits, fitted):
    """score() counts labels equal to the plain pass's digit; 7 wrong labels of 300 give 293/300."""
    x = digits[0][:300]
    m = model_for("unit", fitted, "sigmoid")
    want = plain_proba(m.params, "sigmoid", x, fitted["unit"])
    top2 = np.sort(want, axis=1)[:, -2:]
    assert np.all(top2[:, 1] - top2[:, 0] > 1e-4)  # no near ties in this sample
    t = want.argmax(axis=1)
    t[[0, 10, 100, 256, 257, 290, 299]] = (t[[0, 10, 100, 256, 257, 290, 299]] + 1) % 10
    assert m.score(x, t) == pytest.approx(293 / 300)
    assert m.score(x, t, batch_size=64) == pytest.approx(293 / 300)
    assert m.score(x[:1], t[:1]) == 0.0 and m.score(x[1:2], t[1:2]) == 1.0
    assert isinstance(m.score(x, t), float)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("depth", [0, 1, 3])
def test_forward_traces_and_scores_are_the_plain_pass(digits, fitted, activation, depth):
    """forward() keeps a[l] and z[l] of every layer, softmax last; scores() is a_L."""
    m = model_for("unit", fitted, activation, WIDTHS[depth])
    x = m.prepare(digits[0][:20])
    h = x.astype(np.float64)
    a, z = m.forward(x)
    L = depth + 1
    assert len(a) == len(z) == L
    for i in range(1, L + 1):
        h = h @ m.params[f"W{i}"].astype(np.float64) + m.params[f"b{i}"]
        np.testing.assert_allclose(a[i - 1], h, rtol=1e-4, atol=1e-5)
        h = (book_sigmoid(h) if activation == "sigmoid" else np.maximum(h, 0)) if i < L else plain_softmax(h)
        np.testing.assert_allclose(z[i - 1], h, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m.scores(x), a[-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.scores(x), plain_logits(m.params, activation, x.astype(np.float64)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("hidden", [[], [50], [50, 100], [7, 8, 9]])
def test_sizes_and_layer_count(hidden):
    """sizes runs from 784 to 10 through the hidden widths; n_layers counts the weight matrices."""
    m = MLP(make_params(hidden))
    assert m.sizes == [784, *hidden, 10]
    assert m.n_layers == len(hidden) + 1


def test_params_become_contiguous_float32_and_the_card_is_a_copy():
    """float64 or Fortran-ordered weights are stored as C-contiguous float32; the card dict is the model's own."""
    params = {k: np.asfortranarray(v.astype(np.float64)) if v.ndim == 2 else v.astype(np.float64)
              for k, v in make_params([5]).items()}
    card = {"name": "x"}
    m = MLP(params, activation="relu", card=card)
    for k, v in m.params.items():
        assert v.dtype == np.float32 and v.flags.c_contiguous
        np.testing.assert_array_equal(v, params[k].astype(np.float32))
    card["name"] = "changed"
    assert m.card == {"name": "x"}
    assert MLP(params).card == {} and MLP(params, card=None).card == {}
    assert m.activation == "relu" and m.preprocess is None
    assert MLP(params).activation == "sigmoid"


def test_predictions_leave_weights_and_inputs_unchanged(digits, fitted):
    """The in-place fast path works on fresh arrays: params, preprocessing and pixels stay as they were."""
    m = model_for("center", fitted, "sigmoid")
    before = {k: v.copy() for k, v in m.params.items()}
    x = digits[0][:300].astype(np.float32)
    x0 = x.copy()
    m.predict_proba(x)
    m.predict(x[:1])
    m.predict_proba(x[:1])
    for k, v in before.items():
        np.testing.assert_array_equal(m.params[k], v)
    np.testing.assert_array_equal(x, x0)


def hand_nbytes(hidden, activation, scale, pre_bytes):
    """Bytes by hand: params, plus a copy of each W whose factor is not 1 and of each b that sigmoid shifts."""
    sizes = [784, *hidden, 10]
    L = len(sizes) - 1
    total = 0
    for i in range(L):
        w, b = sizes[i] * sizes[i + 1] * 4, sizes[i + 1] * 4
        total += w + b
        deep_sigmoid = activation == "sigmoid" and L > 1  # every W is halved and every b shifted
        total += w * (deep_sigmoid or (i == 0 and scale != 1)) + b * deep_sigmoid
    return total + pre_bytes


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("hidden", [[], [50], [20, 30, 40]])
@pytest.mark.parametrize("kind", [None, *KINDS])
def test_nbytes_counts_params_folded_copies_and_preprocessing(fitted, activation, hidden, kind):
    """The folded copies count only where fold() copies; preprocessing counts its arrays twice (fitted and folded)."""
    p = fitted[kind] if kind is not None else None
    m = MLP(make_params(hidden), activation=activation, preprocess=p)
    pre = {None: 0, "raw": 0, "unit": 0, "center": 784 * 4, "standardize": 2 * 784 * 4, "whiten": 784 * 4 + 784 * 784 * 4}[kind]
    scale = 1 / 255 if kind == "unit" else 1
    assert m.nbytes == hand_nbytes(hidden, activation, scale, 2 * pre)
    # and that is what fold() really copies
    layers, _ = fold(m.params, activation=activation, preprocess=p)
    copies = sum(arr.nbytes for i, (W, b) in enumerate(layers, start=1) for arr, key in ((W, f"W{i}"), (b, f"b{i}"))
                 if not np.shares_memory(arr, m.params[key]))
    params = sum(v.nbytes for v in m.params.values())
    assert m.nbytes == params + copies + 2 * pre


def test_the_folded_layers_are_built_once_per_pixel_scale(digits, fitted):
    """The own 'unit' scale and the unscaled input each get one folded copy, kept and reused."""
    m = model_for("unit", fitted, "sigmoid")
    x = digits[0][:10]
    m.predict(x)
    m.predict(x, preprocess=None)
    m.predict(x, preprocess=fitted["center"])
    assert sorted(m._folded) == [pytest.approx(1 / 255), 1.0]
    kept = {k: v for k, v in m._folded.items()}
    m.predict_proba(x)
    m.predict_proba(x, preprocess=None)
    assert all(m._folded[k] is v for k, v in kept.items())


# ---- engine/fold.py ----

def test_pixel_scale_of_each_kind(fitted):
    """None and raw fold 1.0, unit its 1/255 as a Python float; the fitted kinds must run on each batch."""
    assert pixel_scale(None) == 1.0 and type(pixel_scale(None)) is float
    assert pixel_scale(fitted["raw"]) == 1.0
    s = pixel_scale(fitted["unit"])
    assert type(s) is float and s == pytest.approx(1 / 255, rel=1e-6)
    assert s == float(np.float32(1 / 255))  # the float32 scale transform() multiplies by, so folding changes nothing
    for kind in ("center", "standardize", "whiten"):
        assert pixel_scale(fitted[kind]) is None
    assert pixel_scale(Preprocess("unit")) == s


def derived_factors(L, activation, scale):
    """fold()'s docstring: sigmoid halves a hidden layer's a (into its W) and the next layer's z (into its W)."""
    out = []
    for i in range(1, L + 1):
        w = scale if i == 1 else 1.0
        if activation == "sigmoid":
            if i < L:
                w /= 2  # this layer feeds tanh(a / 2)
            if i > 1:
                w /= 2  # it reads z = u / 2 + 1 / 2
        out.append((w, activation == "sigmoid" and L > 1))
    return out


@pytest.mark.parametrize("L", [1, 2, 3, 4])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("scale", [1.0, 1 / 255, 0.125])
def test_fold_factors_follow_the_derivation(L, activation, scale):
    """(factor on W_i, b_i shifted) for every layer."""
    got = fold_factors(L, activation=activation, scale=scale)
    want = derived_factors(L, activation, scale)
    assert len(got) == L
    for (gw, gs), (ww, ws) in zip(got, want, strict=True):
        assert gw == pytest.approx(ww, rel=1e-15) and bool(gs) is ws


def test_fold_factors_by_hand():
    """The book's 3-layer sigmoid net on unit pixels: W1 x 0.5/255, W2 x 0.25, W3 x 0.5, all biases shifted."""
    assert fold_factors(3, activation="sigmoid", scale=1 / 255) == [(0.5 / 255, True), (0.25, True), (0.5, True)]
    assert fold_factors(1, activation="sigmoid", scale=1.0) == [(1.0, False)]
    assert fold_factors(2, activation="relu", scale=1 / 255) == [(1 / 255, False), (1.0, False)]


@pytest.mark.parametrize("hidden", [[], [20], [20, 30], [9, 17, 33]])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("kind", [None, "raw", "unit", "center"])
def test_fold_layers_follow_the_derivation(fitted, hidden, activation, kind):
    """W_i times its factor, b_i shifted by half W_i's column sums (from layer 2) and halved (hidden layers), float32."""
    params = make_params(hidden, seed=3)
    p = fitted[kind] if kind is not None else None
    layers, left = fold(params, activation=activation, preprocess=p)
    assert left is (p if kind == "center" else None)
    L = len(hidden) + 1
    scale = 1 / 255 if kind == "unit" else 1.0
    assert len(layers) == L
    for i, (W, b) in enumerate(layers, start=1):
        W0, b0 = params[f"W{i}"], params[f"b{i}"].astype(np.float64)
        w, shifted = derived_factors(L, activation, scale)[i - 1]
        assert W.dtype == b.dtype == np.float32 and W.shape == W0.shape and b.shape == b0.shape
        np.testing.assert_allclose(W, W0.astype(np.float64) * w, rtol=1e-6)
        want_b = b0.copy()
        if shifted and i > 1:
            want_b = want_b + 0.5 * W0.astype(np.float64).sum(axis=0)
        if shifted and i < L:
            want_b = want_b / 2
        np.testing.assert_allclose(b, want_b, rtol=1e-6, atol=1e-7)
        if w == 1:  # an unchanged layer is shared, not copied
            assert W is W0
        else:
            assert not np.shares_memory(W, W0)
        if not shifted:
            assert b is params[f"b{i}"]


@pytest.mark.parametrize("hidden", [[], [20], [20, 30], [9, 17, 33]])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_folded_layers_give_the_same_logits(digits, fitted, hidden, activation):
    """tanh (sigmoid) or max(0, .) (relu) in place through fold()'s layers equals the book's pass on unit pixels."""
    params = make_params(hidden, seed=4)
    x = digits[0][:30]
    layers, left = fold(params, activation=activation, preprocess=fitted["unit"])
    assert left is None
    act = INPLACE[activation]
    h = x.astype(np.float32)  # raw pixels: the 1/255 is in W1
    for j, (W, b) in enumerate(layers):
        if j:
            h = act(h, out=h)
        h = h @ W + b
    want = plain_logits(params, activation, plain_input(x, fitted["unit"]))
    np.testing.assert_allclose(h, want, rtol=1e-4, atol=1e-4)


def test_the_in_place_activations(digits):
    """INPLACE's relu is max(0, h) written over h; sigmoid's is tanh."""
    h = np.array([-2.0, -0.0, 0.0, 0.5, 3.0], np.float32)
    out = INPLACE["relu"](h, out=h)
    assert out is h
    np.testing.assert_array_equal(h, [0, 0, 0, 0.5, 3.0])
    assert INPLACE["sigmoid"] is np.tanh
    assert set(fold_module.INPLACE) == {"sigmoid", "relu"}


def test_a_bias_shift_sums_in_float64():
    """Column sums 1e8 + 1 - 1e8 are 1 in float64, 0 in float32: the shift uses the float64 sum."""
    params = {"W1": np.zeros((784, 3), np.float32), "b1": np.zeros(3, np.float32),
              "W2": np.zeros((3, 10), np.float32), "b2": np.zeros(10, np.float32)}
    params["W2"][:, 0] = [1e8, 1, -1e8]
    layers, _ = fold(params, activation="sigmoid", preprocess=None)
    assert layers[1][1][0] == np.float32(0.5)  # b2 + colsum(W2) / 2, the last layer not halved
    assert np.all(layers[1][1][1:] == 0)


# ---- the fast-path helpers of engine/model.py ----

@pytest.mark.parametrize("width", [1, 15, 16, 17, 31, 32, 50, 100])
@pytest.mark.parametrize("rows", [2, 63, 64, 65, 200])
def test_multiply_first_equals_one_product(width, rows):
    """The split first layer gives x @ W1 in float32 for every width and row count around the thresholds."""
    rng = np.random.default_rng(width * 1000 + rows)
    x = rng.normal(0, 1, (rows, 784)).astype(np.float32)
    W = rng.normal(0, 1, (784, width)).astype(np.float32)
    got = multiply_first(x, W)
    assert got.dtype == np.float32 and got.shape == (rows, width)
    np.testing.assert_allclose(got, x.astype(np.float64) @ W.astype(np.float64), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("kind", ["unit", "standardize"])
def test_forward_block_and_forward_one_give_the_plain_logits(digits, fitted, activation, kind):
    """Through fold()'s layers with the preprocessing it leaves: one row, a batch, and one image as a vector."""
    params = make_params([50, 30], seed=6)
    layers, left = fold(params, activation=activation, preprocess=fitted[kind])
    x = digits[0][:80]
    want = plain_logits(params, activation, plain_input(x, fitted[kind]))
    act = INPLACE[activation]
    for rows in (x[:1], x[:2], x):
        got = forward_block(rows, layers, act=act, preprocess=left)
        assert got.shape == (len(rows), 10) and got.dtype == np.float32
        np.testing.assert_allclose(got, want[:len(rows)], rtol=1e-4, atol=1e-4)
    one = forward_one(x[9], layers, act=act, preprocess=left)
    assert one.shape == (10,) and one.dtype == np.float32
    np.testing.assert_allclose(one, want[9], rtol=1e-4, atol=1e-4)
