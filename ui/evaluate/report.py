"""The evaluation page's downloadable report: accuracy, the confusion matrix, the selected cell's images, the per-digit
table, the most confident mistakes and calibration, in one offline HTML file.

Its words and thumbnails are made while the page runs (the thumbnails are the page's, cached); its figures are drawn
only when the button is clicked (the report covers every tab, not just the open one, and costs nothing until asked for).
"""
import functools

import streamlit as st

from engine import calibration, metrics
from engine.explore import page_of
from ui import reportbutton, stats, urlstate
from ui.evaluate import charts as eval_charts
from ui.evaluate import gallery
from ui.evaluate import matrix as eval_matrix
from ui.evaluate import state as eval_state
from ui.i18n import t
from ui.report import Draft
from ui.stats import percent

MISTAKES = 24  # as many as the page's gallery shows
T_DEFAULT = 90  # the coverage threshold, in percent, when neither the page's slider nor the URL sets one

KEYS = ("accuracy", "right_of", "mean_loss", "ece", "mean_conf", "cm_words", "cm_read", "cm_x", "cm_y", "cm_hover", "table_head",
        "table_read", "col_digit", "col_precision", "col_recall", "col_support", "col_confused", "col_confused_n",
        "mistakes_words", "cal_words", "rel_title", "rel_read", "rel_y", "rel_bars", "rel_diag", "rel_hover", "conf_axis",
        "hist_title", "hist_read", "hist_y", "hist_hover", "right_answers", "wrong_answers", "cov_head", "cov_title", "cov_read",
        "cov_x", "cov_y", "acc_answered", "coverage", "cal_head", "matrix_head", "mistake_col_image", "mistake_col_true",
        "mistake_col_pred", "mistake_col_conf", "cov_read_report")


def words(which, n, wrong):
    """Every text of the report in the current language (t() needs the page's session, the click handler has none)."""
    w = {k: t(f"evaluate.{k}") for k in KEYS if k != "right_of"}
    w.update(right_of=t("evaluate.right_of", n=f"{n:,}"), cm_title=t("evaluate.cm_title", split=t(f"evaluate.split_{which}"), n=f"{n:,}"),
             mistakes_head=t("evaluate.mistakes_head", k=min(MISTAKES, wrong), wrong=f"{wrong:,}"),
             title=t("evaluate.report_title", split=t(f"evaluate.split_{which}")), intro=t("evaluate.report_intro"))
    return w


def shown(ds, ev, *, split_name, source_idx):
    """What the page's galleries show now, as the report's: {'mistakes': [(png, caption)], 'cell': (heading, items or
    the words of an empty cell)}. The cell, its order and its page are the matrix tab's (its widgets, else the URL)."""
    mistakes = metrics.most_confident_mistakes(ev.proba, ev.t, k=MISTAKES)
    thumbs = stats.thumbnails(ds.key, split_name, tuple(int(source_idx[p]) for p in mistakes))
    out = {"mistakes": [(png, t("evaluate.mistake_caption", i=int(source_idx[p]), true=int(ev.t[p]), pred=int(ev.pred[p]),
                                conf=percent(ev.confidence[p], 2))) for p, png in zip(mistakes, thumbs, strict=True)]}
    url_cell = eval_state.parse_cell(urlstate.raw("cell")) or eval_state.default_cell(ev.confusion)
    true, pred = (url_cell if "ev_true" not in st.session_state or urlstate.changed_outside("cell")
                  else (st.session_state["ev_true"], st.session_state.get("ev_pred", url_cell[1])))
    url_sort = urlstate.read_choice("sort", eval_state.SORTS, "conf_desc")
    sort = st.session_state.get("ev_sort", url_sort) if not urlstate.changed_outside("sort") else url_sort
    order = eval_state.ordered(ev, metrics.cell_indices(ev.t, ev.pred, true, pred), sort)
    n = len(order)
    head = t("evaluate.cell_head_right" if true == pred else "evaluate.cell_head", true=true, pred=pred, n=f"{n:,}")
    if n == 0:
        out["cell"] = (head, t("evaluate.cell_empty", true=true, pred=pred))
        return out
    current, _ = gallery.page(n, key="ev_cell_page", per_page=eval_matrix.CELL_PER_PAGE)
    page, _ = page_of(order, current, per_page=eval_matrix.CELL_PER_PAGE)
    thumbs = stats.thumbnails(ds.key, split_name, tuple(int(source_idx[p]) for p in page))
    out["cell"] = (head, [(png, t("evaluate.cell_caption", i=int(source_idx[p]), conf=percent(ev.confidence[p], 2),
                                   loss=f"{ev.loss[p]:.2f}")) for p, png in zip(page, thumbs, strict=True)])
    return out


