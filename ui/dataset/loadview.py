"""The seed's load_mnist flags made visible: toggles, the shapes, dtypes and ranges they produce, and row 0."""
import numpy as np
import streamlit as st

from ui import charts, panels, stats
from ui.i18n import t


def _fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)


def _seed_code(view, *, normalize, flatten, one_hot_label):
    """The seed's first lines with what each print shows under these flags."""
    start, values = view["x0_peek"]
    peek = np.array2string(np.asarray(values), precision=4, separator=", ")
    shape0 = tuple(view["x0"].shape)
    t0 = np.array2string(np.asarray(view["t0"]), separator=" ") if one_hot_label else str(int(view["t0"]))
    return "\n".join([
        "(x_train, t_train), (x_test, t_test) = load_mnist(",
        f"    normalize={normalize}, flatten={flatten}, one_hot_label={one_hot_label})",
        f"print(x_train.shape)   # {view['x']['shape']}",
        f"print(t_train.shape)   # {view['t']['shape']}",
        "img, label = x_train[0], t_train[0]",
        f"print(label)           # {t0}",
        f"print(img.shape)       # {shape0}",
        f"print(img.reshape(-1)[{start}:{start + len(values)}])",
        f"# {peek}",
        "img = img.reshape(28, 28)",
        "print(img.shape)       # (28, 28)",
    ])


def show(ds):
    """Toggles for normalize / flatten / one_hot_label and what load_mnist would return with them."""
    st.markdown(t("flags.intro"))
    c = st.columns(3)
    normalize = c[0].toggle("normalize", value=True, key="ds_normalize", help=t("flags.normalize_help"))
    flatten = c[1].toggle("flatten", value=True, key="ds_flatten", help=t("flags.flatten_help"))
    one_hot_label = c[2].toggle("one_hot_label", value=False, key="ds_one_hot", help=t("flags.one_hot_help"))
    view = stats.load_view(ds.key, normalize, flatten, one_hot_label)
    st.dataframe({
        t("flags.array"): ["x_train", "t_train"],
        "shape": [str(view[k]["shape"]) for k in ("x", "t")],
        "dtype": [view[k]["dtype"] for k in ("x", "t")],
        "min": [_fmt(view[k]["min"]) for k in ("x", "t")],
        "max": [_fmt(view[k]["max"]) for k in ("x", "t")],
    }, hide_index=True, width="stretch")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.code(_seed_code(view, normalize=normalize, flatten=flatten, one_hot_label=one_hot_label), language="python", wrap_lines=True)
        st.caption(t("flags.code_read"))
    with right:
        fmt = ".3f" if normalize else "d"
        panels.chart(charts.digit_heatmap(view["x0"].reshape(28, 28), title="x_train[0].reshape(28, 28)",
                                          zmax=1.0 if normalize else 255, value_format=fmt, height=330, fit_title=True,
                                          unit=t("dataset.unit_normalized" if normalize else "dataset.unit_pixel"),
                                          x_title=t("dataset.col"), y_title=t("dataset.row")),
                     how_to_read=t("flags.heatmap_read"), filename="mnist-x_train-0")
