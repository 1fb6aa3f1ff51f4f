"""Evaluation: accuracy, the linked confusion matrix, calibration, model comparison and runtime against batch size."""
import streamlit as st

from engine import calibration, metrics
from engine.errors import EngineError
from engine.preprocess import DESCRIPTIONS
from ui import charts, errors, firstrun, models, panels, shell, urlstate
from ui.evaluate import charts as eval_charts
from ui.evaluate import compare as eval_compare
from ui.evaluate import gallery as eval_gallery
from ui.evaluate import report as eval_report
from ui.evaluate import runtime as eval_runtime
from ui.evaluate import state as eval_state
from ui.i18n import t

shell.page("evaluate")

TABS = ("matrix", "calibration", "compare", "runtime")  # URL ids; the labels are translated
DIGITS = tuple(range(10))
NORMS = ("counts", "rates")
DEFAULTS = {"split": "test", "tab": "matrix", "norm": "counts", "sort": "conf_desc", "t": 90}

panels.intro(t("evaluate.title"), t("evaluate.intro"))
ds = firstrun.require_data()
model_id, model = models.require_model(t("evaluate.no_model"))


def pct(x):
    return f"{x:.2%}"


# --- accuracy on the chosen split, the preprocessing, the card
urlstate.seed("ev_split", "split", urlstate.read_choice("split", eval_state.SPLITS, "test"))
left, right = st.columns([3, 2], gap="large")
with left:
    which = st.radio(t("evaluate.split"), eval_state.SPLITS, key="ev_split", horizontal=True,
                     format_func=lambda s: t(f"evaluate.split_{s}"), help=t("evaluate.split_help"))
    key = eval_state.split_key(model, which)
    try:
        ev = eval_state.evaluation(ds, model, key)
    except (EngineError, ValueError) as e:  # a model that does not fit 784 pixels, or a broken card
        errors.show(e)
        shell.stop()
    split_name, source_idx = eval_state.source(ds, key)
    s = eval_state.summary(ev)
    c = st.columns(3)
    c[0].metric(t("evaluate.accuracy"), f"{ev.accuracy:.4f}", help=t("evaluate.accuracy_help"))
    c[1].metric(t("evaluate.right_of", n=f"{ev.n:,}"), f"{s['right']:,}")
    c[2].metric(t("evaluate.mean_loss"), f"{s['mean_loss']:.3f}", help=t("evaluate.mean_loss_help"))
    if which == "test":
        st.caption(t("evaluate.about_test", n=f"{ev.n:,}", ms=f"{ev.seconds * 1000:.0f}"))
    else:
        size, seed, from_card = eval_state.val_settings(model)
        st.caption(t("evaluate.about_val" if from_card else "evaluate.about_val_default", n=f"{ev.n:,}", seed=seed,
                     ms=f"{ev.seconds * 1000:.0f}"))
    pre = model.card.get("preprocess") or {}
    kind = pre.get("kind") if pre.get("kind") in DESCRIPTIONS else "unit"
    st.markdown(t("evaluate.preprocess", kind=kind, what=t(f"card.pre_{kind}")))
    eval_report.offer(ds, model_id, model, ev, which)
with right:
    panels.model_card(model_id, model)

# --- four tabs; only the open one is computed
label_of = {k: t(f"evaluate.tab_{k}") for k in TABS}
url_tab = label_of[urlstate.read_choice("tab", TABS, "matrix")]
urlstate.seed("ev_tab", "tab", url_tab)
if st.session_state["ev_tab"] not in label_of.values():  # the language changed: same tab, new label
    st.session_state["ev_tab"] = url_tab
tabs = dict(zip(TABS, st.tabs(list(label_of.values()), key="ev_tab", on_change="rerun"), strict=True))
url = {}  # what this run puts in the address bar


def on_cell_click(chart_key):
    """A click on a matrix marker picks that cell; a fresh chart key clears plotly's own selection, the frame shows it."""
    state = st.session_state.get(chart_key)
    cell = eval_state.cell_from_points(state["selection"]["points"] if state else None)
    if cell is not None:
        st.session_state["ev_true"], st.session_state["ev_pred"] = cell
        st.session_state["ev_cell_page"] = 1
        st.session_state["ev_cm_v"] = st.session_state.get("ev_cm_v", 0) + 1


