"""AppTest of the preprocessing page on synthetic MNIST (and the mismatch demo on real MNIST): each tab's numbers are
checked against NumPy written out here, and a fresh comparison trains in the background with identical starts."""
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.train import TrainConfig, init_params, rng_for, train
from tests import apptest_helpers
from tests.apptest_helpers import array, assert_no_exception, clear_caches, plotly_figures, run_page
from tests.synth import write_mnist

app_env = apptest_helpers.app_env  # fixture this module uses
KINDS = ("raw", "unit", "center", "standardize", "whiten")
TINY = dict(hidden=(16, 12), epochs=3, val_size=100, lr=0.01, seed=3)  # a fraction of a second per net on synthetic digits


@pytest.fixture(scope="module")
def tiny_models(synth_mnist):
    """{kind: MLP} tiny pre-KIND models trained once per module on the synthetic training set."""
    x, t = synth_mnist[1]["train"]
    return {k: train(x.reshape(len(x), -1), t, config=TrainConfig(**TINY, preprocess=k)) for k in KINDS}


@pytest.fixture
def shipped(app_env, tiny_models):
    """app_env plus the tiny models saved as models/pre-KIND.npz, as `python -m engine train-all` would; yields {kind: MLP}."""
    folder = Path(os.environ["MNIST_EXPLORER_MODELS"])
    out = {k: load_model(save_model(m, folder / f"pre-{k}.npz")) for k, m in tiny_models.items()}
    clear_caches()
    return out


def forward(x, params):
    """Predicted digits of a sigmoid MLP on prepared input x (n, 784), written out with NumPy: the page's independent check."""
    L = len(params) // 2
    h = x.astype(np.float64)
    for i in range(1, L + 1):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if i < L:
            h = 0.5 + 0.5 * np.tanh(h / 2)  # the sigmoid, without exp overflowing for raw pixels
    return h.argmax(axis=1)


def figure_titled(at, words):
    """The one plotly figure whose title contains words, read without the line breaks that fit it to a phone
    (ui.charts.wrap)."""
    found = [f for f in plotly_figures(at) if words in f["layout"].get("title", {}).get("text", "").replace("<br>", " ")]
    assert len(found) == 1, [f["layout"].get("title", {}).get("text") for f in plotly_figures(at)]
    return found[0]


def table(at, i=0):
    return at.dataframe[i].value


def open_tab(tab, **query):
    return run_page("preprocess", query={"tab": tab, **query})


def test_each_choice_of_one_digit_with_its_own_colour_scale(app_env):
    x_train, _ = app_env["train"]
    x_test, t_test = app_env["test"]
    at = open_tab("data", index=7)
    fig = figure_titled(at, f"Test image #7 (a {t_test[7]}) under each choice")
    z = {tr["name"]: array(tr["z"]).astype(np.float64) for tr in fig["data"]}
    img = x_test[7].astype(np.float64)
    mean = x_train.reshape(len(x_train), 28, 28).mean(axis=0)
    np.testing.assert_array_equal(z["raw"], img)
    np.testing.assert_allclose(z["unit"], img / 255, atol=1e-6)
    np.testing.assert_allclose(z["center"], (img - mean) / 255, atol=1e-5)
    std = x_train.reshape(len(x_train), 28, 28).std(axis=0)
    std = np.where(std < 1e-3 * std.max(), 1.0, std)
    np.testing.assert_allclose(z["standardize"], (img - mean) / std, atol=1e-3)
    assert z["whiten"].shape == (28, 28) and np.isfinite(z["whiten"]).all()
    # one colour axis per panel: ink from 0 for raw, ink from 0 to 1 for unit, blue-white-red around 0 once values go negative
    axes = [fig["layout"][f"coloraxis{i if i > 1 else ''}"] for i in range(1, 6)]
    assert axes[0]["cmax"] == img.max() and axes[1]["cmax"] == pytest.approx(img.max() / 255)
    assert axes[2]["cmin"] == -axes[2]["cmax"] and axes[2]["colorscale"][0][1] != axes[0]["colorscale"][0][1]
    titles = [a["text"] for a in fig["layout"]["annotations"]]
    assert titles[0] == f"raw<br>0 … {img.max():.3g}" and at.query_params["index"] == "7"
    # every colour bar says what its numbers measure
    assert [a["colorbar"]["title"]["text"] for a in axes] == ["pixel value (0–255)", "pixel value ÷ 255", "(pixel − mean) ÷ 255",
                                                                 "(pixel − mean) ÷ σ", "whitened value (σ ≈ 1)"]
    # two panels to a line, in the choices' order: raw and unit side by side, whiten alone on the third line
    x = [fig["layout"][f"xaxis{i if i > 1 else ''}"]["domain"][0] for i in range(1, 6)]
    y = [fig["layout"][f"yaxis{i if i > 1 else ''}"]["domain"][1] for i in range(1, 6)]
    assert x[0] == x[2] == x[4] < x[1] == x[3] and y[0] == y[1] > y[2] == y[3] > y[4]


