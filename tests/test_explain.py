"""engine.explain: saliency against finite differences, contributions add up to the logit, neighbours find themselves."""
import numpy as np
import pytest

from engine.explain import (
    NeighbourIndex,
    confidence,
    contributions,
    embed,
    most_active,
    saliency,
    softmax_breakdown,
    templates,
    top_two,
    trace,
)
from engine.functions import relu, sigmoid
from engine.model import MLP
from engine.preprocess import Preprocess
from engine.train import init_params
from tests.reference import plain_input

RNG = np.random.default_rng(7)
PIXELS = (RNG.random((400, 784)) ** 3 * 255).astype(np.float32)  # mostly dark, some bright: image-like statistics


def make_net(sizes, *, activation, kind, seed=0):
    """A random MLP of the given widths with a Preprocess of this kind fitted on PIXELS."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), 1):
        params[f"W{i}"] = rng.normal(0, 1.5 / np.sqrt(m), (m, n)).astype(np.float32)
        params[f"b{i}"] = rng.normal(0, 0.1, n).astype(np.float32)
    pre = None if kind is None else Preprocess(kind, eps=1.0).fit(PIXELS)
    return MLP(params, activation=activation, preprocess=pre)


NETS = {
    "book sigmoid 50-100, unit": dict(sizes=[784, 50, 100, 10], activation="sigmoid", kind="unit"),
    "1 hidden relu 32, standardize": dict(sizes=[784, 32, 10], activation="relu", kind="standardize"),
    "3 hidden sigmoid 40-30-20, whiten": dict(sizes=[784, 40, 30, 20, 10], activation="sigmoid", kind="whiten"),
    "2 hidden relu, no preprocessing": dict(sizes=[784, 24, 16, 10], activation="relu", kind=None),
    "no hidden layer, center": dict(sizes=[784, 10], activation="sigmoid", kind="center"),
}


@pytest.fixture(params=list(NETS), scope="module")
def net(request):
    return make_net(**NETS[request.param])


def logits64(model, pixels):
    """An independent float64 forward pass from pixels (784,) to logits (10,), written out from the definitions."""
    y = plain_input(pixels, model.preprocess)
    act = {"sigmoid": sigmoid, "relu": relu}[model.activation]
    L = model.n_layers
    for i in range(1, L + 1):
        y = y @ model.params[f"W{i}"].astype(np.float64) + model.params[f"b{i}"].astype(np.float64)
        if i < L:
            y = act(y)
    return y


def test_saliency_equals_the_numerical_gradient(net):
    x = PIXELS[3].astype(np.float64)
    c = int(np.argmax(logits64(net, x)))
    s = saliency(net, x, c)
    assert s.shape == (28, 28)
    h = 1e-3  # gray levels; central differences in float64
    for p in RNG.choice(784, 12, replace=False):
        up, down = x.copy(), x.copy()
        up[p] += h
        down[p] -= h
        numeric = (logits64(net, up)[c] - logits64(net, down)[c]) / (2 * h)
        assert s.ravel()[p] == pytest.approx(numeric, rel=1e-3, abs=1e-4 * np.abs(s).max())


def test_saliency_is_not_trivially_zero(net):
    s = saliency(net, PIXELS[5], 2)
    assert np.count_nonzero(s) > 100


def test_contributions_add_up_to_the_logit_minus_bias(net):
    tr = trace(net, PIXELS[1])
    for c in (0, 4, 9):
        con = contributions(net, tr, c)
        assert con.terms.sum() == pytest.approx(con.logit - con.bias, abs=1e-4)
        assert con.logit == pytest.approx(logits64(net, PIXELS[1])[c], abs=1e-3)
        assert np.all(np.diff(con.terms[con.positive]) <= 0) and np.all(con.terms[con.positive] > 0)
        assert np.all(np.diff(con.terms[con.negative]) >= 0) and np.all(con.terms[con.negative] < 0)
        assert len(con.positive) + len(con.negative) == np.count_nonzero(con.terms)


def test_trace_has_every_layer(net):
    tr = trace(net, PIXELS[0].reshape(28, 28))
    assert [len(a) for a in tr.a] == net.sizes[1:] == [len(z) for z in tr.z]
    np.testing.assert_allclose(tr.a[-1], logits64(net, PIXELS[0]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(tr.z[-1], net.predict_proba(PIXELS[:1])[0], rtol=1e-5, atol=1e-7)


def test_softmax_breakdown_sums_to_one_and_matches_the_model(net):
    tr = trace(net, PIXELS[2])
    sm = softmax_breakdown(tr.a[-1])
    assert sm["proba"].sum() == pytest.approx(1.0, abs=1e-12)
    assert sm["shifted"].max() == 0 and sm["exp"].max() == 1.0
    assert sm["sum"] == pytest.approx(np.exp(sm["logits"] - sm["logits"].max()).sum())
    np.testing.assert_allclose(sm["proba"], net.predict_proba(PIXELS[2:3])[0], rtol=1e-4, atol=1e-6)


def test_softmax_breakdown_survives_huge_logits():
    sm = softmax_breakdown([1000.0, 999.0, -1000.0])
    assert np.all(np.isfinite(sm["proba"])) and sm["proba"][0] == pytest.approx(1 / (1 + np.exp(-1)))


def test_top_two_and_margin():
    t = top_two([0.05, 0.6, 0.0, 0.3, 0.05])
    assert (t.first, t.second) == (1, 3) and t.margin == pytest.approx(0.3)


def test_templates_and_most_active_units(net):
    tr = trace(net, PIXELS[4])
    units = most_active(tr.z[0], k=5)
    assert list(tr.z[0][units]) == sorted(tr.z[0], reverse=True)[:5]
    t = templates(net, units)
    assert t.shape == (5, 28, 28)
    np.testing.assert_array_equal(t[2].ravel(), net.params["W1"][:, units[2]])


def test_embed_matches_the_forward_pass_across_batches(net):
    e = embed(net, PIXELS[:250], batch_size=64)  # 250 is not a multiple of 64
    a, z = net.forward(net.prepare(PIXELS[:250]))
    want = z[-2] if net.n_layers > 1 else net.prepare(PIXELS[:250])
    assert e.dtype == np.float32 and e.shape == want.shape
    np.testing.assert_allclose(e, want, rtol=1e-5, atol=1e-6)


def test_nearest_neighbours_agree_with_brute_force_and_find_themselves(net):
    E = embed(net, PIXELS)
    index = NeighbourIndex(E)
    for i in (0, 123, 399):
        idx, dist = index.query(E[i], k=8)
        assert idx[0] == i and dist[0] == 0.0
        brute = np.linalg.norm(E.astype(np.float64) - E[i].astype(np.float64), axis=1)
        np.testing.assert_allclose(dist, np.sort(brute)[:8], rtol=1e-9, atol=1e-12)
        assert np.all(np.diff(dist) >= 0)


def test_neighbour_query_with_k_larger_than_the_set():
    idx, dist = NeighbourIndex(np.eye(3, dtype=np.float32)).query(np.array([1, 0, 0]), k=8)
    assert list(idx) == [0, 1, 2] and dist[0] == 0 and dist[1] == pytest.approx(np.sqrt(2))


@pytest.mark.mnist
def test_neighbours_in_the_book_nets_hidden_space_share_the_label(book_weights, mnist_dir):
    from engine.data import load_raw
    from engine.modelfile import load_model
    model, raw = load_model(book_weights), load_raw(mnist_dir)
    E = embed(model, raw["train_img"])  # (60000, 100)
    assert E.shape == (60000, 100)
    index = NeighbourIndex(E)
    idx, dist = index.query(E[4242])
    assert idx[0] == 4242 and dist[0] == 0.0
    test = raw["test_img"][:200]
    votes = [np.bincount(raw["train_label"][index.query(q)[0]], minlength=10).argmax() for q in embed(model, test)]
    agree = np.mean(np.array(votes) == raw["test_label"][:200])
    assert agree > 0.9, f"8-NN vote in hidden space matches the true label for {agree:.0%}"  # the net itself: 93.5%


def test_top_two_breaks_ties_as_the_models_argmax_does():
    # an untrained ReLU net (biases 0) on a blank canvas: every logit is 0, so all ten digits tie at 0.1
    model = MLP(init_params([784, 16, 10], activation="relu", rng=np.random.default_rng(0)), activation="relu",
                preprocess=Preprocess("unit"))
    blank = np.zeros(784, np.uint8)
    assert top_two(trace(model, blank).z[-1]).first == model.predict(blank[None])[0]
    ties = ([0.1, 0.4, 0.05, 0.4, 0.05], [0.1, 0.6, 0.15, 0.15], [0.2, 0.2, 0.3, 0.3, 0.1, 0.1, 0.1, 0.3, 0.05, 0.1],
            [0.1, 0.1, 0.1, 0.1, 0.2, 0.3, 0.05, 0.3, 0.2, 0.1])  # three-way and two-way ties, at the top and below it
    for p in ties:
        p = np.asarray(p) / np.sum(p)
        t = top_two(p)
        rest = p.copy()
        rest[t.first] = -np.inf
        assert (t.first, t.second) == (np.argmax(p), np.argmax(rest))  # argmax takes the smaller digit on a tie


def test_the_margin_is_p_first_minus_p_second():
    p = np.array([0.7, 0.2, 0.1], np.float32)  # float32 subtraction would round 0.7 - 0.2 to 0.5 exactly
    t = top_two(p)
    assert (t.first, t.second) == (0, 1)
    assert t.margin == t.p_first - t.p_second == float(p[0]) - float(p[1])


def test_a_margin_that_is_not_a_number_is_close():
    assert confidence(float("nan")) == "close"  # a diverged net's NaN probabilities still get a word the card can show


def test_contributions_name_their_class_and_keep_unit_order_on_ties():
    # one hidden layer whose activations are its biases (W1 = 0): several units tie on the same share of the logit
    z = np.tile(np.array([0.5, 1.0, 0.0, 0.5], np.float32), 5)
    w = np.tile(np.array([2.0, 1.0, 1.0, -1.0, 2.0], np.float32), 4)
    W2 = np.zeros((20, 10), np.float32)
    W2[:, 6] = w
    params = {"W1": np.zeros((784, 20), np.float32), "b1": z, "W2": W2, "b2": np.zeros(10, np.float32)}
    model = MLP(params, activation="relu")
    con = contributions(model, trace(model, PIXELS[0]), 6)
    assert con.cls == 6
    terms = z.astype(np.float64) * w
    np.testing.assert_array_equal(con.terms, terms)
    assert con.positive.tolist() == sorted(np.flatnonzero(terms > 0), key=lambda j: (-terms[j], j))


def test_most_active_keeps_unit_order_on_ties():
    z = np.tile(np.array([1.0, 0.0, 1.0, 0.25], np.float32), 8)  # saturated sigmoids and dead ReLUs tie often
    assert most_active(z, k=12).tolist() == sorted(range(32), key=lambda j: (-z[j], j))[:12]


def test_saliency_uses_the_training_relu_slope_at_zero():
    # a blank canvas through a net with biases 0: every hidden pre-activation is exactly 0, where the ReLU's slope is
    # taken as 0 (engine.layers.Relu passes no gradient where y = 0), so no pixel moves the logit
    model = MLP(init_params([784, 16, 10], activation="relu", rng=np.random.default_rng(0)), activation="relu",
                preprocess=Preprocess("unit"))
    assert not saliency(model, np.zeros(784), 3).any()


def test_templates_of_no_units_are_an_empty_stack(net):
    assert templates(net, []).shape == (0, 28, 28)


def test_a_query_row_and_small_k_find_the_brute_force_neighbours():
    E = np.random.default_rng(9).normal(0, 1, (200, 6)).astype(np.float32)
    brute = np.linalg.norm(E.astype(np.float64) - E[17].astype(np.float64), axis=1)
    for k in range(1, 9):
        for n in (4 * k + 16, 4 * k + 17, 4 * k + 18, 200):  # just below, at and above the candidate count
            idx, dist = NeighbourIndex(E[:n]).query(E[17], k=k)
            want = np.argsort(brute[:n], kind="stable")[:k]
            assert idx.tolist() == want.tolist(), (k, n)
            np.testing.assert_allclose(dist, brute[want], rtol=1e-9, atol=1e-12)
    index = NeighbourIndex(E.astype(np.float64))
    assert index.E.dtype == np.float32  # the cached index of 60,000 training embeddings: float32 halves its memory
    for got, want in zip(index.query(E[17:18], k=5), index.query(E[17], k=5), strict=True):  # a (1, width) row works
        np.testing.assert_array_equal(got, want)
