"""Which models the app can use: shipped models/*.npz, the book's weights, uploads and models trained this session.

Ids: "default" (models/default.npz; any models/NAME.npz is "NAME"), "book" ($BOOK_WEIGHTS),
"upload:NAME", "session:NAME" and "shared:ADDRESS" (a model from the server's shared store that this session opened or
shared, see ui/shared_models.py), kept per user in st.session_state: at most MAX_PER_KIND each and MAX_SESSION_MB
together, the oldest evicted first.
Shipped and book models are cached once per process and shared: never mutate one (copy it first).
"""
import os
import re
from pathlib import Path

import streamlit as st

from engine import debris
from engine.errors import EngineError, ModelFormatError
from engine.modelfile import load_model
from ui import loaders, modeltitles, share

ROOT = Path(__file__).resolve().parents[1]
MAX_PER_KIND = 5  # uploads, session-trained and shared models each: a short menu
# Memory a session's models may hold (MLP.nbytes: weights, their folded copy, preprocessing), uploads and trained
# together. The largest net a file may hold (engine.model.MAX_PARAMS, 2 M parameters) takes about 16 MB, so it fits.
MAX_SESSION_MB = 24
PICK_KEY = "model_pick"  # the sidebar select box's session key
_KINDS = {"session": "models_session", "upload": "models_upload", "shared": "models_shared"}  # id prefix -> session_state dict


def models_dir():
    """Folder of shipped models: $MNIST_EXPLORER_MODELS, else models/ beside dashboard.py."""
    return Path(os.environ.get("MNIST_EXPLORER_MODELS") or ROOT / "models")


def shipped():
    """{id: path} of models/*.npz ('default' first) and the book's weights as 'book' when $BOOK_WEIGHTS is a file."""
    folder = models_dir()
    paths = sorted(folder.glob("*.npz"), key=lambda p: (p.stem != "default", p.stem)) if folder.is_dir() else []
    out = {p.stem: p for p in paths}
    book = os.environ.get("BOOK_WEIGHTS")
    if book and Path(book).is_file():
        out.setdefault("book", Path(book))
    return out


def _session_dict(kind):
    return st.session_state.setdefault(_KINDS[kind], {})


def catalog():
    """{id: MLP} of every usable model, in menu order, and [one-line errors] for files that failed to load."""
    models, errors = {}, []
    for mid, path in shipped().items():
        try:
            models[mid] = loaders.model_file(path)
        except (EngineError, OSError) as e:
            errors.append(str(e))
    for kind in ("upload", "session", "shared"):
        for name, m in _session_dict(kind).items():
            models[f"{kind}:{name}"] = m
    return models, errors


def title(model_id, model=None):
    """A menu label in the reader's language, built from the model (ui.modeltitles.label); the bare id without a model."""
    return modeltitles.label(model_id, model) if model is not None else str(model_id)


def clean_name(name):
    """A short safe model name from a file name: letters, digits, '-', '_' and '.' only."""
    stem = Path(str(name)).stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.")[:40] or "model"


def session_mb():
    """Megabytes held by this session's uploaded and trained models."""
    return sum(m.nbytes for kind in _KINDS for m in _session_dict(kind).values()) / 2**20


def _add(kind, name, model):
    """Store a model under kind:name (replacing one of that name); return the ids evicted to stay in budget, or None."""
    mb = model.nbytes / 2**20
    if mb > MAX_SESSION_MB:
        raise ModelFormatError(f"This model takes {mb:.0f} MB in memory; a session keeps at most {MAX_SESSION_MB} MB of "
                               "models: use a smaller network.")
    store = _session_dict(kind)
    store.pop(name, None)
    store[name] = model
    evicted = []
    while len(store) > MAX_PER_KIND or session_mb() > MAX_SESSION_MB:
        # the oldest of this kind goes first, then the other kinds'; the model just added stays
        victim_kind = kind if len(store) > 1 else next(k for k in _KINDS if k != kind and _session_dict(k))
        victims = _session_dict(victim_kind)
        oldest = next(iter(victims))
        del victims[oldest]
        evicted.append(f"{victim_kind}:{oldest}")
    return ", ".join(evicted) or None


def add_session_model(name, model):
    """Register a model trained in this session as 'session:NAME'; returns (id, evicted id or None)."""
    name = clean_name(name)
    return f"session:{name}", _add("session", name, model)


def add_shared(address, model):
    """Register a model of the shared store in this session as 'shared:ADDRESS'; returns (id, evicted id or None)."""
    return f"shared:{address}", _add("shared", address, model)


def load_upload(file_name, data):
    """An uploaded .npz or .pkl as an MLP through the engine's safe loaders; the file name only picks the format."""
    suffix = Path(str(file_name)).suffix.lower()
    if suffix not in (".npz", ".pkl"):
        raise ModelFormatError(f"{file_name} is not a model file: upload an .npz saved by this app or the book's .pkl.")
    path = debris.new_path("upload", suffix)  # the app's own temp name: the user's file name never becomes a path
    shown = Path(str(file_name)).name
    try:
        path.write_bytes(data)
        model = load_model(path)
    except EngineError as e:  # the message names the file: the visitor's name, not the server's temp file
        raise type(e)(str(e).replace(str(path), shown).replace(path.name, shown)) from None
    finally:
        path.unlink(missing_ok=True)  # and a killed server's copy is swept at the next start
    if suffix == ".pkl":  # the loader's own words for the book's weights, not a title the file gave
        model.card.pop("title", None)
    if model.card.get("name") == path.stem:  # the temp file's name, not the user's
        model.card["name"] = clean_name(file_name)
    return model


def add_upload(file_name, data):
    """Validate and register an uploaded model as 'upload:NAME'; returns (id, evicted id or None)."""
    model = load_upload(file_name, data)
    name = clean_name(file_name)
    return f"upload:{name}", _add("upload", name, model)


def default_id(ids):
    """The model a new visitor gets: 'default' if shipped, else the first one."""
    ids = list(ids)
    return "default" if "default" in ids else (ids[0] if ids else None)


def current_model():
    """(id, MLP) of the model picked in the sidebar, falling back to the default one; (None, None) if there is none."""
    models, _ = catalog()
    mid = st.session_state.get(PICK_KEY)
    if mid not in models:
        mid = default_id(models)
    return (mid, models[mid]) if mid else (None, None)


def require_model(no_model_text):
    """(id, MLP) of the picked model; with no model at all, show no_model_text and stop the page there."""
    mid, model = current_model()
    if model is None:
        st.info(no_model_text)
        share.stop()
    return mid, model


def parameter_counts(model):
    """Per layer: (name, W shape, b shape, parameters) for an MLP, e.g. ('W1, b1', (784, 50), (50,), 39250)."""
    rows = []
    for i in range(1, model.n_layers + 1):
        W, b = model.params[f"W{i}"], model.params[f"b{i}"]
        rows.append((f"W{i}, b{i}", tuple(W.shape), tuple(b.shape), int(W.size + b.size)))
    return rows
