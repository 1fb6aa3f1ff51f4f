"""Preprocessing: what raw / unit / center / standardize / whiten do to the pixels, to accuracy, and to a mismatched model."""
import streamlit as st

from engine.preprocess import KINDS
from engine.saturation import CLIP, SATURATED
from ui import firstrun, layout, models, panels, shell, urlstate
from ui.curves import KIND_COLORS
from ui.i18n import t
from ui.preprocess import accuracy, fresh
from ui.preprocess import cache as train_cache
from ui.preprocess.charts import bars
from ui.preprocess.panels import PANELS_PX, activation_histograms, digit_panels, value_histograms

shell.page("preprocess")

TABS = ("data", "accuracy", "mismatch", "compare")

panels.intro(t("prep.title"), t("prep.intro"))
ds = firstrun.require_data()
catalog, _ = models.catalog()
kind_names = {k: t(f"prep.kind_{k}") for k in KINDS}

label_of = {k: t(f"prep.tab_{k}") for k in TABS}
url_tab = label_of[urlstate.read_choice("tab", TABS, "data")]
urlstate.seed("pp_tab", "tab", url_tab)
if st.session_state["pp_tab"] not in label_of.values():  # the language changed: same tab, new label
    st.session_state["pp_tab"] = url_tab
tabs = dict(zip(TABS, st.tabs(list(label_of.values()), key="pp_tab", on_change="rerun"), strict=True))
url = {}

with tabs["data"]:
    if tabs["data"].open:
        st.markdown(t("prep.data_words"))
        with st.spinner(t("prep.fitting")):
            train_cache.fitted(ds.key)
        st.markdown("\n".join(f"- **{k}**: {t(f'prep.desc_{k}')}" for k in KINDS))
        urlstate.seed("pp_index", "index", urlstate.read_int("index", 0, lo=0, hi=ds.size("test") - 1))
        index = st.number_input(t("prep.index"), min_value=0, max_value=ds.size("test") - 1, step=1, key="pp_index")
        url["index"] = index
        under = train_cache.digit_under(ds.key, "test", index)
        label = int(ds.labels("test")[index])
        values = train_cache.values_under(ds.key)
        mean, std, zca = train_cache.statistics(ds.key)
        # three figures of two panels to a line: two figures side by side on a desktop, one under the other on a phone
        digits, spread, learned = layout.cells(3, width=PANELS_PX, key="pp_data_figures")
        with digits:
            panels.chart(digit_panels([under[k] for k in KINDS], names=list(KINDS), units=[t(f"prep.unit_{k}") for k in KINDS],
                                      title=t("prep.digit_title", i=index, label=label), show_range=True),
                         how_to_read=t("prep.digit_read"), filename=f"preprocess-digit-{index}")
        with spread:
            panels.chart(value_histograms([values[k][:2] for k in KINDS],
                                          names=[f"{k}<br>μ {values[k][2]:.2g}, σ {values[k][3]:.2g}" for k in KINDS],
                                          colors=[KIND_COLORS[k] for k in KINDS], x_title=t("prep.value"), y_title=t("prep.count"),
                                          title=t("prep.values_title", n=f"{min(train_cache.SAMPLE, ds.size('test')):,}")),
                         how_to_read=t("prep.values_read"), filename="preprocess-value-histograms")
        with learned:
            panels.chart(digit_panels([mean, std, zca], names=[t("prep.stat_mean"), t("prep.stat_std"), t("prep.stat_zca")],
                                      units=[t("prep.unit_raw"), t("prep.unit_raw"), t("prep.unit_weight")],
                                      title=t("prep.stats_title", n=f"{ds.size('train'):,}"), robust=(2,)),
                         how_to_read=t("prep.stats_read"), filename="preprocess-statistics")
        eps, chosen = train_cache.swept_eps(catalog)
        with st.spinner(t("prep.eps_running")):
            by_eps = train_cache.whiten_by_eps(ds.key, eps, index)
        mark = lambda e: f"ε {e:g}" + (f" ({t('prep.eps_chosen')})" if e == chosen else "")  # noqa: E731
        with st.expander(t("prep.eps_head"), icon="🔍"):  # folded: a phone's page stays within six screens
            with layout.cells(1, width=PANELS_PX, key="pp_eps_figure")[0]:
                panels.chart(digit_panels([img for pair in by_eps for img in pair],
                                          names=[t(f"prep.eps_{part}", eps=mark(e)) for e in eps for part in ("filter", "image")],
                                          units=[t(u) for _ in eps for u in ("prep.unit_weight", "prep.eps_unit")],
                                          title=t("prep.eps_title", i=index), robust=tuple(range(0, 2 * len(eps), 2))),
                             how_to_read=t("prep.eps_read"), filename=f"preprocess-whiten-eps-{index}")
            ratios = train_cache.whiten_ratios(ds.key, eps)
            st.caption(t("prep.eps_ratios", ratios=t("prep.seeds_sep").join(t("prep.eps_ratio", eps=f"{e:g}", ratio=f"{r:,.3g}")
                                                                            for e, r in ratios.items())))

