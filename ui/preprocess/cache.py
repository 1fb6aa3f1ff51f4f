"""Cached results of the preprocessing and training pages, keyed by the dataset's key and model fingerprints.

st.cache_resource holds the fitted preprocessings (shared, never mutated); st.cache_data the numbers drawn from them.
A model enters a cache key only as fingerprint(model): a session's model is never shared with another session by name.
"""
import hashlib

import streamlit as st

from engine import choices, history, saturation
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
