"""Models shared by content address: "Share this model" copies a session's model into the server's store
(engine.modelstore), and a link's ?model=shared:ADDRESS opens it for anyone, in any server process using that store.

Opt-in: nothing reaches the store until its owner presses the button. The store lives on disk (a folder that several
processes may share), so a shared model outlives a restart; each process keeps the models it opened in a small cache.
"""
import streamlit as st

from engine import modelstore
from engine.errors import EngineError
from engine.paths import store_dir
from ui import models, urlstate

PREFIX = "shared:"


def address(model_id):
    """The store address a 'shared:ADDRESS' id names, or None (not such an id, or not 16 hex digits)."""
    text = str(model_id or "")
    addr = text[len(PREFIX):] if text.startswith(PREFIX) else None
    return addr if modelstore.is_address(addr) else None


def is_shared(model_id):
    """True for an id of the 'shared:' kind, well formed or not (a link may carry a damaged one)."""
    return str(model_id or "").startswith(PREFIX)


@st.cache_resource(show_spinner=False, max_entries=16)
def _load(folder, addr):
    # one copy per process and address: the address is the content, so a cached copy is never stale
    return modelstore.load(addr, folder=folder)


def _open(addr):
    """The MLP stored under addr, from this process's cache or the store; raises EngineError."""
    folder = store_dir()
    if not modelstore.contains(addr, folder=folder):  # also the use that keeps it off the eviction list
        raise modelstore.NotInStore(f"No shared model {addr} is in the store.")
    return _load(folder, addr)


def open_link():
    """A link's ?model=shared:ADDRESS becomes a model of this session, listed in the picker; when the store has no such
    model (or it does not load), nothing happens and the sidebar says the linked model is missing."""
    addr = address(urlstate.raw("model"))
    if addr is None or PREFIX + addr in models.catalog()[0]:
        return
    try:
        models.add_shared(addr, _open(addr))
    except EngineError:
        return


def share(model_id):
    """Write this session's model model_id to the store and add it as 'shared:ADDRESS'; returns (id, evicted ids or None).

    Raises EngineError (too large for the store, a store that cannot be written)."""
    catalog, _ = models.catalog()
    if model_id not in catalog:  # removed from the session between the click and this run
        raise EngineError(f"The model {model_id} is no longer in this session: upload or train it again.")
    addr = modelstore.put(catalog[model_id])
    return models.add_shared(addr, _open(addr))  # read back as every other visitor will
