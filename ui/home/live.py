"""Home's first screen: the network at work on a sample test digit, its answer, a random digit, and a way to draw one's own."""
import secrets

import streamlit as st

from engine import explain
from ui import nav, network, urlstate
from ui.i18n import t

SAMPLE = 0  # test #0, a 7: the first digit most readers of the book meet
KEY = "home_index"


def random_index(n):
    """A random test image number in [0, n)."""
    return secrets.randbelow(n)


def pick_random(n):
    """The Random digit button: any test image."""
    st.session_state[KEY] = random_index(n)


def show(ds, model_id, model):
    """The network reading one test digit (left) beside its answer and the buttons (right), one run, no plotly."""
    n = ds.size("test")
    if not 0 <= st.session_state.get(KEY, SAMPLE) < n:  # another dataset (fewer test images) since the last run
        st.session_state[KEY] = SAMPLE if SAMPLE < n else 0
    index = st.session_state.get(KEY, SAMPLE)
    pixels, label = ds.images("test")[index], int(ds.labels("test")[index])
    tr = explain.trace(model, pixels)
    left, right = st.columns([3, 2], gap="large")
    with left:
        network.view(model, tr)
    with right:
        network.answer(tr, label=label)
        st.caption(t("home.sample", index=index, label=label))
        c = st.columns(2)
        c[0].button(t("home.random"), icon="🎲", on_click=pick_random, args=(n,), key="home_random", width="stretch")
        with c[1]:
            nav.link("single", label=t("home.draw_own"), icon="✏️", query={"input": "draw"}, width="stretch")
        nav.link("single", label=t("home.open_single"), icon="🔍",
                 query=urlstate.query(split="test", index=index, model=model_id))
