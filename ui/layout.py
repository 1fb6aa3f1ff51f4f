"""One layout for a phone and a desktop (the server never learns the screen's width): lines of cells that wrap in
reading order, and the plotly toolbar only where there is a mouse to hover with.

Streamlit stacks st.columns one per line at 640 px and below, so 24 thumbnails in 8 columns become one column of 24
in column order (#0, #8, #16, #1 …). A horizontal container of fixed-width cells wraps instead: each line fills left
to right with as many cells as fit: 8 thumbnails in the 980 px beside the sidebar of a 1440 px desktop, 3 on a 390 px
phone.
"""
import re

import streamlit as st

from ui import charts

THUMB_PX = 100  # 3 × 100 + 2 gaps fit a 375 px phone (343 px inside); 8 fit a 1440 px desktop (980 px), 9 do not
GAP = "small"  # 16 px between cells (and lines), as between st.columns: a picture's button stays with its picture
TOUCH = re.compile(r"Mobi|Android|iPhone|iPad|iPod", re.I)  # what phones and tablets put in their User-Agent


def cells(n, *, width, key):
    """n containers of width px on lines that wrap: item i goes in cells[i], so they read left to right, top to bottom."""
    line = st.container(horizontal=True, gap=GAP, key=key)
    return [line.container(width=width, gap="xsmall") for _ in range(n)]  # a picture, its caption and its button belong together


def line(*, key):
    """A line of widgets or numbers spread across the width, wrapping as they need (st.columns stack one to a line)."""
    return st.container(horizontal=True, horizontal_alignment="distribute", vertical_alignment="bottom", key=key)


def touch():
    """True when the browser says it is a phone or a tablet: a tap there shows plotly's toolbar over the chart's title."""
    try:
        agent = st.context.headers.get("User-Agent") or ""
    except (AttributeError, RuntimeError):  # no browser behind this run (a test, a bare script)
        agent = ""
    return bool(TOUCH.search(agent))


def plotly_config(filename):
    """st.plotly_chart's config: the toolbar (saving filename.png) on hover with a mouse, none on a touch screen."""
    return charts.config(filename, toolbar=not touch())
