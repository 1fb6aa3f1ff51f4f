"""The live network view (ui/network.py) and the answer card, checked against the network written out in NumPy here.

Pure checks build the SVG directly; AppTest checks read it off the single-image page for three nets the app loads from
its models folder: the book's shape (sigmoid 784-50-100-10), a ReLU net, and a net with three hidden layers.
"""
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from engine import explain
from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import Preprocess
from tests import apptest_helpers
from tests.apptest_helpers import random_model, run_page
from ui import network

app_env = apptest_helpers.app_env  # fixture
NS = "{http://www.w3.org/2000/svg}"
NETS = {"book": ([784, 50, 100, 10], "sigmoid"), "relu": ([784, 32, 16, 10], "relu"),
        "deep": ([784, 30, 20, 12, 10], "sigmoid")}
HOVER = re.compile(r"a = (-?[\d.]+), (?:z = (-?[\d.]+)|probability ([\d.]+)%)")


def save_net(name, seed=4):
    """Save NETS[name] with random weights and biases into the app's models folder; returns the model as the app loads it."""
    sizes, act = NETS[name]
    rng = np.random.default_rng(seed)
    params = dict(random_model(sizes, seed=seed).params)
    for i in range(1, len(sizes)):
        params[f"b{i}"] = rng.normal(0, 0.3, sizes[i]).astype(np.float32)
    path = save_model(MLP(params, activation=act, preprocess=Preprocess("unit"), card={"title": f"view {name}"}),
                      Path(os.environ["MNIST_EXPLORER_MODELS"]) / name)
    return load_model(path)


def forward(model, pixels):
    """The forward pass written out in float64 from the definitions: (x, [a1 ..], [z1 ..]) with z_L = softmax(a_L)."""
    assert model.preprocess is None or model.preprocess.kind == "unit"
    x = np.asarray(pixels, np.float64).reshape(-1) / (255 if model.preprocess is not None else 1)
    h, a_s, z_s = x, [], []
    L = model.n_layers
    for i in range(1, L + 1):
        a = h @ model.params[f"W{i}"].astype(np.float64) + model.params[f"b{i}"]
        if i < L:
            h = 1 / (1 + np.exp(-a)) if model.activation == "sigmoid" else np.maximum(a, 0)
        else:
            h = np.exp(a - a.max()) / np.exp(a - a.max()).sum()
        a_s.append(a)
        z_s.append(h)
    return x, a_s, z_s


def top_edges(model, x, z_s, targets, layer, k):
    """The k largest |z[i] * W[i, j]| into the given targets of weight layer `layer`, by brute force: {(i, j): term}."""
    z = x if layer == 1 else z_s[layer - 2]
    W = model.params[f"W{layer}"].astype(np.float64)
    terms = {(i, int(j)): z[i] * W[i, j] for i in range(len(z)) for j in targets}
    best = sorted(terms, key=lambda e: -abs(terms[e]))[:k]
    return {e: terms[e] for e in best}


def parse(svg):
    """{layer: [(unit, fill, y, title)]} of the drawn units, and [(layer, from, to, term, colour, width)] of the edges."""
    root = ET.fromstring(svg)
    units, edges = {}, []
    for el in root.iter():
        if el.get("class") == "unit":
            y = float(el.get("cy") or el.get("y"))
            units.setdefault(int(el.get("data-layer")), []).append(
                (int(el.get("data-unit")), el.get("fill"), y, el.find(f"{NS}title").text))
        elif el.get("class") == "edge":
            edges.append((int(el.get("data-layer")), int(el.get("data-from")), int(el.get("data-to")),
                          float(el.get("data-term")), el.get("stroke"), float(el.get("stroke-width"))))
    return units, edges


def level(hex_fill):
    """How far a fill is from OFF towards ON, in [0, 1] (the inverse of network.fill, up to rounding)."""
    rgb = np.array([int(hex_fill[i:i + 2], 16) for i in (1, 3, 5)], np.float64)
    return float(np.dot(rgb - network.OFF, network.ON - network.OFF) / np.dot(network.ON - network.OFF, network.ON - network.OFF))


