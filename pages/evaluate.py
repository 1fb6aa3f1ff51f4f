"""Evaluation: accuracy, the linked confusion matrix, calibration, model comparison and runtime against batch size."""
import streamlit as st

from engine import calibration
from engine.errors import EngineError
from engine.preprocess import DESCRIPTIONS
from ui import errors, firstrun, layout, models, panels, shell, urlstate
from ui.charts import wrap
from ui.evaluate import charts as eval_charts
from ui.evaluate import compare as eval_compare
from ui.evaluate import matrix as eval_matrix
from ui.evaluate import offmnist as eval_offmnist
from ui.evaluate import report as eval_report
from ui.evaluate import runtime as eval_runtime
from ui.evaluate import state as eval_state
from ui.i18n import t
from ui.stats import percent

shell.page("evaluate")

TABS = ("matrix", "calibration", "compare", "runtime")  # URL ids; the labels are translated
DEFAULTS = {"split": "test", "tab": "matrix", "norm": "counts", "sort": "conf_desc", "t": 90}

panels.intro(t("evaluate.title"), t("evaluate.intro"))
ds = firstrun.require_data()
model_id, model = models.require_model(t("evaluate.no_model"))


# --- the answer first: split, accuracy and the report in one row; the tabs below; the model card folded at the end
urlstate.seed("ev_split", "split", urlstate.read_choice("split", eval_state.SPLITS, "test"))
# one line that wraps (two lines on a phone) rather than columns that stack into five
head = layout.line(key="ev_head")
which = head.radio(t("evaluate.split"), eval_state.SPLITS, key="ev_split", horizontal=True,
                      format_func=lambda s: t(f"evaluate.split_{s}"), help=t("evaluate.split_help"))
key = eval_state.split_key(model, which)
try:
    ev = eval_state.evaluation(ds, model, key)
except (EngineError, ValueError) as e:  # a model that does not fit 784 pixels, or a broken card
    errors.show(e)
    shell.stop()
split_name, source_idx = eval_state.source(ds, key)
s = eval_state.summary(ev)
head.metric(t("evaluate.accuracy"), f"{ev.accuracy:.4f}", help=t("evaluate.accuracy_help"), width="content")
head.metric(t("evaluate.right_of", n=f"{ev.n:,}"), f"{s['right']:,}", width="content")
head.metric(t("evaluate.mean_loss"), f"{s['mean_loss']:.3f}", help=t("evaluate.mean_loss_help"), width="content")
eval_offmnist.metric(head, ds, model_id, model)  # accuracy on digits unlike MNIST's, beside MNIST's (issue 16)
with head.container(width="content"):
    eval_report.offer(ds, model_id, model, ev, which)
if which == "test":
    st.caption(t("evaluate.about_test", n=f"{ev.n:,}", ms=f"{ev.seconds * 1000:.0f}"))
else:
    size, seed, from_card = eval_state.val_settings(model)
    st.caption(t("evaluate.about_val" if from_card else "evaluate.about_val_default", n=f"{ev.n:,}", seed=seed,
                 ms=f"{ev.seconds * 1000:.0f}"))

# --- four tabs; only the open one is computed
label_of = {k: t(f"evaluate.tab_{k}") for k in TABS}
url_tab = label_of[urlstate.read_choice("tab", TABS, "matrix")]
urlstate.seed("ev_tab", "tab", url_tab)
if st.session_state["ev_tab"] not in label_of.values():  # the language changed: same tab, new label
    st.session_state["ev_tab"] = url_tab
tabs = dict(zip(TABS, st.tabs(list(label_of.values()), key="ev_tab", on_change="rerun"), strict=True))
url = {}  # what this run puts in the address bar

with tabs["matrix"]:
    if tabs["matrix"].open:
        url.update(eval_matrix.show(ds, model_id, model, ev, key=key, which=which, split_name=split_name, source_idx=source_idx))

with tabs["calibration"]:
    if tabs["calibration"].open:
        st.markdown(t("evaluate.cal_words"))
        numbers = layout.line(key="ev_cal_numbers")
        numbers.metric(t("evaluate.ece"), f"{s['ece']:.4f}", help=t("evaluate.ece_help"), width="content")
        numbers.metric(t("evaluate.mean_conf"), percent(s["mean_conf"]), width="content")
        numbers.metric(t("evaluate.accuracy"), percent(ev.accuracy, 2), width="content")
        eval_offmnist.unsure_rule(ds, model_id, model)  # when the answer card says "unsure" (issue 16)
        left, right = st.columns(2, gap="large")
        with left:
            bins = calibration.reliability_bins(ev.confidence, ev.correct)
            panels.chart(eval_charts.reliability_figure(
                bins, title=wrap(t("evaluate.rel_title")), x_title=t("evaluate.conf_axis"), y_title=t("evaluate.rel_y"),
                names=(t("evaluate.rel_bars"), t("evaluate.rel_diag")), hover=t("evaluate.rel_hover")),
                how_to_read=t("evaluate.rel_read"), filename=f"reliability-{model_id}-{which}")
        with right:
            hist = calibration.confidence_histograms(ev.confidence, ev.correct)
            panels.chart(eval_charts.confidence_figure(
                hist, title=wrap(t("evaluate.hist_title")), x_title=t("evaluate.conf_axis"), y_title=t("evaluate.hist_y"),
                names=(t("evaluate.right_answers"), t("evaluate.wrong_answers")), hover=t("evaluate.hist_hover")),
                how_to_read=t("evaluate.hist_read"), filename=f"confidence-{model_id}-{which}")
        st.subheader(t("evaluate.cov_head"))
        urlstate.seed("ev_t", "t", urlstate.read_int("t", DEFAULTS["t"], lo=0, hi=100))
        thr = st.slider(t("evaluate.threshold"), 0, 100, key="ev_t", format="%d%%", help=t("evaluate.threshold_help"))
        cov = calibration.coverage_at(ev.confidence, ev.correct, thr / 100)
        numbers = layout.line(key="ev_cov_numbers")
        numbers.metric(t("evaluate.answered"), f"{cov['answered']:,}", delta=percent(cov["coverage"], 2), delta_color="off",
                       delta_arrow="off", width="content")
        numbers.metric(t("evaluate.refused"), f"{cov['refused']:,}", width="content")
        numbers.metric(t("evaluate.acc_answered"), "–" if cov["answered"] == 0 else percent(cov["accuracy"], 2), width="content")
        numbers.metric(t("evaluate.acc_refused"), "–" if cov["refused"] == 0 else percent(cov["accuracy_refused"], 2),
                       width="content")
        panels.chart(eval_charts.coverage_figure(
            calibration.coverage_curve(ev.confidence, ev.correct), threshold=thr / 100, title=wrap(t("evaluate.cov_title")),
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

pre = model.card.get("preprocess") or {}
kind = pre.get("kind") if pre.get("kind") in DESCRIPTIONS else "unit"
with st.expander(t("evaluate.card_head", title=panels.plain(models.title(model_id, model))), icon="🪪"):
    st.markdown(t("evaluate.preprocess", kind=kind, what=t(f"card.pre_{kind}")))
    panels.model_card(model_id, model)

shell.end()
