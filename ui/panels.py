"""Small drawing helpers every page uses the same way: the page intro, a chart with its reading hint, a model card."""
import re

import streamlit as st

from engine.modelfile import card_json
from ui import cardrows, layout, modeltitles
from ui.i18n import t
from ui.inert import one_line


def plain(text):
    """Text from a file (a model card) made inert for st.markdown: Markdown and HTML characters escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", one_line(text))


def intro(title, text):
    """The page title and its 2-3 sentences: what the page shows and what to try."""
    st.title(title)
    st.markdown(text)


def chart(fig, *, how_to_read, filename, key=None, draft=None):
    """A plotly figure with the toolbar (PNG saved as filename.png; none on a touch screen) and a "how to read this" caption.

    draft: a ui.report.Draft that gets the same chart for the page's downloadable report.
    """
    st.plotly_chart(fig, config=layout.plotly_config(filename), key=key)
    st.caption(f"📖 {how_to_read}")
    if draft is not None:
        draft.chart(fig, how_to_read=how_to_read, filename=filename)


def model_card(model_id, model):
    """The active model's card: what it is, its shape, its preprocessing, where it came from; the full JSON on request."""
    with st.container(border=True):
        st.markdown(f"**{plain(modeltitles.title(model_id, model))}**")
        st.markdown("\n".join(f"- **{k}:** {v}" for k, v in cardrows.rows(model_id, model)))
        with st.expander(t("card.json")):
            st.code(card_json(model), language="json", wrap_lines=True)  # a phone shows it all, no sideways scroll
