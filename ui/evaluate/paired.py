"""The model comparison's paired test: McNemar's exact test of each model against the most accurate one, and the
conclusion written from its numbers (never a fixed sentence)."""
import numpy as np
import streamlit as st

from engine.stats import mcnemar
from ui.i18n import sentences, t

ALPHA = 0.05  # the threshold the page states: p below it reads "unlikely to be chance"
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_p(p, *, alpha=ALPHA):
    """p as a reader sees it: '0.31' or '0.0496' from 0.001 up (never rounded onto or across alpha), else 'a·10⁻ᵏ' ('2·10⁻⁵')."""
    if p == 0:  # below the smallest float: 2**-1075, far beyond any test set's reach
        return "< 10⁻³⁰⁸"
    if p >= 0.001:
        for digits in range(2, 7):  # 0.0496 and 0.0504 must not read 0.05 next to "below 0.05"
            text = f"{p:.{digits}g}"
            if (float(text) < alpha) == (p < alpha) and (float(text) == alpha) == (p == alpha):
                return text
        return text
    mantissa, exponent = f"{p:.0e}".split("e")  # '2e-05': the rounding may carry, 9.6e-6 -> '1e-05'
    return f"{mantissa}·10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def versus_best(names, evs):
    """(best, [(other, McNemar of best vs other)]) with best the most accurate of the Evaluations (first on a tie)."""
    best = int(np.argmax([e.accuracy for e in evs]))  # argmax keeps the first of equals: the order the reader chose
    ref = evs[best]
    return names[best], [(names[i], mcnemar(ref.t, ref.pred, e.pred)) for i, e in enumerate(evs) if i != best]


def pair_line(best, other, r, *, alpha=ALPHA):
    """One sentence of counts: best right and other wrong on a_only images, the reverse on b_only, p and its verdict."""
    if r.a_only == r.b_only == 0:
        return t("evaluate.paired_line_none", a=best, b=other)
    key = "evaluate.paired_line_real" if r.p < alpha else "evaluate.paired_line_chance"
    return t(key, a=best, b=other, a_only=f"{r.a_only:,}", b_only=f"{r.b_only:,}", p=format_p(r.p, alpha=alpha))


def verdicts(pairs, *, alpha=ALPHA):
    """{'real': [...], 'chance': [...], 'same': [...]}: the other models by what the test says of the best one's lead."""
    out = {"real": [], "chance": [], "same": []}
    for other, r in pairs:
        out["same" if r.a_only == r.b_only else "real" if r.p < alpha else "chance"].append(other)
    return out


def conclusion(best, pairs, accuracy, *, alpha=ALPHA):
    """The closing sentence(s) from the numbers; accuracy maps each name to its accuracy in [0, 1]."""
    a = f"{alpha:g}"
    if len(pairs) == 1:
        other, r = pairs[0]
        values = {"a": best, "b": other, "acc_a": f"{accuracy[best]:.2%}", "acc_b": f"{accuracy[other]:.2%}",
                  "gap": f"{r.a_only - r.b_only:,}", "p": format_p(r.p, alpha=alpha), "alpha": a}
        kind = verdicts(pairs, alpha=alpha)
        return t("evaluate.paired_two_" + next(k for k in ("real", "chance", "same") if kind[k]), **values)
    parts = [t("evaluate.paired_best", best=best, acc=f"{accuracy[best]:.2%}", m=len(pairs) + 1)]
    for kind, names in verdicts(pairs, alpha=alpha).items():
        if names:
            parts.append(t(f"evaluate.paired_over_{kind}", names=t("evaluate.paired_sep").join(f"`{n}`" for n in names),
                           alpha=a))
    return sentences(parts)


def show(names, evs, *, alpha=ALPHA):
    """Draw the paired test of the compared models (their Evaluations on the same images) and its conclusion."""
    best, pairs = versus_best(names, evs)
    st.subheader(t("evaluate.paired_head"))
    words = t("evaluate.paired_words", n=f"{evs[0].n:,}", alpha=f"{alpha:g}")
    st.markdown(words if len(pairs) == 1 else sentences([words, t("evaluate.paired_words_best", best=best)]))
    st.markdown("\n".join(f"- {pair_line(best, other, r, alpha=alpha)}" for other, r in pairs))
    st.markdown(conclusion(best, pairs, {n: e.accuracy for n, e in zip(names, evs, strict=True)}, alpha=alpha))
