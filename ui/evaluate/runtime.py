"""The evaluation page's runtime section: batch sizes to time, the Measure button with a progress bar, the chart and table."""
import html

import streamlit as st

from engine.errors import EngineError
from engine.timing import BATCH_SIZES
from ui import errors, panels
from ui.evaluate import charts as eval_charts
from ui.evaluate import runtime_words
from ui.evaluate import state as eval_state
from ui.evaluate import timing as eval_timing
from ui.i18n import t


def show(ds, model_id, model):
    """Time the model on the test set when asked, and draw the last result kept for this model on this machine."""
    st.markdown(t("evaluate.rt_words"))
    x_test = ds.images("test")
    fits = [b for b in BATCH_SIZES if b <= len(x_test)]
    fp, mkey = eval_state.fingerprint(model), eval_timing.machine_key()
    a, b = st.columns([3, 1], vertical_alignment="bottom")
    sizes = a.pills(t("evaluate.rt_sizes"), fits, selection_mode="multi", default=fits, key="ev_bs", format_func=lambda b: f"{b:,}")
    repeats = b.number_input(t("evaluate.rt_repeats"), min_value=1, max_value=15, value=5, step=1, key="ev_repeats")
    result = eval_timing.stored(fp, mkey)
    if st.button(t("evaluate.measure" if result is None else "evaluate.measure_again"), type="primary", icon="⏱️",
                 key="ev_measure", disabled=not sizes):
        bar = st.progress(0.0, text=t("evaluate.rt_stage_batches"))
        try:
            result = eval_timing.measure(model, x_test, model_fp=fp, mkey=mkey, model_label=model_id, batch_sizes=sorted(sizes),
                                         repeats=int(repeats),
                                         progress=lambda f, stage: bar.progress(min(f, 1.0), text=t(f"evaluate.rt_stage_{stage}")))
        except (EngineError, ValueError) as e:  # a model whose layers do not fit 784 pixels: one line, not a traceback
            errors.show(e)
        bar.empty()
    if result is None:
        st.info(t("evaluate.rt_none"))
    else:
        m = result["machine"]
        where = t("evaluate.rt_where", when=m["measured_at"].replace("T", " ").rstrip("Z") + " UTC", host=html.escape(m["host"]),
                  cpu=html.escape(m["cpu"]), cores=m["cores_usable"], numpy=m["numpy"], blas=html.escape(m["blas"]),
                  threads=html.escape(str(m.get("blas_threads", "auto"))))
        panels.chart(eval_charts.runtime_figure(
            result["rows"], book_rate=result["book_rate"], limit=result["limit"],
            title=t("evaluate.rt_title", model=result["model"], n=f"{result['n_images']:,}", repeats=result["repeats"]),
            subtitle=where, x_title=t("evaluate.rt_x"), titles=(t("evaluate.rt_rate"), t("evaluate.rt_latency")),
            names=(t("evaluate.rt_measured"), t("evaluate.rt_book"), t("evaluate.rt_limit")), batch_name=t("evaluate.rt_col_batch")),
            how_to_read=t("evaluate.rt_read"), filename=f"runtime-{model_id}")
        best = max(result["rows"], key=lambda r: r["images_per_s"])
        st.markdown("\n".join(f"- {t(key, **values)}" for key, values in runtime_words.sentences(result)))
        st.markdown(t("evaluate.rt_summary", best=f"{best['images_per_s']:,.0f}", b=f"{best['batch_size']:,}",
                      book="–" if not result["book_rate"] else f"{result['book_rate']:,.0f}",
                      limit=f"{result['limit']:,.0f}", gflops=f"{result['gflops']:,.1f}", flops=f"{result['flops']:,}",
                      gflop10k=f"{result['flops'] * 10_000 / 1e9:.3f}"))
        num = st.column_config.NumberColumn
        st.dataframe(eval_state.timing_rows(result), hide_index=True, width="stretch", column_config={
            "batch_size": num(t("evaluate.rt_col_batch"), format="localized"),
            "images_per_s": num(t("evaluate.rt_col_rate"), format="localized"),
            "images_per_s_min": num(t("evaluate.rt_col_min"), format="localized"),
            "images_per_s_max": num(t("evaluate.rt_col_max"), format="localized"),
            "latency_ms": num(t("evaluate.rt_col_latency"), format="%.4f"),
            "latency_ms_min": num(t("evaluate.rt_col_min"), format="%.4f"),
            "latency_ms_max": num(t("evaluate.rt_col_max"), format="%.4f"),
            "images": num(t("evaluate.rt_col_images"), format="localized")})
        st.download_button(t("evaluate.csv_timing"), eval_state.csv_bytes(eval_state.timing_frame(result)),
                           file_name=f"runtime-{model_id}.csv", mime="text/csv", icon="⬇️", key="ev_dl_timing")
