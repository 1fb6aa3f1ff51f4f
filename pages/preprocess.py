"""Preprocessing: what raw / unit / center / standardize / whiten do to the pixels, to accuracy, and to a mismatched model."""
from dataclasses import replace

import streamlit as st

from engine.preprocess import KINDS
from engine.saturation import CLIP, SATURATED
from engine.train import TrainConfig
from ui import errors, firstrun, jobs, layout, loaders, models, panels, shell, slots, urlstate
from ui.curves import KIND_COLORS, curves
from ui.i18n import t
from ui.preprocess import cache as train_cache
from ui.preprocess.charts import accuracy_dots, bars
from ui.preprocess.panels import PANELS_PX, activation_histograms, digit_panels, value_histograms

shell.page("preprocess")

TABS = ("data", "accuracy", "mismatch", "compare")
JOB = "prep_job"
# five nets per comparison, within ui/jobs.py's MAX_RUN_SECONDS: all five kinds for 2 epochs on 60,000 images took 8.8 s
# through engine.trainproc.TrainProcess on this 2-core server (2 Dec 2026, load average ~6), so 10 epochs take about a minute
MAX_EPOCHS = 10
SUBSETS = (1000, 5000, 10000, 30000, 60000)
COMPARE = TrainConfig(optimizer="adam", lr=0.002, schedule="cosine")  # the shipped pre-* models' settings; 784-50-100-10 sigmoid
COMPARE_N = 10_000  # default training images of a fresh comparison: a few seconds per net

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

