"""The model comparison's paired test (/evaluate?tab=compare): McNemar's counts and p against the test's own binomial
sum, and a conclusion that follows the numbers (a clear gap, a gap within noise) in English, Chinese and Japanese.

The compared models are crafted: a single linear layer 784 -> 10 solved by least squares so that it gives exactly the
answers the test chose on each of the 100 synthetic test images, so the counts of every case are known in advance.
"""
import math
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import Preprocess
from tests import apptest_helpers
from tests.apptest_helpers import page_text, run_page
from ui.evaluate.paired import format_p

app_env = apptest_helpers.app_env  # fixture: synthetic MNIST (600 train, 100 test) and the models "default" and "small"

SUPER = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
SHOWN_P = re.compile(r"p = ([0-9.]+)(?:·10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+))?")


def exact_p(b, c):
    """min(1, 2 P[X <= min(b, c)]), X ~ Bin(b + c, 1/2), as an exact fraction of math.comb sums."""
    m = b + c
    if m == 0:
        return 1.0
    return float(min(Fraction(1), Fraction(2 * sum(math.comb(m, i) for i in range(min(b, c) + 1)), 2 ** m)))


def craft(app_env, name, right, *, shift):
    """Save models/NAME.npz answering the true digit on the test images where right (100,) is True, else digit + shift."""
    x, t = app_env["test"]
    target = np.where(right, t, (t.astype(int) + shift) % 10)
    X = x.reshape(len(x), -1).astype(np.float64) / 255
    # 100 noisy images are linearly independent in 784 dimensions: least squares hits the scores exactly; with no bias,
    # any positive pixel scale gives the same argmax
    W = np.linalg.lstsq(X, 10.0 * np.eye(10)[target], rcond=None)[0]
    save_model(MLP({"W1": W.astype(np.float32), "b1": np.zeros(10, np.float32)}, preprocess=Preprocess("unit"),
                   card={"title": f"Crafted {name}"}),
               Path(os.environ["MNIST_EXPLORER_MODELS"]) / f"{name}.npz")
    return predictions(app_env, name)


def predictions(app_env, name):
    """The saved model's answers (100,) from a plain float64 forward pass of its one layer (argmax of x W + b)."""
    x, _ = app_env["test"]
    params = load_model(Path(os.environ["MNIST_EXPLORER_MODELS"]) / f"{name}.npz").params
    return (x.reshape(len(x), -1).astype(np.float64) / 255 @ params["W1"].astype(np.float64) + params["b1"]).argmax(axis=1)


def outcomes(a_only, b_only, both_right, *, seed=0):
    """Two correctness masks (100,) with exactly these counts (the rest both wrong), in a shuffled order."""
    rng = np.random.default_rng(seed)
    both_wrong = 100 - a_only - b_only - both_right
    ra = np.array([1] * a_only + [0] * b_only + [1] * both_right + [0] * both_wrong, bool)
    rb = np.array([0] * a_only + [1] * b_only + [1] * both_right + [0] * both_wrong, bool)
    order = rng.permutation(100)
    return ra[order], rb[order]


def shown_p(text):
    """(value, half a unit of its last digit) of the p a sentence shows: '2·10⁻⁵' -> (2e-5, 5e-6); '0.75' -> (0.75, 0.005)."""
    mantissa, power = SHOWN_P.search(text).groups()
    scale = 10.0 ** int(power.translate(SUPER)) if power else 1.0
    decimals = len(mantissa.partition(".")[2])
    return float(mantissa) * scale, 0.5 * 10.0 ** -decimals * scale


def paired_lines(at):
    """The bullet lines of the paired test (the markdown that lists them)."""
    return [line for m in at.markdown for line in m.value.split("\n") if line.startswith("- ") and "p = " in line]


def conclusion(at):
    """The paired test's closing sentence(s): the markdown that starts with the bold conclusion label."""
    found = [m.value for m in at.markdown if m.value.startswith(("**Conclusion:**", "**结论**", "**結論**"))]
    assert len(found) == 1, page_text(at)
    return found[0]


@pytest.fixture
def gap(app_env):
    """ace and deuce with a clear gap (ace alone right on 20 images, deuce alone on 2), and their true answers."""
    ra, rb = outcomes(20, 2, 70)
    return app_env["test"][1].astype(int), craft(app_env, "ace", ra, shift=1), craft(app_env, "deuce", rb, shift=2)


@pytest.fixture
def noise(app_env):
    """ace and deuce a gap within noise apart (ace alone right on 6 images, deuce alone on 4)."""
    ra, rb = outcomes(6, 4, 80, seed=1)
    return app_env["test"][1].astype(int), craft(app_env, "ace", ra, shift=1), craft(app_env, "deuce", rb, shift=3)


def counts(t, pa, pb):
    return int(np.sum((pa == t) & (pb != t))), int(np.sum((pa != t) & (pb == t)))


