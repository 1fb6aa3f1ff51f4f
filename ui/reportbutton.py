"""The "Download report" button: one self-contained HTML file of a page's Draft, built only when it is clicked."""
import functools
import re

import streamlit as st

from engine.modelfile import card_json
from ui import cardrows, modeltitles
from ui.i18n import current_lang, t
from ui.panels import plain


def file_name(*parts):
    """A safe .html file name from parts (model id, image name...): letters and digits of any script, '-', '_', '.'."""
    stem = re.sub(r"[^\w.-]+", "-", "-".join(str(p) for p in parts)).strip("-._")
    return (stem[:100] or "mnist-report") + ".html"


def card_rows(model_id, model):
    """A report's model card: the model's title in the reader's language (the page's card heading), then the card's rows."""
    return [(t("card.model"), plain(modeltitles.title(model_id, model))), *cardrows.rows(model_id, model)]


def html_args(model_id, model):
    """Draft.html's arguments besides the draft: the model card and the report's own words (its date line, the card's
    heading, the JSON's summary), translated now, while the page runs: a click handler has no session for t()."""
    return {"card_rows": card_rows(model_id, model), "card_json": card_json(model), "lang": current_lang(),
            "labels": {"made": t("report.made"), "card": t("report.card"), "card_json": t("card.json")}}


def builder(draft, *, model_id, model):
    """A zero-argument function returning the report's HTML."""
    return functools.partial(draft.html, **html_args(model_id, model))


def button(build, *, key, file_name_parts):
    """Draw the button for build (a zero-argument function returning the HTML), kept in st.session_state[key + '_html']
    where tests read the report; the file is built on click (plotly.js is ~4.7 MB)."""
    st.session_state[f"{key}_html"] = build
    st.download_button(t("report.download"), data=build, file_name=file_name(*file_name_parts), mime="text/html",
                       on_click="ignore", icon="📄", key=key, help=t("report.download_help"))


def offer(draft, *, model_id, model, key, file_name_parts):
    """Draw the button of a page's Draft, which may still be filled after this call."""
    button(builder(draft, model_id=model_id, model=model), key=key, file_name_parts=file_name_parts)
