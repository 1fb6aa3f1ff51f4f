"""The single-image page's input column: where the digit comes from (an MNIST image, the canvas, an upload) and its caption."""
import html
from typing import NamedTuple

import streamlit as st

from engine import drawcode
from engine.errors import ImageFormatError
from ui import errors, urlstate
from ui.i18n import t
from ui.images import png
from ui.single import drawlink
from ui.single import state as ss

SPLITS = ("test", "train")
SOURCES = ("mnist", "draw", "upload")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
READ_PX = 112  # the digit the net reads, 4 px a pixel: beside its caption on a 390 px phone


class Picked(NamedTuple):
    """The input chosen: pixels (28, 28) 0-255 (None until there is one), its true label (MNIST only), a name, the Digitized steps."""

    source: str
    pixels: object = None
    label: object = None
    name: object = None
    digitized: object = None
    prompt: object = None  # what to say where the answer will be, while there is no input yet
    shared: bool = False  # the digit came with the link (?draw=), not from this session's canvas or upload


def seed(ds, others, other_default):
    """Seed the page's widgets from the URL: a link from another page (?split=test&index=123) opens that MNIST image."""
    if urlstate.changed_outside("split") or urlstate.changed_outside("index"):
        st.session_state["single_source"] = "mnist"
    urlstate.seed("single_source", "input", urlstate.read_choice("input", SOURCES, "mnist"))
    urlstate.seed("single_split", "split", urlstate.read_choice("split", SPLITS, "test"))
    size = ds.size(st.session_state["single_split"])
    urlstate.seed("single_index", "index", urlstate.read_int("index", 0, lo=0, hi=size - 1))
    if not 0 <= st.session_state["single_index"] < size:
        st.session_state["single_index"] = 0
    compare_url = urlstate.read_choice("compare", others, None)
    urlstate.seed("single_compare", "compare", compare_url is not None)
    urlstate.seed("single_compare_model", "compare", compare_url or other_default)
    if st.session_state["single_compare_model"] not in others:  # the compared model became the main one, or left
        st.session_state["single_compare_model"] = other_default
    drawlink.seed(ss.clear_canvas)


def source():
    """The switch between an MNIST image, the canvas and an upload."""
    return st.segmented_control(t("single.source"), SOURCES, key="single_source", required=True,
                                format_func=lambda s: t(f"single.source_{s}"))


def choose(source, ds, model_id, model):
    """Draw the picker of this source (split and number, the canvas, or the uploader); returns Picked."""
    if source == "mnist":
        # lines that wrap, not columns that stack: two short lines on a phone, so the answer card comes sooner
        line = st.container(horizontal=True, vertical_alignment="bottom")
        split = line.radio(t("single.split"), SPLITS, key="single_split", horizontal=True, on_change=ss.clamp_index,
                           args=(ds,), format_func=lambda s: t(f"single.split_{s}"), width="content")
        index = line.number_input(t("single.index", last=f"{ds.size(split) - 1:,}"), min_value=0, max_value=ds.size(split) - 1,
                                  step=1, key="single_index")
        line = st.container(horizontal=True)
        line.button(t("single.random"), icon="🎲", on_click=ss.pick_random, args=(ds,), width="stretch", key="single_random")
        line.button(t("single.next_mistake"), icon="⏭️", on_click=ss.pick_next_mistake, args=(ds, model_id, model),
                    width="stretch", key="single_next", help=t("single.next_mistake_help"))
        return Picked(source, ds.images(split)[index], int(ds.labels(split)[index]), f"{t(f'single.split_{split}')} #{index}")
    if source == "draw":
        st.space("small")  # room for the toolbar the canvas shows above itself on hover
        rgba = ss.draw_canvas(key=ss.canvas_key())
        st.button(t("single.clear"), icon="🧽", on_click=ss.clear_canvas, key="single_clear")
        st.caption(t("single.draw_help"))
        if rgba is None:
            return _shared(source) or Picked(source, prompt=t("single.draw_prompt"))
        try:
            return _digitized(source, ss.digitize_drawing(rgba), t("single.your_drawing"))
        except ImageFormatError as e:
            errors.show(e)
            return Picked(source)
    up = st.file_uploader(t("single.upload_label"), type=UPLOAD_TYPES, key="single_upload", help=t("single.upload_help"))
    if up is None:
        return _shared(source) or Picked(source, prompt=t("single.upload_prompt"))
    try:
        # the name goes into chart titles: shown as typed, never as Markdown or HTML
        return _digitized(source, ss.digitize_upload(up.getvalue(), up.name), html.escape(up.name))
    except ImageFormatError as e:
        errors.show(e)  # the message quotes the file name: shown as typed, never as Markdown
        return Picked(source)


def _digitized(source, digitized, name):
    # in the 16 grey levels a link carries: whoever opens this view's link gets these very pixels
    return Picked(source, drawcode.quantize(digitized.digit), None, name, digitized)


def _shared(source):
    """The digit a link brought, as the input (None when there is none)."""
    digit = drawlink.shared()
    return None if digit is None else Picked(source, digit, None, t("single.shared_drawing"), shared=True)


def describe(picked, ds, model_id, model, pred):
    """Under the picker: what was picked (for an MNIST mistake, what the model answered) and the digit the net reads.

    Returns the words said about an MNIST image (None for a drawing or an upload), for the report.
    """
    words, notice = None, None
    line = st.container(horizontal=True, vertical_alignment="center")  # the picture beside the words, also on a phone
    if (picked.source != "draw" or picked.shared) and picked.pixels is not None:  # the canvas shows a drawing made here
        line.image(png(picked.pixels, scale=4, invert=True), caption=t("single.what_it_reads"), width=READ_PX)
    if picked.source == "mnist":
        split, index = st.session_state["single_split"], st.session_state["single_index"]
        rank, wrong = ss.mistake_rank(ds, model_id, model, split, index)
        words = t("single.picked", name=picked.name, label=picked.label, wrong=f"{wrong:,}", n=f"{ds.size('test'):,}")
        words += (" " + t("single.mistake_answer", k=rank, wrong=f"{wrong:,}", d=pred)) if rank else ""
        line.container(gap=None).markdown(words)  # a stretching container shares the line, a bare text would take it whole
        notice = st.session_state.pop("single_notice", None)
    if notice:
        st.info(notice)
    if picked.shared:
        st.caption(t("single.shared_drawing_help"))
    return words
