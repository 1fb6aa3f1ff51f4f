"""The comparison tab: the visitor trains chosen preprocessings over 1-5 seeds in the background (ui/jobs.py), with
live progress per run and Stop, then sees the same mean ± sd, intervals, McNemar and conclusion as the accuracy tab."""
from dataclasses import replace

import streamlit as st

from engine.compare import parse_run
from engine.history import epochs_to
from engine.preprocess import KINDS
from engine.train import TrainConfig
from ui import errors, jobs, jobview, loaders, slots, urlstate
from ui.i18n import t
from ui.preprocess import budget, cache, mcnemar, seedstats, seedview

JOB = "prep_job"
# five nets per comparison, within ui/jobs.py's MAX_RUN_SECONDS: all five kinds for 2 epochs on 60,000 images took 8.8 s
# through engine.trainproc.TrainProcess on this 2-core server (2 Dec 2026, load average ~6), so 10 epochs take about a minute
MAX_EPOCHS = 10
SUBSETS = (1000, 5000, 10000, 30000, 60000)
COMPARE = TrainConfig(optimizer="adam", lr=0.002, schedule="cosine")  # the shipped pre-* models' shared rate; 784-50-100-10 sigmoid
COMPARE_N = 10_000  # default training images of a fresh comparison: a few seconds per net


def _seeds_default(kinds, epochs, n_train):
    """The preselected number of seeds for these settings, and the estimate (s) of 3 seeds."""
    val = jobs.val_size(n_train)
    n = budget.default_seeds(kinds=max(2, len(kinds)), epochs=epochs, n_train=n_train, val_size=val, limit=jobs.MAX_RUN_SECONDS)
    return n, budget.estimate(kinds=max(2, len(kinds)), seeds=budget.DEFAULT_SEEDS, epochs=epochs, n_train=n_train, val_size=val)


def _touched():
    st.session_state["pp_seeds_touched"] = True


def settings(ds, running):
    """The widgets; returns (kinds, config, n_train, seeds, url values)."""
    n_all = ds.size("train")
    subsets = tuple(n for n in SUBSETS if n < n_all) + (n_all,)
    urlstate.seed("pp_kinds", "kinds", urlstate.read_list("kinds", KINDS, sep="-", most=len(KINDS)) or list(KINDS))
    urlstate.seed("pp_epochs", "ep", urlstate.read_int("ep", 3, lo=1, hi=MAX_EPOCHS))
    urlstate.seed("pp_seed", "seed", urlstate.read_int("seed", 0, lo=0, hi=2**31 - 1))
    urlstate.seed("pp_n", "n", urlstate.read_choice("n", subsets, min(COMPARE_N, n_all)))
    c1, c2, c3, c4, c5 = st.columns([3, 2, 2, 1, 1], vertical_alignment="bottom")
    kinds = c1.pills(t("prep.cmp_kinds"), KINDS, selection_mode="multi", key="pp_kinds", disabled=running)
    epochs = c2.slider(t("prep.cmp_epochs"), 1, MAX_EPOCHS, key="pp_epochs", disabled=running)
    n_train = c3.select_slider(t("prep.cmp_subset"), subsets, key="pp_n", format_func=lambda n: f"{n:,}", disabled=running)
    kinds = [k for k in KINDS if k in kinds]  # always in the page's order, whatever order they were clicked in
    fits, three = _seeds_default(kinds, epochs, n_train)
    linked = urlstate.read_int("seeds", None, lo=1, hi=budget.MOST_SEEDS)
    if urlstate.changed_outside("seeds") and linked is not None:  # a bad value is no choice: keep following the budget
        st.session_state["pp_seeds_touched"] = True
    urlstate.seed("pp_seeds", "seeds", fits if linked is None else linked)
    if not st.session_state.get("pp_seeds_touched") and not running:  # the preselection follows the budget until changed
        st.session_state["pp_seeds"] = fits
    seeds = c4.number_input(t("prep.cmp_seeds"), min_value=1, max_value=budget.MOST_SEEDS, step=1, key="pp_seeds",
                            disabled=running, on_change=_touched, help=t("prep.cmp_seeds_help"))
    seed = c5.number_input(t("prep.cmp_seed"), min_value=0, max_value=2**31 - 1, step=1, key="pp_seed", disabled=running)
    limit = jobview.minutes()
    cost = budget.estimate(kinds=max(2, len(kinds)), seeds=int(seeds), epochs=epochs, n_train=n_train, val_size=jobs.val_size(n_train))
    if cost > jobs.MAX_RUN_SECONDS:
        st.warning(t("prep.cmp_seeds_over", seeds=seeds, limit=limit, minutes=budget.minutes(cost)))
    elif fits < budget.DEFAULT_SEEDS and not st.session_state.get("pp_seeds_touched"):
        st.info(t("prep.cmp_seeds_fewer", seeds=fits, limit=limit, minutes=budget.minutes(three)))
    else:
        st.caption(t("prep.cmp_seeds_fit", minutes=budget.minutes(cost), runs=int(seeds) * len(kinds), seeds=seeds,
                     kinds=len(kinds), limit=limit))
    url = dict(kinds="-".join(kinds) if kinds and len(kinds) < len(KINDS) else None, ep=epochs if epochs != 3 else None,
               seed=seed or None, n=n_train if n_train != min(COMPARE_N, n_all) else None,
               seeds=seeds if st.session_state.get("pp_seeds_touched") else None)
    return kinds, replace(COMPARE, epochs=int(epochs), seed=int(seed)), n_train, list(range(int(seed), int(seed) + int(seeds))), url


