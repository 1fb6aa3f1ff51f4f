"""AppTest of the shell and the home page: the network at work on a test digit, network words, diagram and parameter
counts, the model picker, uploads."""
import json
import pickle
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.modelfile import model_bytes
from tests import apptest_helpers
from tests.apptest_helpers import (
    MODEL_SIZES,
    assert_no_exception,
    page_text,
    random_model,
    run_page,
)
from tests.conftest import ROOT
from tests.visible import words_left
from ui.home import live

app_env, no_data_env = apptest_helpers.app_env, apptest_helpers.no_data_env  # fixtures this module uses


def expected_params(sizes):
    """m x n weights plus n biases per layer, counted by hand from the layer sizes."""
    return [m * n + n for m, n in zip(sizes[:-1], sizes[1:], strict=True)]


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def params_table(at):
    """The parameter table's rows (layer, weights, biases, parameters), read from its Markdown."""
    md = next(m.value for m in at.markdown if m.value.startswith("| Layer"))
    return [[c.strip() for c in line.strip("|").split("|")] for line in md.splitlines()[2:]]


def diagram(at):
    """The static drawing of the layers' SVG text (not the live network view above it)."""
    return next(m.value for m in at.markdown if m.value.startswith("<svg") and "network-view" not in m.value)


def live_view(at):
    """The live network view and the answer card, or (None, None) when home does not show them."""
    view = next((m.value for m in at.markdown if m.value.startswith('<svg class="network-view"')), None)
    card = next((m.value for m in at.markdown if 'data-answer="card"' in m.value), None)
    return view, card


def answer_of(card):
    """(digit, probability text) the card shows."""
    return tuple(re.search(rf'data-answer="{part}"[^>]*>([^<]*)<', card).group(1) for part in ("digit", "probability"))


def forward_proba(pixels, sizes=MODEL_SIZES["default"], seed=0):
    """Softmax probabilities of tests/apptest_helpers' model, long hand: pixels / 255 through sigmoid layers."""
    P = random_model(sizes, seed=seed).params
    h = np.asarray(pixels, np.float64).reshape(-1) / 255
    for i in range(1, len(sizes)):
        a = h @ P[f"W{i}"].astype(np.float64) + P[f"b{i}"]
        h = 1 / (1 + np.exp(-a)) if i < len(sizes) - 1 else np.exp(a - a.max()) / np.exp(a - a.max()).sum()
    return h


def test_home_draws_and_counts_the_default_model(app_env):
    at = run_page("home")
    rows = params_table(at)
    assert [r[3] for r in rows] == [f"{n:,}" for n in expected_params(MODEL_SIZES["default"])]
    assert [r[1] for r in rows] == ["784 × 50", "50 × 100", "100 × 10"]
    assert metric(at, "Parameters in total") == "45,360"
    assert "Layers of the active model: 784 → 50 → 100 → 10" in page_text(at)
    svg = diagram(at)
    assert re.findall(r'font-weight="bold" fill="#212529">(\d+)<', svg) == ["784", "50", "100", "10"]
    assert re.findall(r">(W\d, b\d)<", svg) == ["W1, b1", "W2, b2", "W3, b3"]
    assert svg.count("<circle") == 10 + 10 + 10 + 10 and "<title>pixels in #784 / 784</title>" in svg
    text = page_text(at)
    assert "784 numbers" in text and "Softmax" in text
    assert "Test net default" in text  # the active model's card


def test_home_summarises_the_data(app_env):
    at = run_page("home")
    assert metric(at, "Training images") == f"{len(app_env['train'][1]):,}"
    assert metric(at, "Test images") == f"{len(app_env['test'][1]):,}"
    counts = np.bincount(app_env["train"][1], minlength=10)
    assert f"digit {counts.argmin()} is rarest ({counts.min():,} images)" in page_text(at)


def test_home_links_to_every_other_page(app_env):
    at = run_page("home")
    links = {link.value: link.proto.page for link in at.main.get("page_link")}
    assert [links.pop("Draw your own"), links.pop("Every step for this digit")] == ["single", "single"]  # the live view's
    assert links == {"Dataset browser": "dataset", "Single image": "single", "Evaluation": "evaluate",
                     "Preprocessing": "preprocess", "Train a network": "train", "Glossary": "glossary"}
    menu = [link.value for link in at.sidebar.get("page_link")]  # the sidebar's menu: every page, home first
    assert menu == ["Home", *links]


