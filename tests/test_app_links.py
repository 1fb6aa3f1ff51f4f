"""The sidebar's "Link to this view": copying it after changing widgets and opening it in a fresh session reproduces
the view on every page; a model that lives only in one session is named as such on both ends."""
from urllib.parse import parse_qsl, urlsplit

import pytest

from engine.modelfile import model_bytes
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, image_captions, plotly_figures, random_model, run_page

app_env = apptest_helpers.app_env  # fixture
WIDGETS = ("selectbox", "radio", "toggle", "number_input", "slider", "select_slider", "checkbox", "multiselect")


def copied_link(at):
    """The text of the sidebar's link box, exactly what its copy button copies."""
    return [c.value for c in at.sidebar.code][-1]


def reopen(link):
    """A fresh session (new AppTest, nothing remembered) opening link."""
    parts = urlsplit(link)
    return run_page(parts.path.strip("/") or "home", query=dict(parse_qsl(parts.query)))


def view(at, *, state=()):
    """What a reader would compare: headings, numbers, chart titles, image captions and every keyed widget's value."""
    widgets = {w.key: w.value for kind in WIDGETS for w in getattr(at, kind) if w.key}
    return {"title": [e.value for e in at.title], "subheaders": [e.value for e in at.subheader],
            "metrics": [(m.label, m.value) for m in at.metric], "images": image_captions(at), "widgets": widgets,
            "figures": [f["layout"].get("title", {}).get("text") for f in plotly_figures(at)],
            "drawings": [m.value for m in at.markdown if m.value.startswith("<svg")],
            "state": {k: at.session_state[k] for k in state}}


def same_view_from_link(at, *, state=()):
    link = copied_link(at)
    fresh = reopen(link)
    assert view(fresh, state=state) == view(at, state=state)
    assert copied_link(fresh) == link  # and the reopened page offers the same link
    return link, fresh


def test_home_with_another_model(app_env):
    at = run_page("home")
    at.selectbox(key="model_pick").select("small").run()
    link, fresh = same_view_from_link(at)
    assert link == "/?model=small"
    assert any(m.value == "**Layers of the active model: 784 → 16 → 10**" for m in fresh.markdown)
    diagram = next(d for d in view(fresh)["drawings"] if "network-view" not in d)  # the layer diagram, not the live view
    assert diagram.count("<circle") == 30


def test_dataset_split_digit_page_and_tab(app_env):
    at = run_page("dataset")
    at.radio(key="ds_split").set_value("test").run()
    at.selectbox(key="ds_digit").select(3).run()
    at.session_state["ds_tab"] = "📈 Pixel histogram"
    at.run()
    link, fresh = same_view_from_link(at, state=("ds_tab", "ds_index"))
    assert dict(parse_qsl(urlsplit(link).query)) == {"split": "test", "digit": "3", "tab": "hist"}
    assert any("How often each pixel value occurs (test set, digit 3)" in f for f in view(fresh)["figures"])


def test_single_image_and_comparison(app_env):
    at = run_page("single")
    at.number_input(key="single_index").set_value(7).run()
    at.toggle(key="single_compare").set_value(True).run()
    link, fresh = same_view_from_link(at)
    assert dict(parse_qsl(urlsplit(link).query)) == {"index": "7", "compare": "small"}
    assert "Probabilities of model small" in view(fresh)["figures"]


def test_evaluate_cell_and_rates(app_env):
    at = run_page("evaluate")
    at.selectbox(key="ev_true").select(3).run()
    at.selectbox(key="ev_pred").select(5).run()
    at.toggle(key="ev_norm").set_value(True).run()
    link, _ = same_view_from_link(at)
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["cell"] == "3-5" and query["norm"] == "rates"


def test_evaluate_calibration_threshold(app_env):
    at = run_page("evaluate", query={"tab": "calibration"})
    at.slider(key="ev_t").set_value(70).run()
    link, _ = same_view_from_link(at, state=("ev_tab",))
    assert dict(parse_qsl(urlsplit(link).query)) == {"tab": "calibration", "t": "70"}


def test_preprocess_mismatch_model(app_env):
    at = run_page("preprocess", query={"tab": "mismatch"})
    at.selectbox(key="pp_model").select("small").run()
    link, _ = same_view_from_link(at, state=("pp_tab",))
    assert dict(parse_qsl(urlsplit(link).query)) == {"tab": "mismatch", "mm": "small"}


def test_train_settings(app_env):
    at = run_page("train")
    at.number_input(key="tr_w1").set_value(30).run()
    at.radio(key="tr_act").set_value("relu").run()
    at.toggle(key="tr_aug").set_value(not at.toggle(key="tr_aug").value).run()
    link, fresh = same_view_from_link(at)
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["w1"] == "30" and query["act"] == "relu" and "aug" in query
    assert fresh.number_input(key="tr_w1").value == 30 and fresh.radio(key="tr_act").value == "relu"


def test_glossary_in_japanese(app_env):
    at = run_page("glossary", query={"lang": "ja"})
    link, fresh = same_view_from_link(at)
    assert link == "/glossary?lang=ja" and fresh.title[0].value == "📖 用語集"


def test_a_session_only_model_is_named_on_both_ends(app_env):
    at = run_page("home")
    data = model_bytes(random_model([784, 12, 10], seed=3, title="Mine"))
    at.file_uploader(key="model_upload_file").set_value(("mine.npz", data, "application/octet-stream")).run()
    assert at.selectbox(key="model_pick").value == "upload:mine"
    link = copied_link(at)
    assert link == "/?model=upload%3Amine"
    assert any("upload:mine exists only in this browser session" in w.value and "gets default instead" in w.value
               and "Share this model" in w.value for w in at.sidebar.warning)  # and how to make the link carry it
    fresh = reopen(link)  # the receiver: no such model here, and the page says so instead of silently showing another
    assert_no_exception(fresh)
    assert fresh.selectbox(key="model_pick").value == "default"
    [note] = [w.value for w in fresh.sidebar.warning]
    assert "upload:mine" in note and "live only in that browser session" in note and "Showing default instead" in note
    fresh.run()  # the notice stays until the reader picks a model
    assert len(fresh.sidebar.warning) == 1
    fresh.selectbox(key="model_pick").select("small").run()
    assert len(fresh.sidebar.warning) == 0


@pytest.mark.parametrize("bad", ["nope", "session:gone"])
def test_a_link_to_a_missing_model_file_says_so(app_env, bad):
    at = run_page("home", query={"model": bad})
    [note] = [w.value for w in at.sidebar.warning]
    assert bad in note and ("no model file of that name" in note) == (bad == "nope")
