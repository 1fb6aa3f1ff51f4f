"""The single-image page's cached results and input helpers: mistakes, training-set neighbours, pictures, the canvas.

Results are cached per (dataset key, model id, weights fingerprint), so a model uploaded again under the same name
is a new entry. The canvas is read through draw_canvas(), which AppTests replace to inject a drawing.
"""
import hashlib
import secrets
import weakref

import streamlit as st

from engine import explain, imagefile, mistakes, picture
from engine.errors import ImageFormatError
from ui import errors
from ui.i18n import t
from ui.images import png
from ui.loaders import dataset
from ui.single import drawlink

CANVAS_SIDE = 280  # px; 10x MNIST's 28, so a finger or mouse stroke of ~18 px becomes MNIST's ~2 px pen
MAX_CANVAS_SIDE = 4 * CANVAS_SIDE  # the canvas's PNG is drawn at the screen's pixel ratio (2 on most phones, 3 on some)
STROKE = 18
_FINGERPRINTS = weakref.WeakKeyDictionary()  # model -> hash of its weights, computed once per model object


def fingerprint(model):
    """A short hash of a model's weights and preprocessing arrays (16 hex digits)."""
    fp = _FINGERPRINTS.get(model)
    if fp is None:
        h = hashlib.blake2b(digest_size=8)
        arrays = dict(model.params)
        if model.preprocess is not None:
            arrays.update(model.preprocess.to_arrays())
        for k in sorted(arrays):
            h.update(k.encode())
            h.update(arrays[k].tobytes())
        h.update(model.activation.encode())
        fp = _FINGERPRINTS[model] = h.hexdigest()
    return fp


@st.cache_data(show_spinner=False, max_entries=16)
def _mistakes(data_key, model_id, fp, _model):
    ds = dataset()
    return mistakes.mistakes(_model, ds.images("test"), ds.labels("test"))


def test_mistakes(ds, model_id, model):
    """Ascending indices (m,) of the test images the model gets wrong (computed once per model)."""
    return _mistakes(ds.key, model_id, fingerprint(model), model)


def next_mistake(ds, model_id, model, split, index):
    """The next test image after (split, index) that the model gets wrong (from the start for a training image), or None."""
    return mistakes.next_after(test_mistakes(ds, model_id, model), index if split == "test" else -1)


def mistake_rank(ds, model_id, model, split, index):
    """(1-based position of this image among the model's test mistakes or None, number of mistakes)."""
    wrong = test_mistakes(ds, model_id, model)
    return (mistakes.rank(wrong, index) if split == "test" else None), len(wrong)


@st.cache_resource(show_spinner=False, max_entries=4)
def _neighbour_index(data_key, model_id, fp, _model):
    # 60,000 x width float32 (24 MB for width 100), embedded in batches of 2,000 images
    img = dataset().images("train")
    return explain.NeighbourIndex(explain.embed(_model, img.reshape(len(img), -1), batch_size=2000))


def neighbours(ds, model_id, model, q, *, k=8):
    """The k training images nearest to embedding q (last hidden layer): (indices, distances, labels, PNGs), nearest first."""
    idx, dist = _neighbour_index(ds.key, model_id, fingerprint(model), model).query(q, k=k)
    img = ds.images("train")
    return idx, dist, ds.labels("train")[idx], [png(img[i], scale=4, invert=True) for i in idx]  # dark ink on white


@st.cache_data(show_spinner=False, max_entries=16)
def digitize_upload(data, name):
    """An uploaded picture's bytes -> engine.picture.Digitized; raises ImageFormatError with one sentence."""
    return picture.digitize_bytes(data, name=name)


@st.cache_data(show_spinner=False, max_entries=16)
def digitize_drawing(rgba):
    """Canvas pixels (h, w, 4) uint8 -> engine.picture.Digitized; raises ImageFormatError when nothing is drawn."""
    return picture.digitize_canvas(rgba)


def draw_canvas(*, key):
    """The drawing canvas (white ink on black); its pixels (h, w, 4) uint8 once something is drawn, else None."""
    # imported here: the component registers itself with Streamlit's runtime on import, so only a running page can import it
    from streamlit_drawable_canvas import st_canvas
    result = st_canvas(stroke_width=STROKE, stroke_color="#ffffff", background_color="#000000", height=CANVAS_SIDE,
                       width=CANVAS_SIDE, drawing_mode="freedraw", return_image_data=True, key=key)
    if not (result.json_data or {}).get("objects"):
        return None
    # the PNG's size is checked from its header before decoding: a client can send any picture as the canvas value
    try:
        return imagefile.canvas_pixels(result.image_bytes, most=MAX_CANVAS_SIDE)
    except ImageFormatError as e:
        errors.show(e)
        return None


def random_index(n):
    """A random image number in [0, n)."""
    return secrets.randbelow(n)


# The widget callbacks below run before the page reruns, so they may set the split and index widgets.
def clamp_index(ds):
    """A new split keeps the image number when it exists there, else starts at 0."""
    if st.session_state["single_index"] >= ds.size(st.session_state["single_split"]):
        st.session_state["single_index"] = 0


def pick_random(ds):
    """Random: any image of the current split."""
    st.session_state["single_index"] = random_index(ds.size(st.session_state["single_split"]))


def pick_next_mistake(ds, model_id, model):
    """Next mistake: the next test image the model gets wrong, or a notice that there is none."""
    nxt = next_mistake(ds, model_id, model, st.session_state["single_split"], st.session_state["single_index"])
    if nxt is None:
        st.session_state["single_notice"] = t("single.no_mistakes", model=model_id)
        return
    st.session_state["single_split"], st.session_state["single_index"] = "test", nxt


def canvas_key():
    """The canvas widget's key; clear_canvas changes it, which mounts a fresh, empty canvas."""
    return f"single_canvas_{st.session_state.get('single_canvas_n', 0)}"


def clear_canvas():
    """Clear: a fresh canvas, and no drawing from a link either."""
    st.session_state["single_canvas_n"] = st.session_state.get("single_canvas_n", 0) + 1
    drawlink.forget()