def test_picking_a_model_changes_counts_diagram_and_url(app_env):
    at = run_page("home")
    at.selectbox(key="model_pick").select("small").run()
    assert_no_exception(at)
    assert metric(at, "Parameters in total") == f"{sum(expected_params(MODEL_SIZES['small'])):,}"
    assert "784 → 16 → 10" in page_text(at) and diagram(at).count("<circle") == 10 + 10 + 10
    assert at.query_params.get("model") == "small"
    # the choice holds on another page, and a link from there carries it
    at.switch_page("pages/dataset.py").run()
    assert at.selectbox(key="model_pick").value == "small"


@pytest.mark.parametrize("query, picked", [({"model": "small"}, "small"), ({"model": "no-such-model"}, "default"),
                                           ({"model": ""}, "default"), ({"model": "session:x"}, "default")])
def test_model_comes_from_the_url_and_bad_values_fall_back(app_env, query, picked):
    at = run_page("home", query=query)
    assert at.selectbox(key="model_pick").value == picked
    assert at.query_params.get("model") == (None if picked == "default" else picked)


def test_without_models_the_home_page_still_explains_the_book_net(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_EXPLORER_MODELS", str(tmp_path / "empty"))
    at = run_page("home")
    assert "784 → 50 → 100 → 10" in page_text(at) and diagram(at).startswith("<svg")
    assert "No model is available yet" in page_text(at)


def test_without_data_home_shows_the_first_run_panel(no_data_env):
    at = run_page("home")
    text = page_text(at)
    assert "MNIST is not here yet" in text and "MNIST_DIR" in text
    assert any(b.label == "Download MNIST" for b in at.button)
    assert not at.error  # missing data on a first run is not an error
    assert diagram(at).startswith("<svg") and "784 → 50 → 100 → 10" in text  # the network is explained anyway


def test_uploading_a_model_selects_it(app_env):
    at = run_page("home")
    data = model_bytes(random_model([784, 20, 10], seed=9, title="My upload"))
    assert data[:2] == b"PK"  # an .npz (zip), so the npz branch of the loader is the one exercised
    at.file_uploader(key="model_upload_file").set_value(("my net!.npz", data, "application/octet-stream")).run()
    assert_no_exception(at)
    assert at.selectbox(key="model_pick").value == "upload:my-net"
    assert metric(at, "Parameters in total") == f"{784 * 20 + 20 + 20 * 10 + 10:,}"
    assert any("Loaded as upload:my-net" in s.value for s in at.success)


class Boom:
    def __reduce__(self):
        return (open, ("/tmp/should-not-exist-shell-test", "w"))


@pytest.mark.parametrize("name, data, words", [
    ("broken.npz", b"PK\x03\x04 not really a zip", "not a valid .npz"),
    ("evil.pkl", pickle.dumps(Boom()), "refused"),
    ("weights.pkl", pickle.dumps({"W1": np.zeros((784, 5), np.float32)}), "wrong key set"),
])
def test_a_bad_model_upload_is_one_clear_error(app_env, name, data, words):
    at = run_page("home")
    at.file_uploader(key="model_upload_file").set_value((name, data, "application/octet-stream")).run()
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and words in errors[0], errors
    assert at.selectbox(key="model_pick").value == "default"


def test_load_upload_refuses_other_file_types():
    from engine.errors import ModelFormatError
    from ui.models import load_upload
    with pytest.raises(ModelFormatError, match="notes.txt is not a model file"):
        load_upload("notes.txt", b"hello")


def test_session_models_are_bounded_and_the_oldest_goes_first():
    def script():
        import json

        import streamlit as st

        from tests.apptest_helpers import random_model
        from ui import models

        evicted = [models.add_session_model(f"run {i}", random_model([784, 8, 10], seed=i))[1] for i in range(7)]
        catalog, _ = models.catalog()
        st.text(json.dumps([k for k in catalog if k.startswith("session:")]))
        st.text(json.dumps(evicted))

    at = AppTest.from_function(script, default_timeout=30).run()
    assert_no_exception(at)
    kept, evicted = (json.loads(el.value) for el in at.text)
    assert kept == [f"session:run-{i}" for i in range(2, 7)]
    assert evicted == [None] * 5 + ["session:run-0", "session:run-1"]


def test_parameter_counts_of_any_depth():
    from ui.models import parameter_counts
    rows = parameter_counts(random_model([784, 30, 20, 15, 10]))
    assert [r[3] for r in rows] == expected_params([784, 30, 20, 15, 10])
    assert rows[0][:3] == ("W1, b1", (784, 30), (30,))


def test_uploaded_model_title_never_uses_a_path():
    from ui.models import clean_name
    assert clean_name("../../etc/passwd.npz") == "passwd"
    assert clean_name("my net (1).npz") == "my-net-1"
    assert clean_name("....npz") == "model"


def test_every_screen_is_a_file_in_pages_and_views_is_gone():
    # the design's layout: dashboard.py is home, every other screen is pages/NAME.py at /NAME (ui/nav.py's table)
    from ui.nav import PAGES
    assert not (ROOT / "views").exists()
    scripts = {script for script, _icon in PAGES.values()}
    assert scripts == {"dashboard.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    for url_path, (script, _icon) in PAGES.items():
        assert script == ("dashboard.py" if url_path == "home" else f"pages/{url_path}.py"), (url_path, script)


def test_every_page_opens_and_closes_the_shared_frame():
    # shell.page() draws the sidebar, shell.end() the link box: a page without them loses the menu or the link
    from ui.nav import PAGES
    for script, _icon in PAGES.values():
        body = (ROOT / script).read_text()
        assert body.count("shell.page(") == 1 and body.rstrip().endswith("shell.end()"), script


def test_home_opens_on_the_network_reading_a_test_digit(app_env):
    x, t = app_env["test"]
    at = run_page("home")
    view, card = live_view(at)
    p = forward_proba(x[live.SAMPLE])
    assert answer_of(card) == (str(int(np.argmax(p))), f"{p.max():.1%}")
    assert 'data-answer="verdict"' in card and f"Test image #{live.SAMPLE}, labelled **{t[live.SAMPLE]}**." in page_text(at)
    assert [re.search(r"digit (\d): a = [-\d.]+, probability ([\d.]+)%", m).groups() for m in
            re.findall(r"<title>(digit \d[^<]*)</title>", view)] == [(str(d), f"{p[d] * 100:.1f}") for d in range(10)]
    order = [m.value for m in at.main.markdown]
    assert order.index(view) < order.index(diagram(at))  # the live network first, the explanation of the layers below it
    links = {link.value: (link.proto.page, link.proto.query_string) for link in at.main.get("page_link")}
    assert links["Draw your own"] == ("single", "input=draw")
    assert links["Every step for this digit"] == ("single", f"split=test&index={live.SAMPLE}&model=default")
    assert apptest_helpers.plotly_figures(at) == []  # home still needs no plotly bundle


def test_random_digit_reads_another_test_image(app_env, monkeypatch):
    x, _ = app_env["test"]
    monkeypatch.setattr(live, "random_index", lambda n: 42 if n == len(x) else -1)
    at = run_page("home")
    at.button(key="home_random").click().run()
    assert_no_exception(at)
    p = forward_proba(x[42])
    assert answer_of(live_view(at)[1]) == (str(int(np.argmax(p))), f"{p.max():.1%}")
    assert "Test image #42" in page_text(at)
    links = {link.value: link.proto.query_string for link in at.main.get("page_link")}
    assert "index=42" in links["Every step for this digit"]


def test_the_live_view_follows_the_model_and_speaks_the_language(app_env):
    at = run_page("home", query={"model": "small", "lang": "zh"})
    view, card = live_view(at)
    p = forward_proba(app_env["test"][0][live.SAMPLE], MODEL_SIZES["small"], seed=1)
    assert answer_of(card)[1] == f"{p.max():.1%}" and view.count('class="unit" data-layer="2"') == 10  # 784-16-10: the outputs are layer 2
    assert words_left(view) == [] and words_left(card) == []
    assert "网络的答案" in card and "输出层" in view


def test_without_data_or_model_home_has_no_live_view(no_data_env, app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_EXPLORER_MODELS", str(tmp_path / "empty"))
    assert live_view(run_page("home")) == (None, None)
