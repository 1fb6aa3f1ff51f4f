"""A drawn or uploaded digit in the link (?draw=, engine.drawcode), and its reopening as "a shared drawing".

The sender's page reads its digit in the 16 grey levels a link carries, so whoever opens the link sees the very same
numbers. A link's digit is kept in the session until Clear, or a new link, replaces it; a drawing on the canvas or an
uploaded picture is shown instead while there is one.
"""
import streamlit as st

from engine import drawcode
from engine.errors import ImageFormatError
from ui import urlstate
from ui.i18n import t

KEY = "single_shared_drawing"  # the (28, 28) uint8 digit a link brought
CARRIED = ("draw", "upload")  # the sources whose digit a link carries


def seed(clear_canvas):
    """Read ?draw= when it came from outside this session: keep its digit and open the canvas (the upload tab if the link
    says so); a bad value is dropped with a notice, and the page opens its default view, an MNIST image."""
    if not urlstate.changed_outside("draw"):
        return
    try:
        digit = drawcode.decode(urlstate.raw("draw"))
    except ImageFormatError:
        st.session_state.pop(KEY, None)
        st.session_state["single_source"] = "mnist"
        st.session_state["single_notice"] = t("single.draw_link_bad")
        return
    clear_canvas()  # a drawing on this session's canvas would hide the one the link brings
    st.session_state[KEY] = digit
    if st.session_state.get("single_source") not in CARRIED:
        st.session_state["single_source"] = "draw"


def shared():
    """The digit (28, 28) uint8 a link brought, or None."""
    return st.session_state.get(KEY)


def forget():
    st.session_state.pop(KEY, None)


def code(source, pixels):
    """The ?draw= text of the digit shown (a drawing or a picture), else None (an MNIST image travels as its index)."""
    return drawcode.encode(pixels) if source in CARRIED and pixels is not None else None
