"""UI text in English, 简体中文 and 日本語: t(key) looks a key up in i18n/<lang>.json for the current language."""
import json
from functools import cache
from pathlib import Path

import streamlit as st

from ui import urlstate

CATALOG_DIR = Path(__file__).resolve().parents[1] / "i18n"
LANGS = {"en": "English", "zh": "简体中文", "ja": "日本語"}  # each language named in itself, so a reader finds their own
# <html lang> per language: the browser picks Simplified Chinese glyphs for zh-Hans (not Japanese ones for the same
# code points), and screen readers read in the right voice
HTML_LANG = {"en": "en", "zh": "zh-Hans", "ja": "ja"}
DEFAULT = "en"
PICK_KEY = "lang_picker"  # the sidebar select box's session key


@cache
def catalog(lang):
    """The key -> text dict of one language, read once per process."""
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def current_lang():
    """The language in the URL (?lang=zh); without one, the language this session picked; else English."""
    lang = st.query_params.get("lang")
    if lang is None:  # the sidebar's page menu drops the query string: the session remembers the choice
        lang = st.session_state.get(PICK_KEY, DEFAULT)
    return lang if lang in LANGS else DEFAULT


def t(key, **values):
    """The text for key in the current language, with {placeholders} filled; English when a translation is missing."""
    lang = current_lang()
    text = catalog(lang).get(key) or catalog(DEFAULT).get(key)
    if text is None:
        raise KeyError(f"UI text key '{key}' is missing from i18n/{DEFAULT}.json")
    return text.format(**values) if values else text


def sentences(parts):
    """Sentences joined as the current language writes them: a space between them in English, none after 。 in zh/ja."""
    return ("" if current_lang() in ("zh", "ja") else " ").join(parts)


def _keep(lang):
    urlstate.write(lang=lang, defaults={"lang": DEFAULT})


def _on_pick():
    """The new language goes into the URL before the rerun, so every t() of that run (page titles too) uses it."""
    _keep(st.session_state[PICK_KEY])


def mark_page():
    """Set <html lang> to the current language (Streamlit serves every page as lang="en")."""
    code = HTML_LANG[current_lang()]  # one of three fixed strings: nothing from the visitor reaches the script
    st.sidebar.html(f"<script>document.documentElement.lang = {json.dumps(code)};</script>", unsafe_allow_javascript=True)


def language_picker():
    """Sidebar select box for the language, kept in the URL as ?lang= and put back there after a page change."""
    urlstate.seed(PICK_KEY, "lang", current_lang())
    codes = list(LANGS)
    lang = st.sidebar.selectbox(t("shell.language"), codes, format_func=LANGS.get, key=PICK_KEY, on_change=_on_pick,
                                help=t("shell.language_help"))
    _keep(lang)