@pytest.mark.parametrize("order", ["ace,deuce", "deuce,ace"])
def test_counts_and_p_match_the_models_answers(gap, order):
    t, pa, pb = gap
    a_only, b_only = counts(t, pa, pb)
    assert (a_only, b_only) == (20, 2)  # the crafted models answer as designed
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": order})
    [line] = paired_lines(at)
    # the more accurate model is named first, whichever order the reader picked them in
    assert line.startswith(f"- `ace` right and `deuce` wrong on {a_only} images, the reverse on {b_only}: p = ")
    value, half = shown_p(line)
    assert abs(value - exact_p(a_only, b_only)) <= half * 1.0001
    assert "·10⁻" in line and "unlikely to be chance" in line
    words = page_text(at)
    assert "McNemar's exact test" in words and "Below 0.05 we call a gap unlikely to be chance." in words


def test_the_conclusion_follows_the_numbers(gap, app_env):
    t, pa, pb = gap
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": "ace,deuce"})
    clear = conclusion(at)
    p_clear = exact_p(*counts(t, pa, pb))
    assert p_clear < 0.05
    assert f"({np.mean(pa == t):.2%} against {np.mean(pb == t):.2%})" in clear
    assert f"It gets {np.sum(pa == t) - np.sum(pb == t)} more images right" in clear
    assert "unlikely to be chance" in clear and "could well be" not in clear

    ra, rb = outcomes(6, 4, 80, seed=1)  # the same two names, now a gap of 2 images within noise
    pa, pb = craft(app_env, "ace", ra, shift=1), craft(app_env, "deuce", rb, shift=3)
    apptest_helpers.clear_caches()
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": "ace,deuce"})
    within = conclusion(at)
    a_only, b_only = counts(t, pa, pb)
    assert (a_only, b_only) == (6, 4) and exact_p(a_only, b_only) >= 0.05
    assert within != clear
    assert "could well be chance" in within and "unlikely" not in within
    assert f"its {a_only - b_only} more right answers" in within
    value, half = shown_p(within)
    assert abs(value - exact_p(a_only, b_only)) <= half * 1.0001


def test_equal_accuracy_names_no_winner(app_env):
    ra, rb = outcomes(5, 5, 80, seed=2)
    t = app_env["test"][1].astype(int)
    pa, pb = craft(app_env, "ace", ra, shift=1), craft(app_env, "deuce", rb, shift=2)
    assert counts(t, pa, pb) == (5, 5)
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": "deuce,ace"})
    assert "p = 1," in paired_lines(at)[0] and "could well be chance" in paired_lines(at)[0]
    assert conclusion(at).startswith("**Conclusion:** `deuce` and `ace` get exactly as many images right")


def test_three_models_are_each_tested_against_the_best(app_env):
    t = app_env["test"][1].astype(int)
    rng = np.random.default_rng(5)
    best = np.ones(100, bool)
    best[rng.permutation(100)[:4]] = False  # 96 right
    close, far = best.copy(), best.copy()
    close[np.flatnonzero(best)[:3]] = False  # 93 right: best alone right on 3
    far[np.flatnonzero(best)[:30]] = False  # 66 right: best alone right on 30
    preds = {name: craft(app_env, name, right, shift=s) for name, right, s in
             (("ace", best, 1), ("deuce", close, 2), ("trey", far, 3))}
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": "trey,deuce,ace"})
    lines = paired_lines(at)
    assert len(lines) == 2
    for line, other in zip(lines, ("trey", "deuce"), strict=True):
        a_only, b_only = counts(t, preds["ace"], preds[other])
        assert line.startswith(f"- `ace` right and `{other}` wrong on {a_only} images, the reverse on {b_only}: p = ")
        value, half = shown_p(line)
        assert abs(value - exact_p(a_only, b_only)) <= half * 1.0001
    assert "Each model is tested against the most accurate one, `ace`." in page_text(at)
    end = conclusion(at)
    assert f"`ace` is the most accurate of the 3 ({np.mean(preds['ace'] == t):.2%})" in end
    assert "Its lead over `trey` is unlikely to be chance" in end
    assert "Its lead over `deuce` could well be chance" in end


@pytest.mark.parametrize("lang, words", [("zh", "不太可能是偶然"), ("ja", "偶然とは考えにくい")])
def test_the_sentences_in_chinese_and_japanese(gap, lang, words):
    t, pa, pb = gap
    at = run_page("evaluate", query={"model": "ace", "tab": "compare", "cmp": "ace,deuce", "lang": lang})
    [line] = paired_lines(at)
    assert "20" in line and "2" in line and words in line
    value, half = shown_p(line)
    assert "·10⁻" in line and abs(value - exact_p(*counts(t, pa, pb))) <= half * 1.0001
    end = conclusion(at)
    assert words in end and f"{np.mean(pa == t):.2%}" in end and "Conclusion" not in end


@pytest.mark.parametrize("p, text", [
    (1.7216930084106377e-05, "2·10⁻⁵"), (9.6e-6, "1·10⁻⁵"), (3.1e-12, "3·10⁻¹²"), (0.00099, "1·10⁻³"),
    (1.0, "1"), (0.754, "0.75"), (0.0496, "0.0496"), (0.0504, "0.0504"), (0.012, "0.012"), (0.001, "0.001"),
])
def test_p_is_written_as_a_times_ten_to_the_minus_k(p, text):
    assert format_p(p) == text
