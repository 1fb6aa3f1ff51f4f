"""Several runs per choice as numbers and words: mean ± sd and 95 % intervals (engine.stats), and the conclusion sentence.

A "run" is a dict with test_accuracy (0-1) and to95 (the first epoch at 95 % validation accuracy, or None): a row of
a family card's runs (engine/family.py) or of a fresh comparison. Accuracies are handled in percent here.
"""
import math

from engine.stats import compare_groups, mean_interval
from ui.i18n import t

LEVEL = 0.95  # coverage of every interval shown


def percents(runs):
    """Test accuracies of runs, in percent."""
    return [100 * r["test_accuracy"] for r in runs]


def summary(runs):
    """{'test': Interval in %, 'to95': Interval of the runs that reached 95 % (None if none did), 'reached', 'n'}."""
    reached = [r["to95"] for r in runs if r.get("to95") is not None]
    return {"test": mean_interval(percents(runs), level=LEVEL), "to95": mean_interval(reached, level=LEVEL) if reached else None,
            "reached": len(reached), "n": len(runs)}


def spread(i, fmt):
    """'mean ± sd' of an Interval ('mean' alone when one run gives no sd)."""
    return f"{i.mean:{fmt}}" if math.isnan(i.sd) else f"{i.mean:{fmt}} ± {i.sd:{fmt}}"


def bounds(i, fmt):
    """'[lo, hi]' of an Interval, or '–' when one run gives no interval."""
    return "–" if i.n < 2 else f"[{i.lo:{fmt}}, {i.hi:{fmt}}]"


def names(items):
    """`a`, `b` and `c`: a list of choice names in the current language."""
    items = [f"`{x}`" for x in items]
    if len(items) == 1:
        return items[0]
    return t("prep.seeds_and", first=t("prep.seeds_sep").join(items[:-1]), last=items[-1])


def conclusion(groups):
    """One sentence from the numbers: which choices are ahead, which are within noise of the best, and by how much.

    groups: {choice: runs}. The margin is Welch's 95 % interval of the difference of the means (engine.stats).
    """
    sizes = {len(runs) for runs in groups.values()}
    if len(groups) < 2:
        return t("prep.seeds_verdict_one_choice")
    if min(sizes) < 2:
        return t("prep.seeds_verdict_one_run")
    ranking = compare_groups({k: percents(runs) for k, runs in groups.items()}, level=LEVEL)
    best, others, n = ranking.order[0], list(ranking.tied[1:]), min(sizes)
    if ranking.margin is None:  # nobody is clearly behind the best
        return t("prep.seeds_verdict_all_tied", best=f"`{best}`", others=names(others), n=n)
    m = ranking.margin
    words = dict(best=f"`{best}`", next=f"`{m.b}`", diff=f"{m.mean:.2f}", half=f"{m.half:.2f}", n=n)
    if not others:
        return t("prep.seeds_verdict_ahead", **words)
    return t("prep.seeds_verdict_tied", others=names(others), **words)
