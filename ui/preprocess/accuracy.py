"""The accuracy tab: the shipped family's seeds (mean ± sd, intervals, every run), the rate sweep, McNemar between the
shipped models, then the shipped models' own table and learning curves."""
import streamlit as st

from ui import panels, urlstate
from ui.curves import KIND_COLORS, curves
from ui.i18n import t
from ui.preprocess import cache, mcnemar, seedstats, seedview
from ui.preprocess.charts import accuracy_dots


def rate_text(rate):
    """'0.004' or '0.004, ε 1' of a {'lr', 'eps'} dict."""
    return f"{rate['lr']:g}" + ("" if rate.get("eps") is None else f", ε {rate['eps']:g}")


def _number(v, lo, hi):
    return isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def _usable(entry):
    """Whether a family card entry has the shape engine/family.py writes (a card is data: checked before it is drawn)."""
    try:
        runs = [r for side in ("tuned", "shared") for r in entry["runs"][side]]
        return (len(runs) >= 2 and all(_number(r["test_accuracy"], 0, 1) and _number(r["seed"], 0, 2**31) for r in runs)
                and all(r.get("to95") is None or _number(r["to95"], 0, 10_000) for r in runs)
                and all(_number(r["lr"], 0, 1e6) and (r["val_accuracy"] is None or _number(r["val_accuracy"], 0, 1))
                        for r in entry["sweep"])
                and _number(entry["tuned"]["lr"], 0, 1e6) and _number(entry["shared"]["lr"], 0, 1e6))
    except (KeyError, TypeError):
        return False


def families(catalog):
    """{kind: family card entry} of the shipped pre-KIND models whose card holds a usable one (engine/family.py)."""
    out = {}
    for kind, mid in cache.SHIPPED.items():
        model = catalog.get(mid)
        entry = model.card.get("family") if model is not None else None
        if isinstance(entry, dict) and _usable(entry):
            out[kind] = entry
    return out


def sweep_table(fam):
    """The validation accuracy of every swept rate (a row per choice, and per eps for whiten); ★ marks the chosen one."""
    rates = sorted({r["lr"] for e in fam.values() for r in e["sweep"]})
    rows = {}
    for kind, e in fam.items():
        for r in e["sweep"]:
            label = kind if r["eps"] is None else f"{kind}, ε {r['eps']:g}"
            chosen = r["lr"] == e["tuned"]["lr"] and r["eps"] == e["tuned"]["eps"]
            rows.setdefault(label, {})[r["lr"]] = ("★ " if chosen else "") + f"{r['val_accuracy']:.2%}"
    cols = {t("prep.col_kind"): list(rows)} | {f"lr {lr:g}": [rows[k].get(lr, "–") for k in rows] for lr in rates}
    st.dataframe(cols, hide_index=True, width="stretch", key="pp_sweep")
    edges = [(k, e["tuned"]["lr"]) for k, e in fam.items() if e["tuned"]["lr"] in (min(e["grid"]["lr"]), max(e["grid"]["lr"]))]
    for kind, lr in edges:
        st.caption(t("prep.sweep_edge", kind=kind, lr=f"{lr:g}"))
    for e in fam.values():
        grid = (e.get("grid") or {}).get("eps") or []
        if e["tuned"]["eps"] is not None and len(grid) > 1 and e["tuned"]["eps"] in (min(grid), max(grid)):
            st.caption(t("prep.sweep_edge_eps", eps=f"{e['tuned']['eps']:g}"))


def show_family(fam, ds, catalog, *, with_shared):
    """The seeds of the shipped family: table, dots, conclusion; then the sweep and McNemar between the shipped models."""
    tuned = {k: e["runs"]["tuned"] for k, e in fam.items()}
    shared = {k: e["runs"]["shared"] for k, e in fam.items()} if with_shared else None
    rates = {k: (rate_text(e["tuned"]), rate_text(e["shared"])) for k, e in fam.items()}
    epochs = max(int((catalog[cache.SHIPPED[k]].card.get("training") or {}).get("epochs", 15)) for k in fam)
    seedview.show(tuned, shared=shared, rates=rates, epochs=epochs, key="pp_seeds_table", filename="preprocess-seeds",
                  where=t("prep.seeds_where_tuned"))
    st.subheader(t("prep.sweep_title"), anchor=False)
    st.markdown(t("prep.sweep_words", seed=next(iter(fam.values()))["sweep_seed"]))
    sweep_table(fam)
    st.subheader(t("prep.mc_title"), anchor=False)
    order = sorted(fam, key=lambda k: -seedstats.summary(tuned[k])["test"].mean)  # best mean first
    preds = {k: cache.predictions(ds.key, cache.fingerprint(catalog[cache.SHIPPED[k]]), catalog[cache.SHIPPED[k]]) for k in order}
    seed = next(iter(fam.values()))["shipped"]["seed"]
    mcnemar.show(preds, ds.labels("test"), order=order, which=t("prep.mc_which_shipped", seed=seed), key="pp_mcnemar")


def show_shipped(rows, catalog):
    """The shipped models' own table (test accuracy measured here), accuracy dots and learning curves."""
    never = t("prep.never")
    st.dataframe({t("prep.col_kind"): [r["kind"] for r in rows], t("prep.col_model"): [r["id"] for r in rows],
                  t("prep.col_test"): [f"{r['test_acc']:.2%}" for r in rows],
                  t("prep.col_val"): [f"{r['val_acc']:.2%}" if r["val_acc"] is not None else "–" for r in rows],
                  t("prep.col_to95"): [str(r["to_target"]) if r["to_target"] else never for r in rows],
                  t("prep.col_epochs"): [r["epochs"] for r in rows]}, hide_index=True, width="stretch", key="pp_shipped")
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


def show(ds, catalog):
    """The whole tab; returns its URL values ({'shared': 1 or None})."""
    rows = cache.shipped_rows(ds.key, catalog)
    if not rows:
        st.info(t("prep.no_shipped"))
        return {}
    fam = families(catalog)
    with_shared = False
    if fam:
        st.markdown(t("prep.seeds_words", seeds=max(len(e["seeds"]) for e in fam.values()),
                      shared=rate_text(next(iter(fam.values()))["shared"])))
        urlstate.seed("pp_shared", "shared", urlstate.read_bool("shared", False))
        with_shared = st.toggle(t("prep.seeds_toggle"), key="pp_shared", help=t("prep.seeds_toggle_help"))
        show_family(fam, ds, catalog, with_shared=with_shared)
    # with the seeds above, the shipped models' own runs are the detail: folded, so a phone's page stays within six screens
    with st.expander(t("prep.shipped_title"), icon="📦") if fam else st.container():
        st.markdown(t("prep.accuracy_words"))
        show_shipped(rows, catalog)
    return {"shared": 1 if with_shared else None}

