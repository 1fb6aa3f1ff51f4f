"""Engine errors shown to a user in their language: one translated sentence by error kind, the engine's own detail as code.

The engine writes one English sentence naming the thing and the fix; a reader of 简体中文 or 日本語 gets the same
advice as a translated headline, with the engine's sentence below it (file names and numbers stay exact).
"""
import re

import streamlit as st

from engine.errors import (
    DownloadError,
    EngineError,
    ImageFormatError,
    MnistFormatError,
    MnistNotFoundError,
    ModelFormatError,
    TrainingError,
)
from ui.i18n import current_lang, t
from ui.panels import plain

# (error class, pattern in the engine's message or None, i18n key); the first match wins, so specific kinds come first
KINDS = (
    (ImageFormatError, re.compile(r"no ink|canvas is empty"), "error.image_blank"),
    (ImageFormatError, re.compile(r"megapixels|decompression bomb"), "error.image_too_large"),
    (ImageFormatError, None, "error.image"),
    (ModelFormatError, re.compile(r"is not a model file"), "error.model_kind"),
    (ModelFormatError, None, "error.model"),
    (MnistNotFoundError, None, "error.mnist_missing"),
    (MnistFormatError, None, "error.mnist_format"),
    (DownloadError, None, "error.download"),
    (TrainingError, re.compile(r"[Ll]earning rate too high"), "error.training_diverged"),
    (TrainingError, None, "error.training"),
    (EngineError, None, "error.engine"),
)


def key_of(error):
    """The i18n key of the headline for an EngineError (or any exception: the generic one)."""
    text = str(error)
    for cls, pattern, key in KINDS:
        if isinstance(error, cls) and (pattern is None or pattern.search(text)):
            return key
    return "error.engine"


LEAD = {"error.download"}  # headlines that lead in English too: what to do now says more than the network's errno


def explained(key, detail):
    """Markdown: the engine's English sentence as typed; in another language (or for LEAD keys) key's headline first."""
    detail = str(detail).strip()
    if current_lang() == "en" and key not in LEAD:
        return plain(detail)  # shown as typed: a file name never turns into Markdown
    fence = "~~~" if "```" in detail else "```"
    return f"{t(key)}\n\n{fence}text\n{detail}\n{fence}"


def message(error):
    """Markdown for one EngineError (see explained)."""
    return explained(key_of(error), error)


def show(error, *, where=None):
    """Draw one st.error for error (in the sidebar when where=st.sidebar)."""
    (where or st).error(message(error), icon="⚠️")


def training(detail):
    """Markdown for a training run's failure text (the child process sends it as a string, not an exception)."""
    diverged = re.search(r"[Ll]earning rate too high", str(detail))
    return explained("error.training_diverged" if diverged else "error.training", detail)
