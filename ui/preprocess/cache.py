"""Cached results of the preprocessing and training pages, keyed by the dataset's key and model fingerprints.

st.cache_resource holds the fitted preprocessings (shared, never mutated); st.cache_data the numbers drawn from them.
A model enters a cache key only as fingerprint(model): a session's model is never shared with another session by name.
"""
import hashlib

import streamlit as st

from engine import choices, history, saturation
from engine.family import Plan
from engine.preprocess import KINDS
from ui.loaders import dataset

SAMPLE = 2000  # test images whose pixel values feed the per-choice histograms: 1.6 M values, smooth enough
SHIPPED = {k: f"pre-{k}" for k in KINDS}  # the shipped per-preprocessing models (python -m engine train-all)


def fingerprint(model):
    """A short hash of a model's weights and preprocessing kind: equal weights, equal key."""
    h = hashlib.sha1(str(getattr(model.preprocess, "kind", None)).encode())
    for k in sorted(model.params):
        h.update(model.params[k].tobytes())
    return h.hexdigest()[:16]


@st.cache_resource(show_spinner=False, max_entries=2)
def fitted(key):
    """{kind: Preprocess} fitted on all training images of the dataset with this key; shared read-only."""
    img = dataset().images("train")
    return choices.fit_all(img.reshape(len(img), -1))


@st.cache_data(show_spinner=False, max_entries=64)
def digit_under(key, split, index):
    """{kind: (28, 28)} one image under each choice."""
    return choices.digit_under(fitted(key), dataset().images(split)[index])


@st.cache_data(show_spinner=False, max_entries=4)
def values_under(key):
    """{kind: (edges, counts, mean, std)} of the pixel values of the first SAMPLE test images under each choice."""
    img = dataset().images("test")[:SAMPLE]
    return choices.values_under(fitted(key), img.reshape(len(img), -1))


@st.cache_data(show_spinner=False, max_entries=4)
def statistics(key):
    """(mean (28, 28), std (28, 28), whitening filter (28, 28)) learned from the training images."""
    mean, std = choices.pixel_statistics(dataset().images("train"))
    return mean, std, choices.whitening_filter(fitted(key)["whiten"])


@st.cache_data(show_spinner=False, max_entries=32)
def test_accuracy(key, fp, _model):
    """Accuracy of a model (fingerprint fp) on the whole test set."""
    ds = dataset()
    return _model.score(ds.images("test").reshape(ds.size("test"), -1), ds.labels("test"))


def shipped_rows(key, catalog):
    """Per choice with a shipped pre-KIND model: its id, measured test accuracy and card summary (validation, epochs to 95%)."""
    rows = []
    for kind, mid in SHIPPED.items():
        model = catalog.get(mid)
        if model is None:
            continue
        rows.append({"kind": kind, "id": mid, "test_acc": test_accuracy(key, fingerprint(model), model),
                     "history": model.card.get("history") or [], **history.summary(model.card)})
    return rows


@st.cache_data(show_spinner=False, max_entries=16)
def mismatch(key, fp, _model):
    """engine.saturation.mismatch of a model on the whole test set under each fitted choice."""
    ds = dataset()
    x = ds.images("test").reshape(ds.size("test"), -1)
    return saturation.mismatch(_model, x, ds.labels("test"), fitted(key))


@st.cache_data(show_spinner=False, max_entries=32)
def predictions(key, fp, _model):
    """The digits a model (fingerprint fp) answers for every test image, (n,) int: for McNemar's test between models."""
    ds = dataset()
    return _model.predict(ds.images("test").reshape(ds.size("test"), -1))


def swept_eps(catalog):
    """(the whitening eps values the shipped pre-whiten swept, the one it chose): from its card, else the family's plan."""
    model = catalog.get(SHIPPED["whiten"])
    entry = (model.card.get("family") or {}) if model is not None else {}
    grid = (entry.get("grid") or {}).get("eps")
    if isinstance(grid, list) and grid and all(isinstance(e, int | float) and e > 0 for e in grid):
        return tuple(float(e) for e in sorted(grid)[:8]), (entry.get("tuned") or {}).get("eps")
    return Plan().eps, None


@st.cache_data(show_spinner=False, max_entries=16)
def whiten_by_eps(key, eps, index):
    """[(filter (28, 28), test image index whitened (28, 28))] at each eps (a tuple): what eps does to whitening."""
    return choices.whiten_by_eps(fitted(key)["whiten"], dataset().images("test")[index], eps=eps)


@st.cache_data(show_spinner=False, max_entries=4)
def whiten_ratios(key, eps):
    """{eps: the faintest direction's gain over the strongest's} of the fitted whitening at each eps (a tuple)."""
    return {e: choices.whitening_gain_ratio(fitted(key)["whiten"], e) for e in eps}
