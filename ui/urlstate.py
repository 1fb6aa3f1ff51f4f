"""A page's view in the URL: typed, validated reads of st.query_params and writes that keep a copied link reproducible.

A bad value (`?index=abc`, `?split=banana`, `?page=-3`) never raises: it reads as the default.
Widgets are seeded from the URL with `seed(key, value)` before they are drawn, and `write()` puts
the view back into the URL after they are drawn.
"""
import re

import streamlit as st

_INT = re.compile(r"-?[0-9]{1,12}")
_WRITTEN = "_urlstate_written"  # session key: the URL values this session itself wrote last


def raw(name):
    """The last value of query parameter name, or None."""
    v = st.query_params.get(name)
    return v if isinstance(v, str) else None


def as_choice(text, choices, default):
    """text if it is one of choices (compared as strings), else default."""
    by_text = {str(c): c for c in choices}
    return by_text.get(text, default) if text is not None else default


def as_int(text, default, *, lo=None, hi=None):
    """text as an int within [lo, hi], else default: plain ASCII digits only (no float, spaces, '١٢' or 400-digit strings)."""
    if text is None or not _INT.fullmatch(text):
        return default
    v = int(text)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        return default
    return v


def as_bool(text, default):
    """'1'/'true'/'yes'/'on' -> True, '0'/'false'/'no'/'off' -> False, anything else -> default."""
    if text is None:
        return default
    return {"1": True, "true": True, "yes": True, "on": True,
            "0": False, "false": False, "no": False, "off": False}.get(text.strip().lower(), default)


def distinct(items, choices, *, most):
    """The items that are choices (compared as strings), each once, in order, at most `most` of them."""
    allowed = {str(c): c for c in choices}
    return list(dict.fromkeys(allowed[str(p)] for p in items if str(p) in allowed))[:most]


def read_list(name, choices, *, sep=",", most):
    """Query parameter name as a list of distinct choices (unknown and repeated items dropped), at most `most` long."""
    return distinct((raw(name) or "").split(sep), choices, most=most)


def read_choice(name, choices, default):
    """Query parameter name as one of choices, else default."""
    return as_choice(raw(name), choices, default)


def read_int(name, default, *, lo=None, hi=None):
    """Query parameter name as an int in [lo, hi], else default."""
    return as_int(raw(name), default, lo=lo, hi=hi)


def read_bool(name, default):
    """Query parameter name as a bool, else default."""
    return as_bool(raw(name), default)


def changed_outside(name):
    """True when the URL holds a value for name that this session did not write (a link, a pasted URL)."""
    text = raw(name)
    return text is not None and text != st.session_state.get(_WRITTEN, {}).get(name)


def seed(key, name, value):
    """Set widget key to value (already parsed from the URL) on a first visit or when the URL was changed from outside."""
    if key not in st.session_state or changed_outside(name):
        st.session_state[key] = value


def write(*, defaults=None, **values):
    """Put name=value pairs in the URL; a value of None, or equal to its entry in defaults, is removed to keep links short."""
    defaults = defaults or {}
    written = st.session_state.setdefault(_WRITTEN, {})
    for name, value in values.items():
        text = None if value is None or (name in defaults and value == defaults[name]) else str(value)
        if text is None:
            if name in st.query_params:
                del st.query_params[name]
            written.pop(name, None)
        else:
            if raw(name) != text:
                st.query_params[name] = text
            written[name] = text


def query(**values):
    """A dict of query parameters for st.page_link (None values left out, everything a string)."""
    return {k: str(v) for k, v in values.items() if v is not None}
