"""The "link to this view" box: the page's full address with its query string, ready to copy, and what it cannot carry."""
import threading
from urllib.parse import urlencode

import streamlit as st

from ui.i18n import t
from ui.panels import plain

SESSION_ONLY = ("session:", "upload:")  # model ids that live in one browser session (see ui.models)
# Each script run has its own thread, so the box reserved at the top of a run is found again at its end.
_run = threading.local()


def session_only(model_id):
    """True for a model trained or uploaded in a session: a link cannot carry its weights."""
    return str(model_id or "").startswith(SESSION_ONLY)


def view_url(page_path, params, *, base=None):
    """The address of this view: base (st.context.url: scheme, host, base path and page, no query) else /page_path, plus params."""
    base = base.removesuffix("/") if base else "/" + page_path
    query = urlencode(params, doseq=True)
    return f"{base}?{query}" if query else base


def reserve(url_path, *, default_model=None):
    """Keep an empty sidebar box for this run's link; fill() writes it once the page's widgets have written the URL."""
    _run.box, _run.url_path, _run.default_model = st.sidebar.container(), url_path, default_model


def fill():
    """Draw, in the reserved box, the copyable link of the current view and a notice for a session-only model."""
    box = getattr(_run, "box", None)
    if box is None:  # no page() opened this run (a test running a helper alone)
        return
    _run.box = None  # once per run, even if a page both stops and ends
    params = st.query_params.to_dict()
    path = "" if _run.url_path == "home" else _run.url_path
    url = view_url(path, params, base=st.context.url)
    with box:
        st.caption(t("share.label"), help=t("share.help"))
        st.code(url, language=None, wrap_lines=True)
        model_id = params.get("model")
        if session_only(model_id):
            st.warning(t("share.session_model", id=plain(model_id), default=plain(_run.default_model or "")), icon="🔗")


def stop():
    """End this page's run here (no data, no model): the link box is filled first, so it still says which view this is."""
    fill()
    st.stop()
