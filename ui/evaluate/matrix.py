"""The confusion-matrix tab: the matrix with the clicked cell's images beside it, then the per-digit table and the most
confident mistakes (folded, so that a phone's page stays within six screens).

A click on a cell must show its images without scrolling (Streamlit cannot scroll the page), so the cell's gallery
sits right of the matrix, on the same screen; on a phone the columns stack and it follows the matrix.
"""
import streamlit as st

from engine import metrics
from ui import layout, urlstate
from ui.charts import wrap
from ui.evaluate import charts as eval_charts
from ui.evaluate import gallery
from ui.evaluate import state as eval_state
from ui.i18n import t
from ui.stats import percent

DIGITS = tuple(range(10))
NORMS = ("counts", "rates")
CELL_PER_PAGE = 12  # the cell's gallery in the right column: four across on a desktop, three lines a page
PICKER_PX = 120  # a digit picker: two and the order's picker fit beside the matrix; two to a line on a 375 px phone
HEIGHT = 420  # the matrix, with the accuracy and the tabs above it, fits a 1440 × 900 screen (about 20 px to spare)


def _on_cell_click(chart_key):
    """A click on a matrix marker picks that cell; a fresh chart key clears plotly's own selection, the frame shows it."""
    picked = st.session_state.get(chart_key)
    cell = eval_state.cell_from_points(picked["selection"]["points"] if picked else None)
    if cell is not None:
        st.session_state["ev_true"], st.session_state["ev_pred"] = cell
        st.session_state["ev_cell_page"] = 1
        st.session_state["ev_cm_v"] = st.session_state.get("ev_cm_v", 0) + 1


def _new_cell():
    st.session_state["ev_cell_page"] = 1


def _cell_gallery(ds, model_id, ev, *, true, pred, sort, split_name, source_idx):
    """The images of cell (true, pred) in the chosen order, a page at a time."""
    order = eval_state.ordered(ev, metrics.cell_indices(ev.t, ev.pred, true, pred), sort)
    if len(order) == 0:
        st.info(t("evaluate.cell_empty", true=true, pred=pred))
        return order
    gallery.paged(ds, split_name, source_idx[order], key="ev_cell_page", model_id=model_id, per_page=CELL_PER_PAGE,
                  caption=lambda n: t("evaluate.cell_caption", i=int(source_idx[order[n]]), conf=percent(ev.confidence[order[n]], 2),
                                      loss=f"{ev.loss[order[n]]:.2f}"))
    return order


def show(ds, model_id, model, ev, *, key, which, split_name, source_idx):
    """Draw the tab for Evaluation ev of split key; returns the URL values it owns (cell, norm, sort)."""
    cell = eval_state.parse_cell(urlstate.raw("cell")) or eval_state.default_cell(ev.confusion)
    urlstate.seed("ev_true", "cell", cell[0])
    urlstate.seed("ev_pred", "cell", cell[1])
    urlstate.seed("ev_norm", "norm", urlstate.read_choice("norm", NORMS, "counts") == "rates")
    urlstate.seed("ev_sort", "sort", urlstate.read_choice("sort", eval_state.SORTS, "conf_desc"))
    exports = eval_state.exports(eval_state.fingerprint(model), ds.key, key, ev, source_idx, split_name)

    left, right = st.columns([5, 6], gap="medium")
    with left:
        matrix_slot = st.container()  # filled last, once the pickers on the right have said which cell to frame
        rates_on = st.toggle(t("evaluate.norm"), key="ev_norm", help=t("evaluate.norm_help"))
        st.markdown(t("evaluate.cm_words"))
        st.caption("📖 " + t("evaluate.cm_read"))
        st.download_button(t("evaluate.csv_matrix"), exports["matrix"], file_name=f"confusion-{model_id}-{which}.csv",
                           mime="text/csv", icon="⬇️", key="ev_dl_matrix")
    with right:
        head = st.empty()
        pickers = st.container(horizontal=True, key="ev_pickers")  # one line beside the matrix, two on a phone
        true = pickers.selectbox(t("evaluate.pick_true"), DIGITS, key="ev_true", on_change=_new_cell, width=PICKER_PX)
        pred = pickers.selectbox(t("evaluate.pick_pred"), DIGITS, key="ev_pred", on_change=_new_cell, width=PICKER_PX)
        sort = pickers.selectbox(t("evaluate.sort"), eval_state.SORTS, key="ev_sort", format_func=lambda k: t(f"evaluate.sort_{k}"))
        n = int(ev.confusion[true, pred])
        head.subheader(t("evaluate.cell_head_right" if true == pred else "evaluate.cell_head", true=true, pred=pred, n=f"{n:,}"),
                       help=t("evaluate.pick_help"))
        _cell_gallery(ds, model_id, ev, true=true, pred=pred, sort=sort, split_name=split_name, source_idx=source_idx)
    with matrix_slot:
        fig = eval_charts.confusion_figure(
            ev.confusion, metrics.normalize_rows(ev.confusion), show_rates=rates_on, selected=(true, pred), height=HEIGHT,
            title=wrap(t("evaluate.cm_title", split=t(f"evaluate.split_{which}"), n=f"{ev.n:,}")),
            x_title=t("evaluate.cm_x"), y_title=t("evaluate.cm_y"), hover=t("evaluate.cm_hover"))
        chart_key = f"ev_cm_{st.session_state.get('ev_cm_v', 0)}"
        st.plotly_chart(fig, config=layout.plotly_config(f"confusion-{model_id}-{which}"), key=chart_key,
                        on_select=lambda: _on_cell_click(chart_key), selection_mode="points")

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
    wrong = ev.n - int(ev.correct.sum())
    # folded: 24 pictures are eight lines on a phone, which would make the page longer than six screens
    folded = st.expander(t("evaluate.mistakes_head", k=len(mistakes), wrong=f"{wrong:,}"), icon="🔎")
    folded.caption(t("evaluate.mistakes_words"))
    if len(mistakes):
        with folded:
            gallery.show(ds, split_name, source_idx[mistakes], model_id=model_id, key="ev_mistakes", captions=[
                t("evaluate.mistake_caption", i=int(source_idx[p]), true=int(ev.t[p]), pred=int(ev.pred[p]),
                  conf=percent(ev.confidence[p], 2)) for p in mistakes])
    folded.download_button(t("evaluate.csv_mistakes", n=f"{wrong:,}"), exports["mistakes"], icon="⬇️", mime="text/csv",
                           file_name=f"mistakes-{model_id}-{which}.csv", key="ev_dl_mistakes")
    return {"cell": f"{true}-{pred}", "norm": "rates" if rates_on else "counts", "sort": sort}