def page_threshold():
    """The coverage threshold t in percent: the page's slider, else the URL's t, else T_DEFAULT."""
    url_t = urlstate.read_int("t", T_DEFAULT, lo=0, hi=100)
    return url_t if "ev_t" not in st.session_state or urlstate.changed_outside("t") else int(st.session_state["ev_t"])


def draft(ev, *, w, model_id, which, source_idx, galleries=None, threshold=T_DEFAULT):
    """The filled Draft of an Evaluation ev (engine.evaluation) with the words w and the galleries of shown(); builds
    every figure, so call it on click. threshold: the coverage chart's t, in percent."""
    galleries = galleries or {"mistakes": [], "cell": None}
    s = eval_state.summary(ev)
    d = Draft(title=w["title"], intro=w["intro"])
    d.number(w["accuracy"], f"{ev.accuracy:.4f}")
    d.number(w["right_of"], f"{s['right']:,}")
    d.number(w["mean_loss"], f"{s['mean_loss']:.3f}")
    d.number(w["ece"], f"{s['ece']:.4f}")

    d.section(w["matrix_head"])
    d.text(w["cm_words"])
    fig = eval_charts.confusion_figure(ev.confusion, metrics.normalize_rows(ev.confusion), show_rates=False, title=w["cm_title"],
                                       x_title=w["cm_x"], y_title=w["cm_y"], hover=w["cm_hover"])
    d.chart(fig, how_to_read=w["cm_read"], filename=f"confusion-{model_id}-{which}")
    if galleries["cell"] is not None:
        head, items = galleries["cell"]
        d.section(head)
        if isinstance(items, str):  # an empty cell: the page's words for it
            d.text(items)
        else:
            d.gallery(items)

    d.section(w["table_head"])
    rows = [[r["digit"], f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", r["support"],
             "" if r["confused_with"] is None else r["confused_with"], r["confused_count"] or ""] for r in ev.report]
    d.table([w["col_digit"], w["col_precision"], w["col_recall"], "F1", w["col_support"], w["col_confused"], w["col_confused_n"]], rows)
    d.text(w["table_read"])

    d.section(w["mistakes_head"])
    d.text(w["mistakes_words"])
    d.gallery(galleries["mistakes"])
    mistakes = metrics.most_confident_mistakes(ev.proba, ev.t, k=MISTAKES)
    d.table([w["mistake_col_image"], w["mistake_col_true"], w["mistake_col_pred"], w["mistake_col_conf"]],
            [[f"#{int(source_idx[p])}", int(ev.t[p]), int(ev.pred[p]), percent(ev.confidence[p])] for p in mistakes])

    d.section(w["cal_head"])
    d.text(w["cal_words"])
    d.number(w["mean_conf"], percent(s["mean_conf"]))
    bins = calibration.reliability_bins(ev.confidence, ev.correct)
    d.chart(eval_charts.reliability_figure(bins, title=w["rel_title"], x_title=w["conf_axis"], y_title=w["rel_y"],
                                           names=(w["rel_bars"], w["rel_diag"]), hover=w["rel_hover"]),
            how_to_read=w["rel_read"], filename=f"reliability-{model_id}-{which}")
    hist = calibration.confidence_histograms(ev.confidence, ev.correct)
    d.chart(eval_charts.confidence_figure(hist, title=w["hist_title"], x_title=w["conf_axis"], y_title=w["hist_y"],
                                          names=(w["right_answers"], w["wrong_answers"]), hover=w["hist_hover"]),
            how_to_read=w["hist_read"], filename=f"confidence-{model_id}-{which}")
    d.text(f"**{w['cov_head']}**")
    d.chart(eval_charts.coverage_figure(calibration.coverage_curve(ev.confidence, ev.correct), threshold=threshold / 100,
                                        title=w["cov_title"], x_title=w["cov_x"], y_title=w["cov_y"],
                                        names=(w["acc_answered"], w["coverage"])),
            how_to_read=w["cov_read_report"].format(t=f"{threshold}%"), filename=f"coverage-{model_id}-{which}")
    return d


def _html(ev, *, w, model_id, which, source_idx, galleries, threshold, html_args):
    d = draft(ev, w=w, model_id=model_id, which=which, source_idx=source_idx, galleries=galleries, threshold=threshold)
    return d.html(**html_args)


def offer(ds, model_id, model, ev, which):
    """The "Download report" button of the evaluation page (call it once, anywhere on the page, after ev is known)."""
    split_name, source_idx = eval_state.source(ds, eval_state.split_key(model, which))
    build = functools.partial(_html, ev, w=words(which, ev.n, int(ev.n - ev.correct.sum())), model_id=model_id, which=which,
                              source_idx=source_idx, threshold=page_threshold(),
                              galleries=shown(ds, ev, split_name=split_name, source_idx=source_idx),
                              html_args=reportbutton.html_args(model_id, model))
    reportbutton.button(build, key="ev_report", file_name_parts=("mnist-evaluation", model_id, which))
