"""Glossary: the book's terms in a few plain sentences each, with links to the pages where they appear.

Each heading is the book's term first; where texts today say it differently, the other name follows in brackets
(i18n/terms.csv says which names, and tests/test_terms.py checks that the entries give them)."""
import streamlit as st

from ui import nav, panels, shell
from ui.i18n import t

shell.page("glossary")

# (group, [(term, [(url_path, query), ...])]): each term is explained once here and shown at work on the linked pages
TERMS = (
    ("network", [
        ("layers", [("home", None), ("single", None)]),
        ("neuron", [("home", None), ("single", None)]),
        ("weights", [("home", None)]),
        ("forward", [("single", None)]),
        ("activation", [("single", None), ("train", None)]),
        ("sigmoid", [("single", None)]),
        ("relu", [("single", None), ("train", {"act": "relu"})]),
        ("softmax", [("single", None)]),
    ]),
    ("data", [
        ("mnist", [("dataset", None), ("home", None)]),
        ("normalize", [("dataset", {"tab": "flags"}), ("preprocess", None)]),
        ("preprocessing", [("preprocess", None)]),
        ("one_hot", [("dataset", {"tab": "flags"})]),
        ("batch", [("evaluate", {"tab": "runtime"}), ("train", None)]),
    ]),
    ("training", [
        ("loss", [("train", None)]),
        ("gradient", [("single", None), ("train", None)]),
        ("learning_rate", [("train", None)]),
        ("epoch", [("train", None)]),
        ("validation", [("train", None)]),
        ("overfitting", [("train", None)]),
    ]),
    ("judging", [
        ("accuracy", [("evaluate", None)]),
        ("confusion", [("evaluate", {"tab": "matrix"})]),
        ("calibration", [("evaluate", {"tab": "calibration"})]),
        ("mcnemar", [("evaluate", {"tab": "compare"})]),
        ("interval", [("preprocess", {"tab": "accuracy"})]),
        ("saturation", [("single", None), ("preprocess", {"tab": "mismatch"})]),
    ]),
)

panels.intro(t("glossary.title"), t("glossary.intro"))
pages = nav.pages()
for group, terms in TERMS:
    # a group to a fold, the first one open: every term open would fill many screens of a phone
    section = st.expander(f"**{t(f'glossary.group_{group}')}** ({len(terms)})", expanded=group == TERMS[0][0])
    for term, links in terms:
        with section.container(border=True):
            words, where = st.columns([3, 1], vertical_alignment="center")
            words.markdown(f"**{t(f'glossary.{term}')}**: {t(f'glossary.{term}_text')}")
            with where.container(horizontal=True):  # the links side by side where they fit: a phone shows them in a line
                for url_path, query in links:
                    page = pages.get(url_path)
                    if page is not None:
                        nav.link(url_path, label=page.title, icon=page.icon, query=query)

shell.end()