def new_cell():
    st.session_state["ev_cell_page"] = 1


with tabs["matrix"]:
    if tabs["matrix"].open:
        cell = eval_state.parse_cell(urlstate.raw("cell")) or eval_state.default_cell(ev.confusion)
        urlstate.seed("ev_true", "cell", cell[0])
        urlstate.seed("ev_pred", "cell", cell[1])
        urlstate.seed("ev_norm", "norm", urlstate.read_choice("norm", NORMS, "counts") == "rates")
        urlstate.seed("ev_sort", "sort", urlstate.read_choice("sort", eval_state.SORTS, "conf_desc"))
        exports = eval_state.exports(eval_state.fingerprint(model), ds.key, key, ev, source_idx, split_name)
        left, right = st.columns([3, 2], gap="large")
        with right:
            st.markdown(t("evaluate.cm_words"))
            rates_on = st.toggle(t("evaluate.norm"), key="ev_norm", help=t("evaluate.norm_help"))
            a, b = st.columns(2)
            true = a.selectbox(t("evaluate.pick_true"), DIGITS, key="ev_true", on_change=new_cell)
            pred = b.selectbox(t("evaluate.pick_pred"), DIGITS, key="ev_pred", on_change=new_cell)
            st.caption(t("evaluate.pick_help"))
            st.download_button(t("evaluate.csv_matrix"), exports["matrix"], file_name=f"confusion-{model_id}-{which}.csv",
                               mime="text/csv", icon="⬇️", key="ev_dl_matrix")
        with left:
            fig = eval_charts.confusion_figure(
                ev.confusion, metrics.normalize_rows(ev.confusion), show_rates=rates_on, selected=(true, pred),
                title=t("evaluate.cm_title", split=t(f"evaluate.split_{which}"), n=f"{ev.n:,}"),
                x_title=t("evaluate.cm_x"), y_title=t("evaluate.cm_y"), hover=t("evaluate.cm_hover"))
            chart_key = f"ev_cm_{st.session_state.get('ev_cm_v', 0)}"
            st.plotly_chart(fig, config=charts.config(f"confusion-{model_id}-{which}"), key=chart_key,
                            on_select=lambda: on_cell_click(chart_key), selection_mode="points")
            st.caption("📖 " + t("evaluate.cm_read"))

        positions = metrics.cell_indices(ev.t, ev.pred, true, pred)
        head = "evaluate.cell_head_right" if true == pred else "evaluate.cell_head"
        st.subheader(t(head, true=true, pred=pred, n=f"{len(positions):,}"))
        sort = st.segmented_control(t("evaluate.sort"), eval_state.SORTS, key="ev_sort", required=True,
                                    format_func=lambda k: t(f"evaluate.sort_{k}"))
        order = eval_state.ordered(ev, positions, sort)
        if len(order) == 0:
            st.info(t("evaluate.cell_empty", true=true, pred=pred))
        else:
            eval_gallery.paged(ds, split_name, source_idx[order], key="ev_cell_page", model_id=model_id,
                               caption=lambda n: t("evaluate.cell_caption", i=int(source_idx[order[n]]),
                                                   conf=pct(ev.confidence[order[n]]), loss=f"{ev.loss[order[n]]:.2f}"))

        st.subheader(t("evaluate.table_head"))
        st.dataframe(eval_state.report_frame(ev.report), hide_index=True, width="stretch", column_config={
            "digit": st.column_config.NumberColumn(t("evaluate.col_digit"), format="%d"),
            "precision": st.column_config.NumberColumn(t("evaluate.col_precision"), format="%.3f"),
            "recall": st.column_config.NumberColumn(t("evaluate.col_recall"), format="%.3f"),
            "f1": st.column_config.NumberColumn("F1", format="%.3f"),
            "support": st.column_config.NumberColumn(t("evaluate.col_support"), format="%d"),
            "confused_with": st.column_config.NumberColumn(t("evaluate.col_confused"), format="%d"),
            "confused_count": st.column_config.NumberColumn(t("evaluate.col_confused_n"), format="%d")})
        st.caption("📖 " + t("evaluate.table_read"))
        st.download_button(t("evaluate.csv_table"), exports["per_class"], file_name=f"per-class-{model_id}-{which}.csv",
                           mime="text/csv", icon="⬇️", key="ev_dl_table")

        mistakes = metrics.most_confident_mistakes(ev.proba, ev.t, k=24)
        st.subheader(t("evaluate.mistakes_head", k=len(mistakes), wrong=f"{s['wrong']:,}"))
        st.caption(t("evaluate.mistakes_words"))
        if len(mistakes):
            eval_gallery.show(ds, split_name, source_idx[mistakes], model_id=model_id, captions=[
                t("evaluate.mistake_caption", i=int(source_idx[p]), true=int(ev.t[p]), pred=int(ev.pred[p]), conf=pct(ev.confidence[p]))
                for p in mistakes])
        st.download_button(t("evaluate.csv_mistakes", n=f"{s['wrong']:,}"), exports["mistakes"], icon="⬇️", mime="text/csv",
                           file_name=f"mistakes-{model_id}-{which}.csv", key="ev_dl_mistakes")
        url.update(cell=f"{true}-{pred}", norm="rates" if rates_on else "counts", sort=sort)

