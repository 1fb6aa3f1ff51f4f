"""The app's pages, one table of address, script and icon, and links between them that keep the app-wide choices."""
from dataclasses import dataclass

import streamlit as st

from ui.i18n import t

KEPT_PARAMS = ("lang", "model")  # app-wide choices that follow the user from page to page
# url_path -> (script, icon), in menu order. Streamlit routes pages/NAME.py to /NAME by itself and dashboard.py to /,
# so the address of a page is its file name: keep both stable once a link is published.
PAGES = {
    "home": ("dashboard.py", "🏠"),
    "dataset": ("pages/dataset.py", "🗂️"),
    "single": ("pages/single.py", "🔍"),
    "evaluate": ("pages/evaluate.py", "📏"),
    "preprocess": ("pages/preprocess.py", "⚖️"),
    "train": ("pages/train.py", "🏋️"),
    "glossary": ("pages/glossary.py", "📖"),
}


@dataclass(frozen=True)
class Page:
    """One page as the menu shows it: its address, script, icon and translated title and tooltip."""
    url_path: str
    script: str
    icon: str
    title: str
    help: str


def page(url_path):
    """The Page with this url_path, its words in the current language."""
    script, icon = PAGES[url_path]
    return Page(url_path, script, icon, t(f"nav.{url_path}"), t(f"nav.{url_path}_help"))


def has(url_path):
    """True if a page with this url_path is part of the app."""
    return url_path in PAGES


def pages():
    """{url_path: Page} of every page, in menu order."""
    return {p: page(p) for p in PAGES}


def link(url_path, *, label=None, icon=None, query=None, help=None, width="content"):
    """st.page_link to a page with query parameters; returns False (and draws nothing) if the page is absent."""
    if url_path not in PAGES:
        return False
    # a page link replaces the whole query string, so carry the app-wide choices over explicitly
    kept = {k: st.query_params[k] for k in KEPT_PARAMS if k in st.query_params}
    st.page_link(PAGES[url_path][0], label=label, icon=icon, query_params={**kept, **(query or {})}, help=help,
                 width=width)
    return True


def menu():
    """The translated page menu (Streamlit's own is hidden by client.showSidebarNavigation = false)."""
    for p in pages().values():
        link(p.url_path, label=p.title, icon=p.icon, help=p.help, width="stretch")
