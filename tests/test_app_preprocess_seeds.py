"""AppTest of the preprocessing page's seeds (issue 19): the intervals, McNemar's counts and p, and the conclusion are
checked against values computed here from the cards' runs and the models' answers, never against the app's own code."""
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest

from engine.modelfile import load_model, save_model
from engine.train import TrainConfig, train
from tests import apptest_helpers
from tests.apptest_helpers import array, assert_no_exception, clear_caches, plotly_figures, run_page
from tests.test_app_preprocess import forward  # the page's independent NumPy forward pass

app_env = apptest_helpers.app_env  # fixture this module uses
KINDS = ("raw", "unit", "center", "standardize", "whiten")
TINY = dict(hidden=(16, 12), epochs=3, val_size=100, lr=0.01, seed=3)
SEEDS = [0, 1, 2, 3, 4]
# two synthetic families of test accuracies (5 seeds each): a clear gap at the top, and every choice within noise
CLEAR = {"raw": [0.930, 0.932, 0.929, 0.931, 0.933], "unit": [0.970, 0.971, 0.969, 0.972, 0.970],
         "center": [0.962, 0.963, 0.961, 0.962, 0.964], "standardize": [0.958, 0.957, 0.959, 0.960, 0.956],
         "whiten": [0.955, 0.956, 0.954, 0.957, 0.953]}
NOISY = {"raw": [0.960, 0.972, 0.955, 0.968, 0.963], "unit": [0.970, 0.958, 0.975, 0.961, 0.968],
         "center": [0.969, 0.962, 0.971, 0.958, 0.966], "standardize": [0.964, 0.973, 0.957, 0.966, 0.961],
         "whiten": [0.959, 0.970, 0.966, 0.962, 0.971]}
TO95 = [2, 3, None, 2, 3]  # epochs to 95 % of every choice's runs: one run never got there


def t_quantile(p, df):
    """Student's t quantile by bisection on its CDF, the density integrated here with Simpson's rule (no shared code)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x):
        u = np.linspace(0.0, x, 4001)
        f = c * (1 + u * u / df) ** (-(df + 1) / 2)
        return 0.5 + (u[1] - u[0]) / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    lo, hi = 0.0, 50.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def interval(values):
    """(mean, sd, lo, hi) with the 95 % Student t interval, written out here."""
    v = np.asarray(values, float)
    n, mean, sd = len(v), v.mean(), v.std(ddof=1)
    half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def welch(a, b):
    """(mean(a) - mean(b), 95 % half-width) by Welch's t, written out here."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return a.mean() - b.mean(), t_quantile(0.975, df) * math.sqrt(va + vb)


def exact_p(k1, k2):
    """McNemar's exact two-sided p from the binomial, with math.comb."""
    m = k1 + k2
    return 1.0 if m == 0 else min(1.0, 2 * sum(math.comb(m, i) for i in range(min(k1, k2) + 1)) / 2**m)


