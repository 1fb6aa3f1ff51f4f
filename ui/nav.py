"""The app's pages by url_path, so a page can link to another one only when it is plugged in."""
import streamlit as st

KEPT_PARAMS = ("lang", "model")  # app-wide choices that follow the user from page to page
_PAGES = {}  # url_path -> st.Page; the same list on every run of dashboard.py, so one dict serves all sessions


def register(pages):
    """Remember the st.Page objects dashboard.py passes to st.navigation, keyed by url_path ('home' for the default)."""
    _PAGES.clear()
    for p in pages:
        _PAGES[p.url_path or "home"] = p
    # the default page's url_path reads "" once it is the default; keep it under its declared name too
    return pages


def has(url_path):
    """True if a page with this url_path is part of the app."""
    return url_path in _PAGES


def pages():
    """{url_path: st.Page} of every plugged-in page, in menu order."""
    return dict(_PAGES)


def link(url_path, *, label=None, icon=None, query=None, help=None, width="content"):
    """st.page_link to a plugged-in page with query parameters; returns False (and draws nothing) if the page is absent."""
    page = _PAGES.get(url_path)
    if page is None:
        return False
    # a page link replaces the whole query string, so carry the app-wide choices over explicitly
    kept = {k: st.query_params[k] for k in KEPT_PARAMS if k in st.query_params}
    st.page_link(page, label=label, icon=icon, query_params={**kept, **(query or {})}, help=help, width=width)
    return True
