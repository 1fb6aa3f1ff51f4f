"""The evaluation page's model comparison: pick models, accuracy side by side, agreement, the images where they disagree."""
import streamlit as st

from engine import metrics
from ui import models, panels, urlstate
from ui.charts import wrap
from ui.evaluate import charts as eval_charts
from ui.evaluate import gallery as eval_gallery
from ui.evaluate import paired
from ui.evaluate import state as eval_state
from ui.i18n import t

MAX_MODELS = 5  # models compared at once: each costs one evaluation of the split, and the agreement table grows as m²


def show(ds, model_id, ev, key, which):
    """Compare the chosen models on split key (the current model's Evaluation ev is the reference); returns the chosen ids."""
    split_name, source_idx = eval_state.source(ds, key)
    catalog, _ = models.catalog()
    ids = list(catalog)
    others = [m for m in ids if m != model_id]
    default = [model_id] + (["book"] if "book" in others else others[:1])
    urlstate.seed("ev_cmp", "cmp", urlstate.read_list("cmp", ids, most=MAX_MODELS) or default)
    # a model may have been evicted since; a crafted widget value may repeat one or hold too many
    st.session_state["ev_cmp"] = urlstate.distinct(st.session_state["ev_cmp"], ids, most=MAX_MODELS)
    st.markdown(t("evaluate.cmp_words"))
    chosen = st.multiselect(t("evaluate.cmp_pick"), ids, key="ev_cmp", max_selections=MAX_MODELS,
                            format_func=lambda m: models.title(m, catalog[m]))
    chosen = urlstate.distinct(chosen, ids, most=MAX_MODELS)
    st.caption(t("evaluate.cmp_sources"))
    if len(chosen) < 2:
        st.info(t("evaluate.cmp_need_two"))
    else:
        evs = [eval_state.evaluation(ds, catalog[m], key) for m in chosen]
        sums = [eval_state.summary(e) for e in evs]
        left, right = st.columns([3, 2], gap="large")
        with left:
            panels.chart(eval_charts.accuracy_bars(chosen, [e.accuracy for e in evs],
                                                   title=wrap(t("evaluate.cmp_title", split=t(f"evaluate.split_{which}"), n=f"{ev.n:,}")),
                                                   x_title=t("evaluate.accuracy"), y_title=None),
                         how_to_read=t("evaluate.cmp_read"), filename=f"compare-{which}")
        with right:
            agree = metrics.agreement_matrix([e.pred for e in evs])
            split_off = metrics.disagreement_indices([e.pred for e in evs])
            if len(chosen) == 2:
                st.metric(t("evaluate.agreement"), f"{agree[0, 1]:.2%}", help=t("evaluate.agreement_help"))
            else:
                st.metric(t("evaluate.agreement_all"), f"{1 - len(split_off) / ev.n:.2%}", help=t("evaluate.agreement_help"))
                st.dataframe(eval_state.agreement_frame(chosen, agree), width="stretch")
            st.caption(t("evaluate.disagree_n", n=f"{len(split_off):,}", total=f"{ev.n:,}"))
        st.dataframe(eval_state.comparison_frame(chosen, evs, sums), hide_index=True, width="stretch", column_config={
            "model": st.column_config.TextColumn(t("evaluate.col_model")),
            "accuracy": st.column_config.NumberColumn(t("evaluate.accuracy"), format="%.4f"),
            "right": st.column_config.NumberColumn(t("evaluate.right"), format="%d"),
            "mean_loss": st.column_config.NumberColumn(t("evaluate.mean_loss"), format="%.4f"),
            "ece": st.column_config.NumberColumn(t("evaluate.ece"), format="%.4f")})
        paired.show(chosen, evs)  # McNemar's test against the most accurate, ending in the conclusion from its numbers
        st.subheader(t("evaluate.disagree_head", n=f"{len(split_off):,}"))
        if len(split_off):
            eval_gallery.paged(ds, split_name, source_idx[split_off], key="ev_cmp_page", model_id=model_id,
                               caption=lambda n: t("evaluate.disagree_caption", i=int(source_idx[split_off[n]]),
                                                   true=int(ev.t[split_off[n]])),
                               note=lambda n: eval_state.answers(chosen, evs, split_off[n]))
    return chosen