def shown_p(text):
    """A p as the page writes it ('0.031', '2·10⁻⁵') back to (value, rounding step)."""
    if "·10" in text:
        mantissa, exponent = text.split("·10")
        e = int(exponent.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        return float(mantissa) * 10**e, 0.5 * 10**e
    decimals = len(text.split(".")[1])
    return float(text), 0.5 * 10**-decimals


def family(kind, accs, *, shared_accs=None):
    """A family card entry with these test accuracies (tuned rate) and a sweep whose best validation picks lr 0.004."""
    shared_accs = shared_accs or [a - 0.004 for a in accs]
    sweep = [{"lr": lr, "eps": None, "val_accuracy": v, "best_epoch": 3, "to95": 2}
             for lr, v in [(0.001, 0.95), (0.002, 0.96), (0.004, 0.97), (0.008, 0.965)]]
    runs = lambda a: [{"seed": s, "test_accuracy": x, "val_accuracy": x - 0.002, "best_epoch": 3, "to95": to, "seconds": 1.0}
                      for s, x, to in zip(SEEDS, a, TO95, strict=True)]
    return {"kind": kind, "target": 0.95, "chosen_by": "val_accuracy", "sweep_seed": 0,
            "grid": {"lr": [0.001, 0.002, 0.004, 0.008], "eps": None}, "sweep": sweep, "tuned": {"lr": 0.004, "eps": None},
            "shared": {"lr": 0.002, "eps": None}, "seeds": SEEDS, "shipped": {"rate": "tuned", "seed": 0},
            "runs": {"tuned": runs(accs), "shared": runs(shared_accs)}}


@pytest.fixture(scope="module")
def tiny_models(synth_mnist):
    x, t = synth_mnist[1]["train"]
    return {k: train(x.reshape(len(x), -1), t, config=TrainConfig(**TINY, preprocess=k)) for k in KINDS}


def install(tiny_models, accs):
    """Save the tiny models as models/pre-KIND.npz with a family of these accuracies; returns {kind: MLP}."""
    folder = Path(os.environ["MNIST_EXPLORER_MODELS"])
    out = {}
    for k, m in tiny_models.items():
        m.card["family"] = family(k, accs[k])
        out[k] = load_model(save_model(m, folder / f"pre-{k}.npz"))
    clear_caches()
    return out




def table_with(at, column):
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def figure_titled(at, words):
    found = [f for f in plotly_figures(at) if words in f["layout"].get("title", {}).get("text", "").replace("<br>", " ")]
    assert len(found) == 1
    return found[0]


def conclusion(at, where="Each choice at its own rate:"):
    found = [m.value for m in at.markdown if m.value.startswith(f"**{where}**")]
    assert len(found) == 1, [m.value[:60] for m in at.markdown]
    return found[0]


def test_the_intervals_shown_are_the_t_intervals_of_the_cards_runs(app_env, tiny_models):
    install(tiny_models, CLEAR)
    at = run_page("preprocess", query={"tab": "accuracy"})
    rows = table_with(at, "95 % interval (test accuracy %)")
    assert rows["Preprocessing"].tolist() == list(KINDS) and rows["Chosen rate (lr, ε)"].tolist() == ["0.004"] * 5
    assert rows["Runs (seeds)"].tolist() == [5] * 5
    for kind, spread, ci, to95, to95_ci in zip(KINDS, rows["Test accuracy %, mean ± sd"], rows["95 % interval (test accuracy %)"],
                                               rows["Epochs to 95 % (validation), mean ± sd"], rows["95 % interval (epochs)"],
                                               strict=True):
        mean, sd, lo, hi = interval([100 * a for a in CLEAR[kind]])
        assert spread == f"{mean:.2f} ± {sd:.2f}" and ci == f"[{lo:.2f}, {hi:.2f}]", kind
        m, s, lo, hi = interval([v for v in TO95 if v is not None])
        assert to95 == f"{m:.1f} ± {s:.1f} (4 of 5 reached)" and to95_ci == f"[{lo:.1f}, {hi:.1f}]"
    # every run is a dot, and the bar beside them spans the same interval
    fig = figure_titled(at, "Test accuracy of every run")
    dots = [tr for tr in fig["data"] if not tr["name"].endswith("· mean")]
    assert sorted(y for tr in dots for y in array(tr["y"]).tolist()) == pytest.approx(sorted(100 * a for k in KINDS for a in CLEAR[k]))
    bar = next(tr for tr in fig["data"] if tr["name"] == "unit · runs · mean" or tr["name"].startswith("unit ·") and "mean" in tr["name"])
    mean, _, lo, hi = interval([100 * a for a in CLEAR["unit"]])
    assert array(bar["y"])[0] == pytest.approx(mean) and array(bar["error_y"]["array"])[0] == pytest.approx(hi - mean)
    assert fig["layout"]["yaxis"]["title"]["text"] == "test accuracy (%)"
    to95 = figure_titled(at, "Epochs to reach 95 % validation accuracy")
    assert "not reached" in to95["layout"]["yaxis"]["ticktext"]  # the run that never got there is a dot too
    assert sum(array(tr["y"]).tolist().count(TINY["epochs"] + 1) for tr in to95["data"]) == len(KINDS)


def test_the_shared_rate_toggle_adds_its_runs_and_the_paired_gain(app_env, tiny_models):
    install(tiny_models, CLEAR)
    at = run_page("preprocess", query={"tab": "accuracy"})
    at.toggle(key="pp_shared").set_value(True).run()
    assert at.query_params["shared"] == "1"
    rows = table_with(at, "Gain from tuning (points, same seeds, 95 %)")
    for kind, gain, rate in zip(KINDS, rows["Gain from tuning (points, same seeds, 95 %)"], rows["Shared rate"], strict=True):
        d = np.array([100 * a for a in CLEAR[kind]]) - np.array([100 * (a - 0.004) for a in CLEAR[kind]])
        half = t_quantile(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
        assert gain == f"{d.mean():+.2f} ± {half:.2f}" and rate == "0.002"
    assert conclusion(at, "All at the shared rate:")  # a sentence for each rate shown
    fig = figure_titled(at, "Test accuracy of every run")
    assert any(tr["marker"]["symbol"][0] == "circle-open" for tr in fig["data"] if "shared" in tr["name"] and "mean" not in tr["name"])


def test_the_conclusion_follows_the_numbers(app_env, tiny_models):
    install(tiny_models, CLEAR)
    clear = conclusion(run_page("preprocess", query={"tab": "accuracy"}))
    diff, half = welch([100 * a for a in CLEAR["unit"]], [100 * a for a in CLEAR["center"]])
    assert clear == (f"**Each choice at its own rate:** `unit` is ahead of every other choice: it beats the next best, `center`, "
                     f"by {diff:.2f} ± {half:.2f} points (95 % interval of the difference, 5 runs each).")
    install(tiny_models, NOISY)
    noisy = conclusion(run_page("preprocess", query={"tab": "accuracy"}))
    best = max(KINDS, key=lambda k: np.mean(NOISY[k]))
    for k in KINDS:  # written out here: every choice's difference from the best has an interval that holds 0
        if k != best:
            d, h = welch([100 * a for a in NOISY[best]], [100 * a for a in NOISY[k]])
            assert d - h < 0 < d + h
    assert noisy != clear and noisy.startswith(f"**Each choice at its own rate:** `{best}` has the highest mean, but within noise")
    assert all(f"`{k}`" in noisy for k in KINDS) and "no difference from the best is clear at 95 % with 5 runs each" in noisy


def test_mcnemar_counts_and_p_match_the_models_answers(app_env, tiny_models):
    models = install(tiny_models, CLEAR)
    x_test, t_test = app_env["test"]
    at = run_page("preprocess", query={"tab": "accuracy"})
    assert_no_exception(at)
    rows = table_with(at, "A right, B wrong")
    order = sorted(KINDS, key=lambda k: -np.mean(CLEAR[k]))  # best mean first, computed here
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]
    assert list(zip(rows["A"], rows["B"], strict=True)) == pairs
    right = {k: forward(m.preprocess.transform(x_test.reshape(len(x_test), -1)), m.params) == t_test for k, m in models.items()}
    for a, b, a_only, b_only, p in zip(rows["A"], rows["B"], rows["A right, B wrong"], rows["B right, A wrong"],
                                       rows["p (exact, two-sided)"], strict=True):
        k1, k2 = int(np.sum(right[a] & ~right[b])), int(np.sum(~right[a] & right[b]))
        assert (a_only, b_only) == (k1, k2), (a, b)
        value, step = shown_p(p)
        assert abs(value - exact_p(k1, k2)) <= step * 1.0001, (a, b, p)
    k1, k2 = int(np.sum(right["unit"] & ~right["center"])), int(np.sum(~right["unit"] & right["center"]))
    sentence = next(m.value for m in at.markdown if m.value.startswith("Comparing the shipped models"))
    assert f"`unit` is right and `center` wrong on **{k1}** images, the reverse on **{k2}**" in sentence
    assert ("unlikely to be chance" if exact_p(k1, k2) < 0.05 else "could well be chance") in sentence


def test_the_sweep_table_marks_the_rate_chosen_by_validation(app_env, tiny_models):
    install(tiny_models, CLEAR)
    at = run_page("preprocess", query={"tab": "accuracy"})
    rows = table_with(at, "lr 0.004")
    sweep = family("unit", CLEAR["unit"])["sweep"]
    best = max(sweep, key=lambda r: r["val_accuracy"])
    assert rows[f"lr {best['lr']:g}"].tolist() == [f"★ {best['val_accuracy']:.2%}"] * 5
    assert rows["lr 0.001"].tolist() == ["95.00%"] * 5


def test_the_data_tab_shows_the_whitening_filter_at_each_eps(app_env):
    x_train, _ = app_env["train"]
    at = run_page("preprocess", query={"tab": "data", "index": 3})
    fig = figure_titled(at, "What ε does to whitening")
    names = [a["text"] for a in fig["layout"]["annotations"]][:6]
    assert names == ["ε 0.01: filter", "ε 0.01: image", "ε 0.1: filter", "ε 0.1: image", "ε 1: filter", "ε 1: image"]
    x = x_train.reshape(len(x_train), -1).astype(np.float64) / 255  # ZCA written out here: U diag(1/sqrt(s + eps)) Uᵀ
    xc = x - x.mean(axis=0)
    s, U = np.linalg.eigh(xc.T @ xc / len(x))
    s = np.clip(s, 0, None)
    for i, eps in enumerate((0.01, 0.1, 1.0)):
        Z = (U / np.sqrt(s + eps)) @ U.T
        np.testing.assert_allclose(array(fig["data"][2 * i]["z"]).astype(np.float64), Z[:, 14 * 28 + 14].reshape(28, 28),
                                   rtol=1e-3, atol=1e-3 * np.abs(Z).max())
    caption = next(c.value for c in at.caption if c.value.startswith("How strongly each ε whitens"))
    for eps in (0.01, 0.1, 1.0):  # the faintest direction's gain over the strongest's, from the eigenvalues here
        assert f"ε {eps:g}: {math.sqrt((s.max() + eps) / (s.min() + eps)):,.3g}×" in caption
    # a larger eps whitens less: the centre weight of the filter shrinks
    centres = [array(fig["data"][2 * i]["z"])[14, 14] for i in range(3)]
    assert centres[0] > centres[1] > centres[2]


def test_a_fresh_comparison_over_seeds_shows_their_intervals(app_env):
    at = run_page("preprocess", query={"tab": "compare"})
    assert at.number_input(key="pp_seeds").value == 3  # 600 synthetic images fit 3 seeds easily
    at.pills(key="pp_kinds").set_value(["unit", "center"]).run()
    at.slider(key="pp_epochs").set_value(1).run()
    at.number_input(key="pp_seeds").set_value(2).run()
    at.button(key="pp_start").click().run()
    job = at.session_state["prep_job"]
    assert job.names == ["unit@0", "center@0", "unit@1", "center@1"]  # seed by seed: a Stop keeps whole seeds
    job.thread.join(timeout=90)
    at.run()
    assert_no_exception(at)
    runs = table_with(at, "Seed")
    assert runs["Preprocessing"].tolist() == ["unit", "unit", "center", "center"] and runs["Seed"].tolist() == [0, 1, 0, 1]
    rows = table_with(at, "95 % interval (test accuracy %)")
    for kind, spread, ci in zip(rows["Preprocessing"], rows["Test accuracy %, mean ± sd"], rows["95 % interval (test accuracy %)"],
                                strict=True):
        accs = [100 * job.models[f"{kind}@{s}"].card["test_accuracy"] for s in (0, 1)]
        mean, sd, lo, hi = interval(accs)
        assert spread == f"{mean:.2f} ± {sd:.2f}" and ci == f"[{lo:.2f}, {hi:.2f}]"
    assert re.search(r"\*\*Conclusion:\*\* ", "\n".join(m.value for m in at.markdown))


def test_fewer_seeds_are_preselected_when_three_would_pass_the_time_limit(app_env, monkeypatch):
    from ui import jobs
    from ui.preprocess import budget

    def seconds(seeds, *, kinds=5, epochs=3):  # the page's budget, for 600 synthetic images of which 50 validate
        return budget.LOAD * kinds * seeds * (epochs * 550 * budget.SECONDS_PER_IMAGE_EPOCH + budget.SECONDS_PER_NET)

    limit = (seconds(2) + seconds(3)) / 2  # 2 seeds of 5 choices fit, 3 do not
    monkeypatch.setattr(jobs, "MAX_RUN_SECONDS", limit)
    at = run_page("preprocess", query={"tab": "compare"})
    assert at.number_input(key="pp_seeds").value == 2
    assert at.info[0].value == (f"3 seeds would take about {math.ceil(seconds(3) / 60)} min here, beyond the {limit / 60:g}-minute "
                                "limit, so 2 are preselected (fewer epochs or images leave room for 3).")
    at.pills(key="pp_kinds").set_value(["unit", "whiten"]).run()  # two choices: 3 seeds fit again, and are preselected
    assert seconds(3, kinds=2) <= limit and at.number_input(key="pp_seeds").value == 3 and not at.info
    at.number_input(key="pp_seeds").set_value(5).run()
    at.pills(key="pp_kinds").set_value(list(KINDS)).run()  # more than fits: said, and kept (the visitor chose it)
    assert at.number_input(key="pp_seeds").value == 5 and "may not finish within" in at.warning[0].value
    assert at.query_params["seeds"] == "5"


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_seeds_view_has_no_english_left(app_env, tiny_models, lang):
    from tests.test_app_languages import english_left
    install(tiny_models, CLEAR)
    at = run_page("preprocess", query={"tab": "accuracy", "lang": lang, "shared": 1})
    assert english_left(at, lang) == {}
    install(tiny_models, NOISY)
    assert english_left(run_page("preprocess", query={"tab": "accuracy", "lang": lang}), lang) == {}


def test_a_family_entry_of_the_wrong_shape_is_left_out_not_drawn(app_env, tiny_models):
    folder = Path(os.environ["MNIST_EXPLORER_MODELS"])
    install(tiny_models, CLEAR)
    broken = load_model(folder / "pre-raw.npz")
    broken.card["family"]["runs"]["tuned"][2]["test_accuracy"] = "97 %"  # a card is data from a file: never trusted
    save_model(broken, folder / "pre-raw.npz")
    clear_caches()
    at = run_page("preprocess", query={"tab": "accuracy"})
    assert_no_exception(at)
    assert table_with(at, "95 % interval (test accuracy %)")["Preprocessing"].tolist() == list(KINDS[1:])
