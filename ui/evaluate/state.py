"""The evaluation page's data: cached evaluations per model and split, the validation split, gallery order, CSV exports.

Evaluations are keyed by a fingerprint of the model's numbers (not its id alone: two users may each have a
'session:run1' that differ), the dataset's key and the split, so every session shares one result per model.
"""
import hashlib
import io
import re
import weakref

import numpy as np
import pandas as pd
import streamlit as st

from engine import calibration, metrics
from engine.evaluation import evaluate
from engine.train import TrainConfig, split
from ui import loaders

SPLITS = ("test", "val")  # URL ids; 'val' is the training images a model's trainer held out
SORTS = ("conf_desc", "conf_asc", "loss_desc", "loss_asc", "index")
_CELL = re.compile(r"([0-9])-([0-9])")
_PRINTS = weakref.WeakKeyDictionary()  # model -> fingerprint; models are shared read-only, so hashing once is enough


def fingerprint(model):
    """A short hex digest of what decides a model's answers: its weights, activation and preprocessing arrays."""
    fp = _PRINTS.get(model)
    if fp is None:
        h = hashlib.sha1(model.activation.encode())
        pre = model.preprocess
        arrays = {**model.params, **(pre.to_arrays() if pre is not None else {})}
        h.update(str(getattr(pre, "kind", None)).encode())
        for k in sorted(arrays):
            h.update(k.encode())
            h.update(np.ascontiguousarray(arrays[k]).tobytes())
        fp = _PRINTS[model] = h.hexdigest()[:20]
    return fp


def val_settings(model):
    """(val_size, seed, from_card) of the validation split the model's trainer held out; the trainer's defaults if unrecorded."""
    train = model.card.get("training") if isinstance(model.card.get("training"), dict) else {}
    default = TrainConfig()
    try:
        size, seed = int(train.get("val_size", default.val_size)), int(train.get("seed", default.seed))
    except (TypeError, ValueError):
        return default.val_size, default.seed, False
    return size, seed, "val_size" in train


def split_key(model, which):
    """A hashable name of the images evaluated: 'test', or 'val:SIZE:SEED' for the model's own validation split."""
    if which != "val":
        return "test"
    size, seed, _ = val_settings(model)
    return f"val:{size}:{seed}"


def source(ds, key):
    """(split the images come from, their indices (n,) in it) for a split key; the single-image page links by these."""
    return _source(key, ds.size("test"), ds.size("train"))


@st.cache_data(show_spinner=False, max_entries=16)
def _source(key, n_test, n_train):
    if key == "test":
        return "test", np.arange(n_test)
    _, size, seed = key.split(":")
    size = min(max(int(size), 1), n_train - 1)
    return "train", split(n_train, val_size=size, seed=int(seed))[1]  # engine.train.split: the trainer's own held-out indices


@st.cache_data(show_spinner=False, max_entries=24)
def _evaluation(model_fp, data_key, key, _model):
    """engine.evaluation.evaluate of one model on one split; model_fp, data_key and key only key the cache."""
    ds = loaders.dataset()
    name, idx = source(ds, key)
    x, t = ds.images(name), ds.labels(name)
    if key != "test":
        x, t = x[idx], t[idx]
    return evaluate(_model, x, t)


def evaluation(ds, model, key):
    """The cached Evaluation of model on split key ('test' or 'val:SIZE:SEED')."""
    return _evaluation(fingerprint(model), ds.key, key, _model=model)


def summary(ev):
    """Headline numbers of an Evaluation: right, wrong, mean loss, mean confidence, expected calibration error."""
    right = int(ev.correct.sum())
    return {"right": right, "wrong": ev.n - right, "mean_loss": float(ev.loss.mean()), "mean_conf": float(ev.confidence.mean()),
            "ece": calibration.expected_calibration_error(ev.confidence, ev.correct)}


def parse_cell(text):
    """'4-9' -> (4, 9); anything else -> None."""
    m = _CELL.fullmatch(text or "")
    return (int(m[1]), int(m[2])) if m else None


def cell_from_points(points):
    """(true, predicted) of the first clicked confusion-matrix marker in a plotly selection, else None.

    A marker sits at x = predicted digit, y = true digit; its x and y come back as plain numbers (customdata arrives
    as {'0': 7, '1': 2} from plotly's typed arrays, so it is not used).
    """
    for p in points or []:
        x, y = (p.get("x"), p.get("y")) if isinstance(p, dict) else (None, None)
        if isinstance(x, int | float) and isinstance(y, int | float) and x == int(x) and y == int(y) and 0 <= x <= 9 and 0 <= y <= 9:
            return int(y), int(x)
    return None


def default_cell(cm):
    """The most common confusion (largest off-diagonal count), or (0, 0) for a model that makes no mistake."""
    off = np.array(cm)
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    return (int(i), int(j)) if off[i, j] > 0 else (0, 0)


