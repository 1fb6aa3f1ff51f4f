"""UI text in English, 简体中文 and 日本語: t(key) looks a key up in i18n/<lang>.json for the current language."""
import json
from functools import cache
from pathlib import Path

import streamlit as st

CATALOG_DIR = Path(__file__).resolve().parents[1] / "i18n"
LANGS = {"en": "English", "zh": "简体中文", "ja": "日本語"}
DEFAULT = "en"


@cache
def catalog(lang):
    """The key -> text dict of one language, read once per process."""
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def current_lang():
    """The language in the URL (?lang=zh), else English; an unknown code falls back to English."""
    lang = st.query_params.get("lang", DEFAULT)
    return lang if lang in LANGS else DEFAULT


def t(key, **values):
    """The text for key in the current language, with {placeholders} filled; English when a translation is missing."""
    lang = current_lang()
    text = catalog(lang).get(key) or catalog(DEFAULT).get(key)
    if text is None:
        raise KeyError(f"UI text key '{key}' is missing from i18n/{DEFAULT}.json")
    return text.format(**values) if values else text


def language_picker():
    """Sidebar select box for the language, kept in the URL as ?lang=."""
    codes = list(LANGS)
    lang = st.sidebar.selectbox("🌐 Language / 语言 / 言語", codes, index=codes.index(current_lang()),
                                format_func=LANGS.get, key="lang_picker")
    if lang != current_lang():
        if lang == DEFAULT:
            st.query_params.pop("lang", None)
        else:
            st.query_params["lang"] = lang
        st.rerun()