def check_view(svg, model, pixels):
    """Every number of the drawing against the long-hand forward pass."""
    x, a_s, z_s = forward(model, pixels)
    L, p = model.n_layers, z_s[-1]
    pred = int(np.argmax(p))
    units, edges = parse(svg)
    # the input picture: one square per pixel with ink, shaded by x
    assert sorted(u for u, *_ in units[0]) == np.flatnonzero(x / x.max() > 0.01).tolist()
    for layer in range(1, L + 1):
        shown = units[layer]
        z, a = z_s[layer - 1], a_s[layer - 1]
        ids = [u for u, *_ in shown]
        for u, _, _, title in shown:  # hover: the unit's a and z (or probability), as the engine computed them
            m = HOVER.search(title)
            assert float(m.group(1)) == pytest.approx(a[u], abs=2e-3)
            assert (float(m.group(2)) if layer < L else float(m.group(3)) / 100) == pytest.approx(z[u], abs=2e-3)
        expected = z if (layer == L or model.activation == "sigmoid") else z / z.max()
        levels = np.array([level(f) for _, f, *_ in shown])
        np.testing.assert_allclose(levels, expected[ids], atol=0.01)  # colour = activation
        assert np.all(np.diff(levels[np.argsort(z[ids])]) >= 0)  # the fills in the order of the activations
        if layer == L:
            assert ids == list(range(10))
        else:
            ys = [y for *_, y, _ in shown]
            assert np.all(np.diff(ys) > 0) and np.all(np.diff(z[ids]) <= 1e-6)  # top to bottom, most active first
            if len(z) > network.FULL:
                assert set(np.argsort(-z, kind="stable")[:network.MOST]) <= set(ids) and len(ids) < len(z)
                assert f"{len(ids)} of {len(z)} shown" in svg
            else:
                assert sorted(ids) == list(range(len(z)))
    # the edges: the strongest z * W into the answer, then into the units those come from, and so on down to the pixels
    targets = [pred]
    for layer in range(L, 0, -1):
        want = top_edges(model, x, z_s, targets, layer, network.EDGES)
        got = {(i, j): (term, colour, width) for lay, i, j, term, colour, width in edges if lay == layer}
        assert set(got) == set(want), layer
        for e, term in want.items():
            assert got[e][0] == pytest.approx(term, rel=1e-4, abs=1e-6)
            assert got[e][1] == (network.GREEN if term > 0 else network.RED)  # colour by sign
        by_size = sorted(got.values(), key=lambda g: abs(g[0]))
        assert [w for *_, w in by_size] == sorted(w for *_, w in by_size) and by_size[-1][2] == pytest.approx(5.5)
        targets = sorted({i for i, _ in want})
    return pred


@pytest.mark.parametrize("name", list(NETS))
def test_the_view_draws_the_engines_numbers(name, synth_mnist):
    _, arrays = synth_mnist
    sizes, act = NETS[name]
    model = MLP(dict(random_model(sizes, seed=2).params), activation=act, preprocess=Preprocess("unit"))
    for index in (0, 5):
        pixels = arrays["test"][0][index]
        svg = network.network_svg(model, explain.trace(model, pixels))
        check_view(svg, model, pixels)


def svg_on_page(at):
    return next(m.value for m in at.markdown if m.value.startswith('<svg class="network-view"'))


def card_on_page(at):
    return next(m.value for m in at.markdown if 'data-answer="card"' in m.value)


@pytest.mark.parametrize("name", list(NETS))
def test_the_single_page_draws_the_view_of_each_net(app_env, name):
    model = save_net(name)
    x, t = app_env["test"]
    at = run_page("single", query={"model": name, "index": 11})
    pred = check_view(svg_on_page(at), model, x[11])
    card = card_on_page(at)
    assert re.search(r'data-answer="digit"[^>]*>(\d)<', card).group(1) == str(pred)
    p = forward(model, x[11])[2][-1]
    assert re.search(r'data-answer="probability"[^>]*>([\d.]+)%<', card).group(1) == f"{p.max() * 100:.1f}"


def test_strongest_paths_into_a_class():
    model = MLP(dict(random_model([784, 9, 7, 10], seed=1).params), activation="relu")
    pixels = np.random.default_rng(0).integers(0, 256, 784)
    tr = explain.trace(model, pixels)
    flows = explain.strongest_paths(model, tr, 3, k=4)
    assert [f.layer for f in flows] == [1, 2, 3] and set(flows[2].target) == {3}
    assert set(flows[1].target) == set(flows[2].source) and set(flows[0].target) == set(flows[1].source)
    z = tr.z[1].astype(np.float64)
    terms = z * model.params["W3"][:, 3]
    assert sorted(flows[2].source.tolist()) == sorted(np.argsort(-np.abs(terms))[:4].tolist())
    np.testing.assert_allclose(flows[2].term, terms[flows[2].source])
    assert np.all(np.diff(np.abs(flows[0].term)) <= 0)  # largest first


@pytest.mark.parametrize(("margin", "word"), [(1.0, "very_sure"), (0.80, "very_sure"), (0.7999, "sure"), (0.40, "sure"),
                                              (0.3, "leaning"), (0.15, "leaning"), (0.149, "close"), (0.0, "close")])
def test_confidence_words_follow_the_stated_thresholds(margin, word):
    assert explain.confidence(margin) == word


def test_wide_layers_show_their_most_active_units_and_any_unit_an_edge_touches():
    z = np.linspace(0, 1, 50)
    shown = network.shown_units(z, keep=[0, 3])
    assert shown[:network.MOST].tolist() == list(range(49, 49 - network.MOST, -1)) and shown[-2:].tolist() == [3, 0]
    assert network.shown_units(z[:20], keep=[]).tolist() == list(range(19, -1, -1))  # narrow: all of them, most active first
