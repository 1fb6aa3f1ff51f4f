"""The frame of every page: its tab title, the sidebar (menu, language, model, data status) and the link box.

A page opens with `shell.page("dataset")` and closes with `shell.end()`; `shell.stop()` ends it early.
"""
import atexit
import threading

import streamlit as st

from engine import debris
from ui import i18n, models, nav, share, sidebar, threads

# The sidebar's widgets are drawn by every page script; Streamlit forgets a widget's value when the page that drew it
# is left, unless the value was set from code in this run. Setting them to themselves keeps language and model.
KEPT_WIDGETS = (i18n.PICK_KEY, models.PICK_KEY)


_STARTED = threading.Event()
_START_LOCK = threading.Lock()


def start_once():
    """At a server's first page: its BLAS thread policy, and a sweep of what killed runs left (again at exit)."""
    with _START_LOCK:
        if _STARTED.is_set():
            return
        _STARTED.set()
        threads.apply()
        folders = (models.models_dir(),)
        debris.sweep(folders=folders)
        atexit.register(debris.sweep, folders=folders, exiting=True)


def page(url_path):
    """Open the page at url_path: tab title and icon, then the shared sidebar; the link box is filled by end()."""
    start_once()
    p = nav.page(url_path)
    st.set_page_config(page_title=f"{p.title} · MNIST Explorer", page_icon=p.icon, layout="wide")
    for key in KEPT_WIDGETS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    menu = st.sidebar.container()  # drawn last: the model picker writes ?model= that the menu's links carry
    i18n.language_picker()
    default_model = sidebar.model_picker()
    sidebar.data_status()
    share.reserve(url_path, default_model=default_model)
    i18n.mark_page()
    with menu:
        nav.menu()


def end():
    """Close the page: fill the link box with the view's address, now that every widget has written the URL."""
    share.fill()


def stop():
    """End the page here (no data, no model): the link box still says which page and language."""
    share.stop()
