"""Several runs per choice, drawn: the table of means ± sd and 95 % intervals, every run's dot, and the conclusion.

The accuracy tab shows the shipped family's runs (each choice at its chosen rate, and at the shared one on request);
the comparison tab shows a fresh comparison's seeds. Both go through show().
"""
import streamlit as st

from engine.stats import difference
from ui import panels
from ui.i18n import t
from ui.preprocess import seedstats
from ui.preprocess.seedchart import strip


def _to95(s):
    """'mean ± sd (k of n)' of the epochs to 95 %, or 'not reached'."""
    if s["to95"] is None:
        return t("prep.never")
    text = seedstats.spread(s["to95"], ".1f")
    return text if s["reached"] == s["n"] else t("prep.seeds_reached", text=text, k=s["reached"], n=s["n"])


def _gain(tuned, shared):
    """The paired gain from tuning, in points: '+0.31 ± 0.12' (mean and 95 % half-width over the same seeds)."""
    if [r["seed"] for r in tuned] != [r["seed"] for r in shared] or len(tuned) < 2:
        return "–"
    d = difference(seedstats.percents(tuned), seedstats.percents(shared), paired=True, level=seedstats.LEVEL)
    return f"{d.mean:+.2f} ± {d.half:.2f}"


def table(groups, *, shared=None, rates=None, key):
    """The per-choice table: runs, test accuracy and epochs to 95 % as mean ± sd with 95 % intervals."""
    sums = {k: seedstats.summary(runs) for k, runs in groups.items()}
    cols = {t("prep.col_kind"): list(groups)}
    if rates:
        cols[t("prep.seeds_col_rate")] = [rates[k][0] for k in groups]
    cols |= {t("prep.seeds_col_runs"): [s["n"] for s in sums.values()],
             t("prep.seeds_col_test"): [seedstats.spread(s["test"], ".2f") for s in sums.values()],
             t("prep.seeds_col_test_ci"): [seedstats.bounds(s["test"], ".2f") for s in sums.values()],
             t("prep.seeds_col_to95"): [_to95(s) for s in sums.values()],
             t("prep.seeds_col_to95_ci"): [seedstats.bounds(s["to95"], ".1f") if s["to95"] else "–" for s in sums.values()]}
    if shared:
        other = {k: seedstats.summary(shared[k]) for k in groups}
        cols |= {t("prep.seeds_col_shared_rate"): [rates[k][1] for k in groups] if rates else [""] * len(groups),
                 t("prep.seeds_col_shared_test"): [seedstats.spread(s["test"], ".2f") for s in other.values()],
                 t("prep.seeds_col_shared_ci"): [seedstats.bounds(s["test"], ".2f") for s in other.values()],
                 t("prep.seeds_col_gain"): [_gain(groups[k], shared[k]) for k in groups]}
    st.dataframe(cols, hide_index=True, width="stretch", key=key)
    return sums


def _side(groups, *, name, solid, field, scale, tags):
    sums = {k: seedstats.summary(runs) for k, runs in groups.items()}
    values = {k: [(t("prep.seeds_seed", seed=r.get("seed", i)), None if r[field] is None else r[field] * scale)
                  for i, r in enumerate(runs)] for k, runs in groups.items()}
    intervals = {k: s["test"] if field == "test_accuracy" else s["to95"] for k, s in sums.items()}
    return {"name": name, "solid": solid, "values": values, "intervals": intervals, "tags": tags}


def charts(groups, *, shared=None, rates=None, epochs, filename):
    """Two strip charts: test accuracy (%) and epochs to 95 % validation accuracy, every run a dot."""
    tags = {k: rates[k][0] for k in groups} if rates else {}
    figs = []
    for field, scale, fmt, y_title, title in (("test_accuracy", 100, ".2f", t("prep.seeds_y_test"), t("prep.seeds_test_title")),
                                              ("to95", 1, ".1f", t("prep.seeds_y_to95"), t("prep.seeds_to95_title"))):
        sides = [_side(groups, name=t("prep.seeds_side_tuned") if shared else t("prep.seeds_side_runs"), solid=True,
                       field=field, scale=scale, tags=tags)]
        if shared:
            sides.append(_side(shared, name=t("prep.seeds_side_shared"), solid=False, field=field, scale=scale,
                               tags={k: rates[k][1] for k in groups} if rates else {}))
        figs.append(strip(list(groups), sides, title=title, y_title=y_title, fmt=fmt,
                          ceiling=epochs + 1 if field == "to95" else None, ceiling_text=t("prep.never")))
    left, right = st.columns(2)
    with left:
        panels.chart(figs[0], how_to_read=t("prep.seeds_test_read"), filename=f"{filename}-test")
    with right:
        panels.chart(figs[1], how_to_read=t("prep.seeds_to95_read", epochs=epochs), filename=f"{filename}-to95")


def verdicts(groups, *, shared=None, where=None):
    """The conclusion sentence(s): one per rate shown, each computed from the runs."""
    st.markdown(t("prep.seeds_verdict_at", where=where or t("prep.seeds_where_runs"), sentence=seedstats.conclusion(groups)))
    if shared:
        st.markdown(t("prep.seeds_verdict_at", where=t("prep.seeds_where_shared"), sentence=seedstats.conclusion(shared)))


def show(groups, *, shared=None, rates=None, epochs, key, filename, where=None):
    """Table, charts and conclusion of {choice: runs}; shared: the same choices' runs at the shared rate, shown beside."""
    table(groups, shared=shared, rates=rates, key=key)
    charts(groups, shared=shared, rates=rates, epochs=epochs, filename=filename)
    verdicts(groups, shared=shared, where=where)
