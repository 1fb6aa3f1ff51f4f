"""McNemar's exact test between choices on the same test images, as a table of counts and p and one sentence."""
from itertools import combinations

import streamlit as st

from engine.stats import mcnemar
from ui.i18n import t

ALPHA = 0.05  # below this p a difference is called "unlikely to be chance"
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def p_text(p):
    """p as people write it: 0.031, 0.62, 2·10⁻⁵ (and < 10⁻³⁰⁰ when it underflows)."""
    if p >= 0.001:
        return f"{p:.3f}" if p < 0.01 else f"{p:.2f}"
    if p <= 0:
        return "< 10⁻³⁰⁰"
    mantissa, exponent = f"{p:.0e}".split("e")
    return f"{mantissa}·10{str(int(exponent)).translate(SUPERSCRIPT)}"


def reading(p):
    """'unlikely to be chance' or 'could well be chance', for a p."""
    return t("prep.mc_unlikely") if p < ALPHA else t("prep.mc_chance")


def tests(preds, y_true, *, order):
    """[(a, b, McNemar)] for every pair of choices in order (a ranked above b), on the same test labels y_true (n,)."""
    return [(a, b, mcnemar(y_true, preds[a], preds[b])) for a, b in combinations(order, 2)]


def show(preds, y_true, *, order, which, key):
    """The sentence for the two best choices, then the table of every pair; which: words naming the models compared."""
    results = tests(preds, y_true, order=order)
    a, b, top = results[0]
    st.markdown(t("prep.mc_sentence", which=which, n=f"{top.n:,}", a=f"`{a}`", b=f"`{b}`", a_only=f"{top.a_only:,}",
                  b_only=f"{top.b_only:,}", p=p_text(top.p), reading=reading(top.p)))
    st.dataframe({t("prep.mc_col_a"): [r[0] for r in results], t("prep.mc_col_b"): [r[1] for r in results],
                  t("prep.mc_col_a_only"): [r[2].a_only for r in results], t("prep.mc_col_b_only"): [r[2].b_only for r in results],
                  t("prep.mc_col_p"): [p_text(r[2].p) for r in results],
                  t("prep.mc_col_reading"): [reading(r[2].p) for r in results]}, hide_index=True, width="stretch", key=key)
    st.caption(t("prep.mc_caption", pairs=len(results), alpha=f"{ALPHA:g}"))
    return results
