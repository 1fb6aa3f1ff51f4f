"""Shared AppTest helpers: run a page of dashboard.py on synthetic data and read what it shows.

A page test looks like:

    from tests import apptest_helpers
    from tests.apptest_helpers import page_text, run_page

    app_env = apptest_helpers.app_env  # make the fixture visible in this module

    def test_my_page(app_env):
        at = run_page("evaluate", query={"model": "default"})
        assert "Accuracy" in page_text(at)

`app_env` points MNIST_DIR at tests/synth.py data (600 train, 100 test images), gives the app a private
cache and a models folder with two small random models ("default" 784-50-100-10 and "small" 784-16-10),
unsets BOOK_WEIGHTS, and clears Streamlit's caches before and after the test.
"""
import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from engine.model import MLP
from engine.modelfile import save_model
from engine.preprocess import Preprocess
from tests.conftest import ROOT
from ui import loaders

DASHBOARD = ROOT / "dashboard.py"
# seconds per run: generous, because the machine is shared; a normal synthetic run takes < 1 s. scripts/mutation.py
# raises it: under mutmut's tracing one page run took over 30 s
TIMEOUT = int(os.environ.get("APPTEST_TIMEOUT", "30"))
MODEL_SIZES = {"default": [784, 50, 100, 10], "small": [784, 16, 10]}


def random_model(sizes, *, seed=0, title=None, preprocess="unit"):
    """An MLP with random float32 weights of the given layer sizes (never trained: tests read its shape, not its skill).

    preprocess: a kind name ('unit', as a model trained here, whose file says so) or None (the input as given)."""
    rng = np.random.default_rng(seed)
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = rng.normal(0, 0.1, (m, n)).astype(np.float32)
        params[f"b{i}"] = np.zeros(n, np.float32)
    return MLP(params, preprocess=preprocess and Preprocess(preprocess), card={"title": title or f"Random {'-'.join(map(str, sizes))}"})


def write_models(folder):
    """Save the MODEL_SIZES models as folder/NAME.npz (+ .json cards); returns folder."""
    folder = Path(folder)
    for seed, (name, sizes) in enumerate(MODEL_SIZES.items()):
        save_model(random_model(sizes, seed=seed, title=f"Test net {name}"), folder / f"{name}.npz")
    return folder


def clear_caches():
    """Forget every cached result and the loaded datasets (kept in module state, out of reach of a client's clear_cache)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    loaders.forget()


@pytest.fixture
def app_env(synth_mnist, monkeypatch, tmp_path):
    """Synthetic MNIST in MNIST_DIR, a private cache and models folder; yields the synth arrays {'train': (x, t), ...}."""
    folder, arrays = synth_mnist
    monkeypatch.setenv("MNIST_DIR", str(folder))
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_EXPLORER_MODELS", str(write_models(tmp_path / "models")))
    monkeypatch.delenv("BOOK_WEIGHTS", raising=False)
    monkeypatch.delenv("MNIST_MIRRORS", raising=False)
    clear_caches()
    yield arrays
    clear_caches()


@pytest.fixture
def no_data_env(monkeypatch, tmp_path):
    """No MNIST anywhere: MNIST_DIR unset, an empty cache, downloads pointed at a mirror that does not exist."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_EXPLORER_MODELS", str(write_models(tmp_path / "models")))
    monkeypatch.setenv("MNIST_MIRRORS", (tmp_path / "no-such-mirror").as_uri() + "/")
    monkeypatch.delenv("BOOK_WEIGHTS", raising=False)
    clear_caches()
    yield tmp_path / "cache" / "mnist"
    clear_caches()


def run_page(url_path="home", *, query=None, at=None):
    """Run dashboard.py as a fresh visit to /url_path?query and return the AppTest (a new one unless at is given)."""
    at = at or AppTest.from_file(str(DASHBOARD), default_timeout=TIMEOUT)
    at.query_params.update({k: str(v) for k, v in (query or {}).items()})
    at.run()
    if url_path != "home":
        at.switch_page(f"pages/{url_path}.py").run()
    assert_no_exception(at)
    return at


def assert_no_exception(at):
    """No exception element (a traceback shown to the user) anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]


def plotly_figures(at):
    """Every plotly chart on the page as its figure dict ({'data': [...], 'layout': {...}}), in page order."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def array(value):
    """A plotly data array as NumPy: plain lists, or plotly's typed form {'dtype': 'u1', 'bdata': base64, 'shape': '28, 28'}."""
    if isinstance(value, dict) and "bdata" in value:
        a = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return a.reshape([int(n) for n in str(shape).split(",")]) if shape else a
    return np.asarray(value)


def figure_titled(at, words):
    """The one plotly figure whose title contains words."""
    found = [f for f in plotly_figures(at) if words in f["layout"].get("title", {}).get("text", "")]
    assert len(found) == 1, [f["layout"].get("title", {}).get("text") for f in plotly_figures(at)]
    return found[0]


def page_text(at):
    """All markdown, caption, title, header and alert text on the page (sidebar included), one string."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def image_captions(at):
    """Captions of the st.image elements, in page order."""
    return [c for el in at.image for c in el.captions]