with tabs["accuracy"]:
    if tabs["accuracy"].open:
        rows = train_cache.shipped_rows(ds.key, catalog)
        if not rows:
            st.info(t("prep.no_shipped"))
        else:
            st.markdown(t("prep.accuracy_words"))
            never = t("prep.never")
            st.dataframe({t("prep.col_kind"): [r["kind"] for r in rows], t("prep.col_model"): [r["id"] for r in rows],
                          t("prep.col_test"): [f"{r['test_acc']:.2%}" for r in rows],
                          t("prep.col_val"): [f"{r['val_acc']:.2%}" if r["val_acc"] is not None else "–" for r in rows],
                          t("prep.col_to95"): [str(r["to_target"]) if r["to_target"] else never for r in rows],
                          t("prep.col_epochs"): [r["epochs"] for r in rows]}, hide_index=True, width="stretch")
            names = [r["kind"] for r in rows]
            panels.chart(accuracy_dots(names, {t("prep.col_test"): ([r["test_acc"] for r in rows], "#1c2a5a"),
                                               t("prep.col_val"): ([r["val_acc"] or 0 for r in rows], "#74c0fc")},
                                       title=t("prep.dots_title"), y_title=t("prep.accuracy")),
                         how_to_read=t("prep.dots_read"), filename="preprocess-accuracy")
            series = [{"name": r["kind"], "x": [h["epoch"] for h in r["history"]], "y": [h["val_acc"] for h in r["history"]],
                       "color": KIND_COLORS[r["kind"]], "markers": True} for r in rows]
            loss = [{"name": r["kind"], "x": [h["epoch"] for h in r["history"]], "y": [h["loss"] for h in r["history"]],
                     "color": KIND_COLORS[r["kind"]]} for r in rows]
            left, right = st.columns(2)
            with left:
                panels.chart(curves(series, title=t("prep.curves_val_title"), x_title=t("prep.epoch"), y_title=t("prep.val_acc"),
                                    percent=True), how_to_read=t("prep.curves_val_read"), filename="preprocess-validation-curves")
            with right:
                panels.chart(curves(loss, title=t("prep.curves_loss_title"), x_title=t("prep.epoch"), y_title=t("prep.loss"),
                                    log_y=True), how_to_read=t("prep.curves_loss_read"), filename="preprocess-loss-curves")
            command = catalog[rows[0]["id"]].card.get("command")
            if command:
                st.caption(t("prep.command"))
                st.code(command, language="bash", wrap_lines=True)

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
        st.markdown(t("prep.cmp_words"))
        job = jobs.job_of(JOB)
        running = job is not None and job.running
        n_all = ds.size("train")
        subsets = tuple(n for n in SUBSETS if n < n_all) + (n_all,)
        urlstate.seed("pp_kinds", "kinds", urlstate.read_list("kinds", KINDS, sep="-", most=len(KINDS)) or list(KINDS))
        urlstate.seed("pp_epochs", "ep", urlstate.read_int("ep", 3, lo=1, hi=MAX_EPOCHS))
        urlstate.seed("pp_seed", "seed", urlstate.read_int("seed", 0, lo=0, hi=2**31 - 1))
        urlstate.seed("pp_n", "n", urlstate.read_choice("n", subsets, min(COMPARE_N, n_all)))
        c1, c2, c3, c4 = st.columns([3, 2, 2, 1], vertical_alignment="bottom")
        kinds = c1.pills(t("prep.cmp_kinds"), KINDS, selection_mode="multi", key="pp_kinds", disabled=running)
        epochs = c2.slider(t("prep.cmp_epochs"), 1, MAX_EPOCHS, key="pp_epochs", disabled=running)
        n_train = c3.select_slider(t("prep.cmp_subset"), subsets, key="pp_n", format_func=lambda n: f"{n:,}", disabled=running)
        seed = c4.number_input(t("prep.cmp_seed"), min_value=0, max_value=2**31 - 1, step=1, key="pp_seed", disabled=running)
        kinds = [k for k in KINDS if k in kinds]  # always in the page's order, whatever order they were clicked in
        url.update(kinds="-".join(kinds) if kinds and len(kinds) < len(KINDS) else None, ep=epochs if epochs != 3 else None,
                   seed=seed or None, n=n_train if n_train != min(COMPARE_N, n_all) else None)
        st.caption(t("prep.cmp_bounds", epochs=MAX_EPOCHS))
        ok = 2 <= len(kinds) <= 5
        if not ok:
            st.warning(t("prep.cmp_pick"))
        config = replace(COMPARE, epochs=int(epochs), seed=int(seed))
        st.button(t("prep.cmp_start"), icon="⚖️", type="primary", disabled=running or not ok, key="pp_start",
                  on_click=lambda: jobs.start(JOB, loaders.dataset(), kinds, config, n_train=n_train, comparison=True),
                  help=t("prep.cmp_start_help", minutes=jobs.minutes()))
        pace = jobs.poll_every(job)

        @st.fragment(run_every=pace)
        def progress():
            job = jobs.job_of(JOB)
            if job is None:
                return
            if not job.running and not job.claimed:  # finished since the last full run: rerun it, so the settings unlock
                job.claimed = True
                st.rerun()
            if jobs.poll_every(job) != pace:  # it left the line for a slot: a full run sets the quicker pace
                st.rerun()
            snap = job.snapshot()
            latest = snap["latest"]
            if snap["state"] == "waiting":
                st.info(t("train.waiting", busy=jobs.busy(), slots=slots.MAX_RUNNING, s=f"{snap['elapsed']:.0f}"))
            elif job.running:
                words = dict(kind=snap["current"], k=job.names.index(snap["current"]) + 1, n=len(job.names), s=f"{snap['elapsed']:.0f}",
                             epoch=latest["epoch"] if latest else 0, epochs=job.config.epochs)
                st.progress(snap["fraction"], text=t("prep.cmp_progress", **words))
                st.button(t("train.stop"), icon="⏹️", on_click=jobs.stop, args=(JOB,), key="pp_stop", help=t("prep.cmp_stop_help"))
            elif snap["state"] == "failed":
                st.error(errors.training(snap["error"]), icon="⚠️")
            elif snap["state"] == "refused":
                st.warning(jobs.busy_message(job), icon="🚦")
            elif snap["state"] == "stopped" and not job.models:
                st.warning(jobs.stopped_empty(job), icon="⏹️")

        @st.fragment(run_every=jobs.chart_every(job))
        def curves():
            job = jobs.job_of(JOB)
            if job is None:
                return
            jobs.show_live_curves(job, charts=[("acc", t("prep.cmp_acc_read"), "comparison-validation", "pp_acc_chart"),
                                                      ("loss", t("prep.cmp_loss_read"), "comparison-loss", "pp_loss_chart")])

        progress()
        curves()
        if job is not None and job.claimed and job.models:
            if job.state == "stopped":
                done = ", ".join(job.models)
                st.warning(t("prep.cmp_time_limit", minutes=jobs.minutes(), done=done) if job.reason == "time"
                           else t("prep.cmp_stopped", done=done))
            ms = job.models.values()
            st.dataframe({t("prep.col_kind"): list(job.models), t("prep.col_val"): [f"{m.card['val_accuracy']:.2%}" for m in ms],
                          t("prep.col_best"): [m.card["best_epoch"] for m in ms],
                          t("prep.col_test"): [f"{m.card['test_accuracy']:.2%}" for m in ms],
                          t("prep.col_seconds"): [f"{m.card['seconds']:.1f}" for m in ms],
                          t("prep.col_init"): [m.card["provenance"]["init_sha256"][:12] for m in ms],
                          t("prep.col_order"): [m.card["provenance"]["batches_sha256"][:12] for m in ms]},
                         hide_index=True, width="stretch", key="pp_result")
            st.caption(t("prep.cmp_hashes"))

tab_id = next(k for k, v in label_of.items() if v == st.session_state["pp_tab"])
urlstate.write(tab=tab_id, defaults={"tab": "data", "index": 0}, **url)

shell.end()
