"""The evaluation page's out-of-MNIST metric beside the accuracy, and the "unsure" rule beside the calibration numbers."""
import hashlib

import streamlit as st

from engine import offmnist, unsure
from engine.errors import EngineError
from ui import network
from ui.i18n import t
from ui.stats import percent


@st.cache_resource(show_spinner=False, max_entries=2)
def _set(data_key, _ds):
    """The out-of-MNIST set of this dataset's test images (engine.offmnist, seed 0): built once per process and dataset."""
    return offmnist.build(_ds.images("test").reshape(_ds.size("test"), -1), _ds.labels("test"))


@st.cache_data(show_spinner=False, max_entries=32)
def _scores(data_key, model_id, fp, _model, _ds):
    s = _set(data_key, _ds)
    return offmnist.score(_model, s), _model.score(_ds.images("test").reshape(_ds.size("test"), -1), _ds.labels("test")), s.n_faces


def _fp(model):
    """A short digest of the model's last weights: what tells two models of one id apart."""
    return hashlib.blake2b(model.params[f"W{model.n_layers}"].tobytes(), digest_size=8).hexdigest()


def metric(container, ds, model_id, model):
    """A metric beside the accuracy: accuracy on digits unlike MNIST's; typed, handwriting-like and the set in its tooltip."""
    fmt = lambda v: "–" if v is None else f"{v:.4f}"
    try:
        score, mnist, faces = _scores(ds.key, model_id, _fp(model), model, ds)  # the first time: about 3 s to build the set
    except (EngineError, ValueError):  # a model that does not fit 784 pixels: the page's own error says so
        return
    container.metric(t("evaluate.offmnist_label"), fmt(score["accuracy"]), width="content",
                     help=t("evaluate.offmnist_help", acc=fmt(score["accuracy"]), typed=fmt(score["typed"]), hand=fmt(score["hand"]),
                            n=f"{score['n']:,}", mnist=fmt(mnist), faces=faces))


def unsure_rule(ds, model_id, model):
    """One caption: when the answer card says "unsure" for this model (top probability, distance threshold) and why."""
    if ds.size("train") < 2:
        return
    try:
        fam = network.familiarity_of(ds, model_id, model)
    except (EngineError, ValueError):
        return
    if fam.threshold is not None:
        st.caption(t("evaluate.unsure_line", p=percent(unsure.LOW_PROBABILITY, 0), ref=f"{len(fam.reference):,}",
                     d=f"{fam.threshold:.2f}", pct=f"{unsure.PERCENTILE:g} %", n=f"{fam.n_validation:,}",
                     where=t("evaluate.unsure_card" if fam.from_card else "evaluate.unsure_here")))