def run_status(job, snap):
    """'unit · seed 0 ✓ · center · seed 0 ▶ 2/3 · …': where every run of the job stands."""
    current = job.names.index(snap["current"])
    parts = []
    for i, name in enumerate(job.names):
        kind, seed = parse_run(name)
        label = kind if seed is None else t("prep.cmp_run", kind=kind, seed=seed)
        done = len(snap["epochs"].get(name, []))
        mark = "✓" if i < current or not job.running else (f"▶ {done}/{job.config.epochs}" if i == current else "…")
        parts.append(f"{label} {mark}")
    return " · ".join(parts)


def progress(pace):
    """The live part (a fragment): waiting, progress per run and Stop, or why it ended without models."""
    job = jobs.job_of(JOB)
    if job is None:
        return
    if not job.running and not job.claimed:  # finished since the last full run: rerun it, so the settings unlock
        job.claimed = True
        st.rerun()
    if jobview.poll_every(job) != pace:  # it left the line for a slot: a full run sets the quicker pace
        st.rerun()
    snap = job.snapshot()
    latest = snap["latest"]
    if snap["state"] == "waiting":
        st.info(t("train.waiting", busy=jobs.busy(), slots=slots.MAX_RUNNING, s=f"{snap['elapsed']:.0f}"))
    elif job.running:
        kind, seed = parse_run(snap["current"])
        words = dict(kind=kind, seed=seed if seed is not None else job.config.seed, k=job.names.index(snap["current"]) + 1,
                     n=len(job.names), s=f"{snap['elapsed']:.0f}", epoch=latest["epoch"] if latest else 0, epochs=job.config.epochs)
        st.progress(snap["fraction"], text=t("prep.cmp_progress_seed", **words))
        st.caption(run_status(job, snap))
        st.button(t("train.stop"), icon="⏹️", on_click=jobs.stop, args=(JOB,), key="pp_stop", help=t("prep.cmp_stop_help"))
    elif snap["state"] == "failed":
        st.error(errors.training(snap["error"]), icon="⚠️")
    elif snap["state"] == "refused":
        st.warning(jobview.busy_message(job), icon="🚦")
    elif snap["state"] == "stopped" and not job.models:
        st.warning(jobview.stopped_empty(job), icon="⏹️")


def live_curves():
    """The live curves (a fragment)."""
    job = jobs.job_of(JOB)
    if job is None:
        return
    jobview.show_live_curves(job, charts=[("acc", t("prep.cmp_acc_read"), "comparison-validation", "pp_acc_chart"),
                                       ("loss", t("prep.cmp_loss_read"), "comparison-loss", "pp_loss_chart")])


