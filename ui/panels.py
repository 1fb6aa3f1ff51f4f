"""Small drawing helpers every page uses the same way: the page intro, a chart with its reading hint, a model card."""
import re

import streamlit as st

from engine.modelfile import card_json
from ui.charts import config
from ui.i18n import t


def plain(text):
    """Text from a file (a model card) made inert for st.markdown: Markdown and HTML characters escaped."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", str(text))


def intro(title, text):
    """The page title and its 2-3 sentences: what the page shows and what to try."""
    st.title(title)
    st.markdown(text)


def chart(fig, *, how_to_read, filename, key=None):
    """A plotly figure with the toolbar (PNG saved as filename.png) and a one-line "how to read this" caption."""
    st.plotly_chart(fig, config=config(filename), key=key)
    st.caption(f"📖 {how_to_read}")


def model_card(model_id, model):
    """The active model's card: what it is, its shape, its preprocessing, where it came from; the full JSON on request."""
    card = model.card
    pre = card.get("preprocess") or {}
    rows = [
        (t("card.id"), plain(model_id)),
        (t("card.layers"), " → ".join(str(s) for s in model.sizes)),
        (t("card.activation"), f"{model.activation} → softmax"),
        (t("card.preprocess"), plain(f"{pre.get('kind', 'unit')}: {pre.get('description', '')}".rstrip(": "))),
    ]
    for key in ("test_accuracy", "accuracy"):
        if isinstance(card.get(key), int | float):
            rows.append((t("card.accuracy"), f"{card[key]:.2%}"))
            break
    train = card.get("training")
    if isinstance(train, dict) and train.get("optimizer"):
        rows.append((t("card.training"), plain(", ".join(
            f"{k} {train[k]}" for k in ("optimizer", "lr", "epochs", "batch_size") if k in train))))
    prov = card.get("provenance")
    if isinstance(prov, dict):  # a trainer's record: show what a reader can use, not the hashes
        prov = "; ".join(f"{k}: {v}" for k, v in prov.items() if not str(k).endswith("sha256"))
    if prov:
        rows.append((t("card.provenance"), plain(prov)))
    with st.container(border=True):
        st.markdown(f"**{plain(card.get('title') or model_id)}**")
        st.markdown("\n".join(f"- **{k}:** {v}" for k, v in rows))
        with st.expander(t("card.json")):
            st.code(card_json(model), language="json")