def test_value_histograms_count_every_pixel_and_statistics_images_match(app_env):
    x_train, _ = app_env["train"]
    x_test, _ = app_env["test"]
    at = open_tab("data")
    hist = figure_titled(at, "How the values are spread")
    assert len(hist["data"]) == 5
    assert all(array(tr["y"]).sum() == len(x_test) * 784 for tr in hist["data"])
    counts = np.histogram(x_test.astype(np.float32), bins=40, range=(0, x_test.max()))[0]
    assert array(hist["data"][0]["y"]).tolist() == counts.tolist()  # raw
    stats = figure_titled(at, "What the statistics-based choices learn from the 600 training images")
    mean, std, zca = (array(tr["z"]).astype(np.float64) for tr in stats["data"])
    np.testing.assert_allclose(mean, x_train.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(std, x_train.std(axis=0), atol=1e-3)
    assert zca[14, 14] == zca.max() > 0  # whitening keeps the pixel itself and subtracts a blend of its neighbours


def test_the_shipped_models_table_and_their_learning_curves(shipped, app_env):
    x_test, t_test = app_env["test"]
    at = open_tab("accuracy")
    assert_no_exception(at)
    rows = table(at)
    assert rows["Preprocessing"].tolist() == list(KINDS)
    for kind, test_acc, val_acc, to95 in zip(KINDS, rows["Test accuracy"], rows["Validation accuracy (best)"],
                                             rows["Epochs to reach 95% (validation)"], strict=True):
        m = shipped[kind]
        own = np.mean(forward(m.preprocess.transform(x_test.reshape(len(x_test), -1)), m.params) == t_test)
        assert test_acc == f"{own:.2%}"
        history = m.card["history"]
        assert val_acc == f"{max(h['val_acc'] for h in history):.2%}"
        first = next((h["epoch"] for h in history if h["val_acc"] >= 0.95), None)
        assert to95 == (str(first) if first else "not reached")
    curves = {tr["name"]: array(tr["y"]).tolist() for tr in figure_titled(at, "Validation accuracy after each epoch")["data"]}
    assert curves == {k: [h["val_acc"] for h in shipped[k].card["history"]] for k in KINDS}
    losses = figure_titled(at, "Training loss after each epoch")
    assert [tr["name"] for tr in losses["data"]] == list(KINDS) and losses["layout"]["yaxis"]["type"] == "log"
    dots = figure_titled(at, "Accuracy of the five preprocessing choices")
    assert array(dots["data"][0]["x"]).tolist() == list(KINDS)


def test_without_shipped_models_the_accuracy_tab_says_how_to_make_them(app_env):
    at = open_tab("accuracy")
    assert "python -m engine train-all" in at.info[0].value and not plotly_figures(at)


def test_mismatch_demo_numbers_match_numpy(shipped, app_env):
    x_train, _ = app_env["train"]
    x_test, t_test = app_env["test"]
    at = open_tab("mismatch")
    assert at.selectbox(key="pp_model").value == "pre-unit"
    m = shipped["unit"]
    x = x_test.reshape(len(x_test), -1).astype(np.float64)
    mean = x_train.reshape(len(x_train), -1).mean(axis=0)
    fed = {"raw": x, "unit": x / 255, "center": (x - mean) / 255}
    rows = table(at)
    assert rows["Fed as"].tolist()[:2] == ["raw", "unit (own)"]
    for i, kind in enumerate(fed):
        assert rows["accuracy"][i] == f"{np.mean(forward(fed[kind], m.params) == t_test):.2%}", kind
        a1 = fed[kind] @ m.params["W1"] + m.params["b1"]
        assert rows["saturated units (|a| > 5)"][i] == f"{np.mean(np.abs(a1) > 5):.1%}", kind
    hist = figure_titled(at, "Layer-1 pre-activations a = x·W1 + b1 of pre-unit")
    raw_share = array(hist["data"][0]["y"]).astype(float)
    assert raw_share.sum() == pytest.approx(1.0)
    a_raw = x @ m.params["W1"] + m.params["b1"]
    assert raw_share[0] + raw_share[-1] == pytest.approx(np.mean(np.abs(a_raw) >= 19.0), abs=1e-9)  # the end bins hold |a| >= 19
    sat = figure_titled(at, "Share of layer-1 pre-activations with |a| > 5")
    assert "own" in array(sat["data"][0]["x"]).tolist()[1]
    at.selectbox(key="pp_model").select("pre-center").run()
    assert table(at)["Fed as"].tolist()[2] == "center (own)" and at.query_params["mm"] == "pre-center"


def test_a_fresh_comparison_starts_every_net_from_the_same_weights_and_batches(app_env):
    # the engine's own proof is tests/test_train.py::test_compare_gives_every_preprocessing_identical_init_and_batch_order;
    # this one checks what the page shows against the definition of the seed's streams, recomputed here
    at = open_tab("compare")
    at.pills(key="pp_kinds").set_value(["center", "unit"]).run()
    at.slider(key="pp_epochs").set_value(1).run()
    at.number_input(key="pp_seed").set_value(5).run()
    at.number_input(key="pp_seeds").set_value(1).run()
    assert at.query_params["kinds"] == "unit-center" and at.query_params["seed"] == "5"
    at.button(key="pp_start").click().run()
    job = at.session_state["prep_job"]
    job.thread.join(timeout=60)
    at.run()
    assert_no_exception(at)
    rows = table(at)
    assert rows["Preprocessing"].tolist() == ["unit", "center"]
    init = init_params([784, 50, 100, 10], activation="sigmoid", rng=rng_for(5, "init"))
    init_sha = hashlib.sha256(b"".join(init[k].tobytes() for k in sorted(init))).hexdigest()
    order_sha = hashlib.sha256(rng_for(5, "order").permutation(600 - 50).tobytes()).hexdigest()  # 50 of 600 held out
    assert rows["Starting weights (fingerprint)"].tolist() == [init_sha[:12]] * 2
    assert rows["Batch order (fingerprint)"].tolist() == [order_sha[:12]] * 2
    cards = {k.partition("@")[0]: m.card for k, m in job.models.items()}  # runs are named kind@seed
    assert list(job.models) == ["unit@5", "center@5"]
    assert rows["Validation accuracy (best)"].tolist() == [f"{cards[k]['val_accuracy']:.2%}" for k in ("unit", "center")]
    acc = {tr["name"]: array(tr["y"]).tolist() for tr in figure_titled(at, "Accuracy while training")["data"]}
    assert acc == {f"{k}@5: validation accuracy": [cards[k]["history"][0]["val_acc"]] for k in ("unit", "center")}
    assert not at.button(key="pp_start").disabled


def test_a_comparison_needs_two_choices(app_env):
    at = open_tab("compare")
    at.pills(key="pp_kinds").set_value(["unit"]).run()
    assert "Pick between 2 and 5 choices" in at.warning[0].value and at.button(key="pp_start").disabled


# tests/test_app_prep_data.py::test_bad_url_values_fall_back_to_the_documented_defaults checks tab, index, mm and a
# kinds list with one good choice; these two check the rest of the address bar (docs/pages.md): kinds with no good
# choice, ep and seed out of range or not whole numbers, n, seeds and shared
DEFAULTS = {"pp_kinds": list(KINDS), "pp_epochs": 3, "pp_seed": 0, "pp_n": 1200, "pp_seeds": 3}  # n: all 1,200 (< 10,000)
GOOD = {"kinds": "unit-center", "ep": "5", "seed": "7", "n": "1000"}


@pytest.mark.parametrize(("query", "shown", "kept"), [
    ({"kinds": "pca-zca", "ep": "0", "seed": "2147483648", "n": "5000", "seeds": "9"}, DEFAULTS, {}),  # n: not offered
    ({"kinds": "", "ep": "11", "seed": "1e3", "n": "abc", "seeds": "0"}, DEFAULTS, {}),
    ({"kinds": "-", "ep": "2.5", "seed": " 4", "n": "1000.0", "seeds": "x"}, DEFAULTS, {}),
    # the control: good values are taken (and kept in the link), so the defaults above are fallbacks, not a page that
    # ignores its link
    ({**GOOD, "seeds": "2"}, {"pp_kinds": ["unit", "center"], "pp_epochs": 5, "pp_seed": 7, "pp_n": 1000, "pp_seeds": 2},
     {**GOOD, "seeds": "2"}),
])
def test_bad_url_values_fall_back_to_defaults(app_env, tmp_path, monkeypatch, query, shown, kept):
    # 1,200 training images, so the subset slider offers two sizes (1,000 and all) and n has a wrong one to fall back from
    monkeypatch.setenv("MNIST_DIR", str(write_mnist(tmp_path / "mnist1200", n_train=1200)[0]))
    clear_caches()
    at = run_page("preprocess", query={"tab": "compare", **query})
    assert not at.error
    assert {"pp_kinds": at.pills(key="pp_kinds").value, "pp_epochs": at.slider(key="pp_epochs").value,
            "pp_seed": at.number_input(key="pp_seed").value, "pp_n": at.select_slider(key="pp_n").value,
            "pp_seeds": at.number_input(key="pp_seeds").value} == shown  # 3 seeds of 1,200 images fit the time limit
    # a default is not written back into the link, and a bad seeds value is no choice of the visitor's: the box keeps
    # following the time budget
    assert {k: at.query_params[k] for k in ("kinds", "ep", "seed", "n", "seeds") if k in at.query_params} == kept


@pytest.mark.parametrize(("shared", "on"), [("maybe", False), ("2", False), ("", False), ("on", True)])
def test_a_bad_shared_value_leaves_the_shared_rate_runs_hidden(app_env, tiny_models, shared, on):
    from tests.test_app_preprocess_seeds import CLEAR, family  # imported here: that module imports this one
    folder = Path(os.environ["MNIST_EXPLORER_MODELS"])
    for kind, m in tiny_models.items():  # copies with a seeds family on their cards: the toggle shows only then
        card = {**m.card, "family": family(kind, CLEAR[kind])}
        save_model(MLP(m.params, activation=m.activation, preprocess=m.preprocess, card=card), folder / f"pre-{kind}.npz")
    clear_caches()
    at = run_page("preprocess", query={"tab": "accuracy", "shared": shared})
    assert at.toggle(key="pp_shared").value is on  # "on" is a yes: the control that the toggle reads the link at all
    assert any(m.value.startswith("**All at the shared rate:**") for m in at.markdown) is on
    assert at.query_params.get("shared") == ("1" if on else None)  # off is the default: not in the link


@pytest.mark.mnist
def test_mismatch_demo_on_real_mnist_shows_raw_next_to_own(mnist_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MNIST_EXPLORER_MODELS", raising=False)  # the shipped models/
    monkeypatch.delenv("BOOK_WEIGHTS", raising=False)
    clear_caches()
    try:
        at = open_tab("mismatch")
        from engine.data import load_raw
        raw = load_raw(mnist_dir)
        x = raw["test_img"].reshape(10000, -1).astype(np.float64)
        m = load_model(apptest_helpers.ROOT / "models" / "pre-unit.npz")
        own = json.loads((apptest_helpers.ROOT / "models" / "pre-unit.json").read_text())["test_accuracy"]
        raw_acc = np.mean(forward(x, m.params) == raw["test_label"])
        rows = table(at)
        assert rows["Fed as"].tolist()[:2] == ["raw", "unit (own)"]
        assert rows["accuracy"].tolist()[:2] == [f"{raw_acc:.2%}", f"{own:.2%}"]  # own: as measured when the model was made
        sat = [float(s.rstrip("%")) / 100 for s in rows["saturated units (|a| > 5)"]]
        # raw input drives nearly every layer-1 unit into a flat end of the sigmoid; its own input fewer (80 % since
        # pre-unit trains at its tuned rate 0.016, whose larger weights saturate more than the shared 0.002's 36 %)
        assert sat[0] > 0.95 and sat[1] < sat[0]
        assert raw_acc < own
    finally:
        clear_caches()