def groups_of(models):
    """{kind: runs} of a finished job's models {kind@seed: MLP}, in the page's order of kinds and seed order."""
    out = {}
    for name, m in models.items():
        kind, seed = parse_run(name)
        out.setdefault(kind, []).append({"seed": m.card["training"]["seed"] if seed is None else seed,
                                         "test_accuracy": m.card["test_accuracy"], "val_accuracy": m.card["val_accuracy"],
                                         "to95": epochs_to(m.card["history"], target=0.95)})
    return {k: sorted(out[k], key=lambda r: r["seed"]) for k in KINDS if k in out}


def results(job, ds):
    """A finished job's runs: the per-run table, then mean ± sd, intervals, dots, conclusion and McNemar."""
    if job.state == "stopped":
        done = ", ".join(job.models)
        st.warning(t("prep.cmp_time_limit", minutes=jobview.minutes(), done=done) if job.reason == "time"
                   else t("prep.cmp_stopped", done=done))
    runs = sorted(job.models, key=lambda n: (KINDS.index(parse_run(n)[0]), parse_run(n)[1] or 0))
    ms = [job.models[n] for n in runs]
    st.dataframe({t("prep.col_kind"): [parse_run(n)[0] for n in runs], t("prep.col_seed"): [m.card["training"]["seed"] for m in ms],
                  t("prep.col_val"): [f"{m.card['val_accuracy']:.2%}" for m in ms],
                  t("prep.col_best"): [m.card["best_epoch"] for m in ms],
                  t("prep.col_test"): [f"{m.card['test_accuracy']:.2%}" for m in ms],
                  t("prep.col_seconds"): [f"{m.card['seconds']:.1f}" for m in ms],
                  t("prep.col_init"): [m.card["provenance"]["init_sha256"][:12] for m in ms],
                  t("prep.col_order"): [m.card["provenance"]["batches_sha256"][:12] for m in ms]},
                 hide_index=True, width="stretch", key="pp_result")
    st.caption(t("prep.cmp_hashes"))
    groups = groups_of(job.models)
    seedview.show(groups, epochs=job.config.epochs, key="pp_fresh_seeds", filename="comparison-seeds")
    if len(groups) >= 2:
        first = min(r["seed"] for rows in groups.values() for r in rows)
        firsts = {k: next((n for n in runs if parse_run(n) == (k, first)), None) for k in groups}
        order = sorted((k for k in groups if firsts[k]), key=lambda k: -seedstats.summary(groups[k])["test"].mean)
        if len(order) >= 2:
            preds = {k: cache.predictions(ds.key, cache.fingerprint(job.models[firsts[k]]), job.models[firsts[k]]) for k in order}
            mcnemar.show(preds, ds.labels("test"), order=order, which=t("prep.mc_which_fresh", seed=first), key="pp_fresh_mc")


def show(ds):
    """The whole tab; returns its URL values."""
    st.markdown(t("prep.cmp_words"))
    job = jobs.job_of(JOB)
    running = job is not None and job.running
    kinds, config, n_train, seeds, url = settings(ds, running)
    st.caption(t("prep.cmp_bounds", epochs=MAX_EPOCHS))
    ok = 2 <= len(kinds) <= 5
    if not ok:
        st.warning(t("prep.cmp_pick"))
    st.button(t("prep.cmp_start"), icon="⚖️", type="primary", disabled=running or not ok, key="pp_start",
              on_click=lambda: jobs.start(JOB, loaders.dataset(), kinds, config, n_train=n_train, comparison=True, seeds=seeds),
              help=t("prep.cmp_start_help", minutes=jobview.minutes()))
    pace = jobview.poll_every(job)

    @st.fragment(run_every=pace)
    def live_progress():
        progress(pace)

    @st.fragment(run_every=jobview.chart_every(job))
    def curves():
        live_curves()

    live_progress()
    curves()
    if job is not None and job.claimed and job.models:
        results(job, ds)
    return url
