"""The dataset page's PCA map: every dot is an image, and a click on a dot opens that image beside the map."""
import functools

import numpy as np
import streamlit as st

from ui import charts, layout, nav, stats, urlstate
from ui.i18n import t

PICKED = "ds_pca_pick"  # session key: the image last opened from the map, as (split, index)


def picked(points, labels, indices):
    """The image number of the first clicked dot in a plotly selection, else None.

    charts.pca_scatter draws digit d as trace d, its dots in sample order, so (curve_number, point_index) name the image;
    a customdata that came back as a plain number must agree with it.
    """
    labels, indices = np.asarray(labels), np.asarray(indices)
    for p in points or []:
        if not isinstance(p, dict):
            continue
        d, k = p.get("curve_number"), p.get("point_index")
        if not (isinstance(d, int) and isinstance(k, int) and 0 <= d <= 9):
            continue
        of_digit = indices[labels == d]
        if not 0 <= k < len(of_digit):
            continue
        custom = p.get("customdata")
        if isinstance(custom, int | float) and custom != of_digit[k]:
            continue
        return int(of_digit[k])
    return None


def _on_click(chart_key, data_key, split, n, seed):
    """Open the clicked dot's image: it becomes the page's selected image; a fresh chart key clears plotly's selection."""
    state = st.session_state.get(chart_key)
    _, labels, indices, _ = stats.pca(data_key, split, n, seed)
    i = picked(state["selection"]["points"] if state else None, labels, indices)
    if i is not None:
        st.session_state["ds_index"] = i
        st.session_state[PICKED] = (split, i)
        st.session_state["ds_pca_v"] = st.session_state.get("ds_pca_v", 0) + 1


def show(ds, split, *, n, model_id):
    """The map of n sampled images of split, and the image opened from it (or how to open one) on its right."""
    with st.spinner(t("dataset.pca_spinner")):
        coords, labels, indices, explained = stats.pca(ds.key, split, n, 0)
    split_name = t(f"dataset.split_{split}")
    fig = charts.pca_scatter(coords, labels, indices, title=t("dataset.pca_title", n=f"{len(coords):,}", split=split_name),
                             x_title=t("dataset.pc", k=1, pct=stats.percent(explained[0])),
                             y_title=t("dataset.pc", k=2, pct=stats.percent(explained[1])))
    left, right = st.columns([5, 2], gap="medium")
    with left:
        chart_key = f"ds_pca_{st.session_state.get('ds_pca_v', 0)}"
        st.plotly_chart(fig, config=layout.plotly_config(f"mnist-{split}-pca"), key=chart_key, selection_mode="points",
                        on_select=functools.partial(_on_click, chart_key, ds.key, split, n, 0))
        st.caption("📖 " + t("dataset.pca_read"))
    with right:
        pick = st.session_state.get(PICKED)
        if pick is None or pick[0] != split or pick[1] != st.session_state.get("ds_index"):
            st.info(t("dataset.pca_click"), icon="👆")
            return
        i = pick[1]
        st.image(stats.thumbnails(ds.key, split, (i,))[0], caption=f"#{i} · {ds.labels(split)[i]}", width="stretch")
        st.caption(t("dataset.pca_opened", i=i))
        nav.link("single", label=t("dataset.open_selected", i=i), icon="🔍", width="stretch",
                 query=urlstate.query(split=split, index=i, model=model_id))