with tabs["calibration"]:
    if tabs["calibration"].open:
        st.markdown(t("evaluate.cal_words"))
        c = st.columns(3)
        c[0].metric(t("evaluate.ece"), f"{s['ece']:.4f}", help=t("evaluate.ece_help"))
        c[1].metric(t("evaluate.mean_conf"), pct(s["mean_conf"]))
        c[2].metric(t("evaluate.accuracy"), pct(ev.accuracy))
        left, right = st.columns(2, gap="large")
        with left:
            bins = calibration.reliability_bins(ev.confidence, ev.correct)
            panels.chart(eval_charts.reliability_figure(
                bins, title=t("evaluate.rel_title"), x_title=t("evaluate.conf_axis"), y_title=t("evaluate.rel_y"),
                names=(t("evaluate.rel_bars"), t("evaluate.rel_diag")), hover=t("evaluate.rel_hover")),
                how_to_read=t("evaluate.rel_read"), filename=f"reliability-{model_id}-{which}")
        with right:
            hist = calibration.confidence_histograms(ev.confidence, ev.correct)
            panels.chart(eval_charts.confidence_figure(
                hist, title=t("evaluate.hist_title"), x_title=t("evaluate.conf_axis"), y_title=t("evaluate.hist_y"),
                names=(t("evaluate.right_answers"), t("evaluate.wrong_answers")), hover=t("evaluate.hist_hover")),
                how_to_read=t("evaluate.hist_read"), filename=f"confidence-{model_id}-{which}")
        st.subheader(t("evaluate.cov_head"))
        urlstate.seed("ev_t", "t", urlstate.read_int("t", DEFAULTS["t"], lo=0, hi=100))
        thr = st.slider(t("evaluate.threshold"), 0, 100, key="ev_t", format="%d%%", help=t("evaluate.threshold_help"))
        cov = calibration.coverage_at(ev.confidence, ev.correct, thr / 100)
        c = st.columns(4)
        c[0].metric(t("evaluate.answered"), f"{cov['answered']:,}", delta=pct(cov["coverage"]), delta_color="off", delta_arrow="off")
        c[1].metric(t("evaluate.refused"), f"{cov['refused']:,}")
        c[2].metric(t("evaluate.acc_answered"), "–" if cov["answered"] == 0 else pct(cov["accuracy"]))
        c[3].metric(t("evaluate.acc_refused"), "–" if cov["refused"] == 0 else pct(cov["accuracy_refused"]))
        panels.chart(eval_charts.coverage_figure(
            calibration.coverage_curve(ev.confidence, ev.correct), threshold=thr / 100, title=t("evaluate.cov_title"),
            x_title=t("evaluate.cov_x"), y_title=t("evaluate.cov_y"), names=(t("evaluate.acc_answered"), t("evaluate.coverage"))),
            how_to_read=t("evaluate.cov_read"), filename=f"coverage-{model_id}-{which}")
        url.update(t=thr)

with tabs["compare"]:
    if tabs["compare"].open:
        url.update(cmp=",".join(eval_compare.show(ds, model_id, ev, key, which)))

with tabs["runtime"]:
    if tabs["runtime"].open:
        eval_runtime.show(ds, model_id, model)

tab_id = next(k for k, v in label_of.items() if v == st.session_state["ev_tab"])
urlstate.write(split=which, tab=tab_id, **url, defaults=DEFAULTS)

shell.end()
