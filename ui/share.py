"""The "link to this view" box: the page's full address with its query string, ready to copy, and what it cannot carry."""
from urllib.parse import urlencode

import streamlit as st

from ui import models
from ui.i18n import t
from ui.panels import plain

SESSION_ONLY = ("session:", "upload:")  # model ids that live in one browser session (see ui.models)


def session_only(model_id):
    """True for a model trained or uploaded in a session: a link cannot carry its weights."""
    return str(model_id or "").startswith(SESSION_ONLY)


def view_url(page_path, params, *, base=None):
    """The address of this view: base (st.context.url: scheme, host, base path and page, no query) else /page_path, plus params."""
    base = base.removesuffix("/") if base else "/" + page_path
    query = urlencode(params, doseq=True)
    return f"{base}?{query}" if query else base


def show(box, page):
    """Draw, in box (a sidebar container), the copyable link of the current view and a notice for a session-only model."""
    params = st.query_params.to_dict()
    url = view_url(page.url_path, params, base=st.context.url)
    with box:
        st.caption(t("share.label"), help=t("share.help"))
        st.code(url, language=None, wrap_lines=True)
        model_id = params.get("model")
        if session_only(model_id):
            catalog, _ = models.catalog()
            st.warning(t("share.session_model", id=plain(model_id), default=plain(models.default_id(catalog) or "")), icon="🔗")