with tabs["accuracy"]:
    if tabs["accuracy"].open:
        url.update(accuracy.show(ds, catalog))

with tabs["mismatch"]:
    if tabs["mismatch"].open:
        st.markdown(t("prep.mismatch_words"))
        ids = list(catalog)
        default = "pre-unit" if "pre-unit" in catalog else models.current_model()[0]
        urlstate.seed("pp_model", "mm", urlstate.read_choice("mm", ids, default))
        if st.session_state["pp_model"] not in ids:
            st.session_state["pp_model"] = default
        mid = st.selectbox(t("prep.mm_model"), ids, key="pp_model", format_func=lambda m: models.title(m, catalog[m]))
        url["mm"] = mid if mid != default else None
        model = catalog[mid]
        own = getattr(model.preprocess, "kind", "unit")
        with st.spinner(t("prep.fitting")):
            train_cache.fitted(ds.key)
        with st.spinner(t("prep.mm_running")):
            res = train_cache.mismatch(ds.key, train_cache.fingerprint(model), model)
        drop = res[own]["accuracy"] - res["raw"]["accuracy"]
        st.markdown(t("prep.mm_result", model=panels.plain(mid), own=own, own_acc=f"{res[own]['accuracy']:.2%}",
                      raw_acc=f"{res['raw']['accuracy']:.2%}", own_sat=f"{res[own]['saturated']:.1%}",
                      raw_sat=f"{res['raw']['saturated']:.1%}"))
        if own != "raw":
            st.markdown(t("prep.mm_collapse" if drop > 0.2 else "prep.mm_no_collapse", drop=f"{100 * drop:.1f}"))
        if model.activation != "sigmoid":
            st.caption(t("prep.mm_relu"))
        mark = t("prep.own")
        colors = [KIND_COLORS[k] for k in KINDS]
        st.dataframe({t("prep.col_fed"): [f"{k} ({mark})" if k == own else k for k in KINDS],
                      t("prep.accuracy"): [f"{res[k]['accuracy']:.2%}" for k in KINDS],
                      t("prep.col_sat"): [f"{res[k]['saturated']:.1%}" for k in KINDS],
                      t("prep.col_median"): [f"{res[k]['median_abs']:.3g}" for k in KINDS]}, hide_index=True, width="stretch")
        left, right = st.columns(2)
        with left:
            panels.chart(bars(list(KINDS), [res[k]["accuracy"] for k in KINDS], colors=colors, marked=own, mark_text=mark,
                              title=t("prep.mm_acc_title", model=mid), y_title=t("prep.accuracy")),
                         how_to_read=t("prep.mm_acc_read"), filename=f"mismatch-accuracy-{mid}")
        with right:
            panels.chart(bars(list(KINDS), [res[k]["saturated"] for k in KINDS], colors=colors, marked=own, mark_text=mark,
                              title=t("prep.mm_sat_title", limit=f"{SATURATED:g}"), y_title=t("prep.col_sat")),
                         how_to_read=t("prep.mm_sat_read"), filename=f"mismatch-saturation-{mid}")
        panels.chart(activation_histograms([(res[k]["edges"], res[k]["counts"]) for k in KINDS],
                                           names=[f"{k} ({mark})" if k == own else k for k in KINDS], colors=colors,
                                           limit=SATURATED, clip=CLIP, title=t("prep.mm_hist_title", model=mid),
                                           x_title=t("prep.mm_a"), y_title=t("prep.share")),
                     how_to_read=t("prep.mm_hist_read", limit=f"{SATURATED:g}", clip=f"{CLIP:g}"), filename=f"mismatch-histograms-{mid}")

with tabs["compare"]:
    if tabs["compare"].open:
        url.update(fresh.show(ds))

tab_id = next(k for k, v in label_of.items() if v == st.session_state["pp_tab"])
urlstate.write(tab=tab_id, defaults={"tab": "data", "index": 0}, **url)

shell.end()