def ordered(ev, indices, sort):
    """Positions (m,) into the evaluation sorted by one of SORTS (confidence or loss, either way, or as stored)."""
    if sort.startswith("conf"):
        return metrics.order_by_confidence(indices, ev.confidence, descending=sort.endswith("desc"))
    if sort.startswith("loss"):
        return metrics.order_by_loss(indices, ev.loss, descending=sort.endswith("desc"))
    return np.asarray(indices)


# --- CSV exports: plain English column names, so a spreadsheet or a script reads them in any UI language


def confusion_frame(cm):
    """The matrix as a DataFrame: rows 'true 0'..'true 9', columns 'predicted 0'..'predicted 9'."""
    k = len(cm)
    return pd.DataFrame(np.asarray(cm), index=pd.Index([f"true {i}" for i in range(k)], name="true \\ predicted"),
                        columns=[f"predicted {j}" for j in range(k)])


def report_frame(report):
    """One row per digit: digit, precision, recall, f1, support, confused_with (nullable), confused_count."""
    df = pd.DataFrame(report, columns=["digit", "precision", "recall", "f1", "support", "confused_with", "confused_count"])
    df["confused_with"] = df["confused_with"].astype("Int64")  # a digit with no mistakes has none: <NA>, not NaN
    return df


def mistakes_frame(ev, positions, *, split_name, indices):
    """Wrong answers at positions: index in the split, true digit, predicted digit, confidence, p(true digit), loss."""
    pos = np.asarray(positions, dtype=np.int64)
    return pd.DataFrame({"split": split_name, "index": np.asarray(indices)[pos], "true": ev.t[pos], "predicted": ev.pred[pos],
                         "confidence": ev.confidence[pos], "p_true": ev.proba[pos, ev.t[pos]], "loss": ev.loss[pos]})


def comparison_frame(ids, evs, sums):
    """One row per compared model: model, accuracy, right, mean_loss, ece."""
    return pd.DataFrame({"model": list(ids), "accuracy": [e.accuracy for e in evs], "right": [x["right"] for x in sums],
                         "mean_loss": [x["mean_loss"] for x in sums], "ece": [x["ece"] for x in sums]})


def agreement_frame(ids, agree):
    """Pairwise agreement rates (m, m) labelled by model id on both axes."""
    return pd.DataFrame(np.asarray(agree), index=list(ids), columns=list(ids))


def answers(ids, evs, position):
    """'book: 4 ✓ · default: 9 ✗': each model's answer for one image of the evaluated set."""
    return " · ".join(f"{m}: {int(e.pred[position])} {'✓' if e.pred[position] == e.t[position] else '✗'}"
                      for m, e in zip(ids, evs, strict=True))


def timing_rows(result):
    """The batched rows of a timing result as a table: batch size, images/s and latency with their spread, images timed."""
    cols = ["batch_size", "images_per_s", "images_per_s_min", "images_per_s_max", "latency_ms", "latency_ms_min", "latency_ms_max",
            "images"]
    df = pd.DataFrame(result["rows"], columns=cols)
    rates = ["images_per_s", "images_per_s_min", "images_per_s_max"]
    df[rates] = df[rates].round().astype("int64")  # whole images per second: the decimals are noise
    return df


def timing_frame(result):
    """Timing rows (one per batch size) plus the book's loop and the machine limit, with where and when they were measured."""
    rows = [{"kind": "batched", **r} for r in result["rows"]]
    if result.get("book_rate"):
        rows.append({"kind": "book_loop", "batch_size": 1, "images_per_s": result["book_rate"], "images": result["book_images"]})
    rows.append({"kind": "machine_limit", "images_per_s": result["limit"], "gflops": result["gflops"],
                 "flops_per_image": result["flops"]})
    df = pd.DataFrame(rows)
    m = result["machine"]
    for k in ("measured_at", "host", "cpu", "cores_usable", "numpy", "blas", "blas_threads"):
        df[k] = m.get(k)
    df["model"] = result.get("model", "")
    return df


@st.cache_data(show_spinner=False, max_entries=24)
def exports(model_fp, data_key, key, _ev, _indices, split_name):
    """CSV bytes of the matrix, the per-class table and every mistake (most confident first), cached with the evaluation."""
    wrong = metrics.most_confident_mistakes(_ev.proba, _ev.t, k=_ev.n)
    return {"matrix": csv_bytes(confusion_frame(_ev.confusion), index=True), "per_class": csv_bytes(report_frame(_ev.report)),
            "mistakes": csv_bytes(mistakes_frame(_ev, wrong, split_name=split_name, indices=_indices))}


def csv_bytes(df, *, index=False):
    """UTF-8 CSV bytes of a DataFrame for st.download_button."""
    buf = io.StringIO()
    df.to_csv(buf, index=index, float_format="%.6g")
    return buf.getvalue().encode("utf-8")
