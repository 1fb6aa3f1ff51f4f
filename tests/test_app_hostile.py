"""Hostile links and model cards on a shared server (issue 13): repeated or endless lists in a URL, card text that
tries to be Markdown or HTML, control characters in a card. Each gets a bounded, inert result, never an exception."""
import json
import re
import time

from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, page_text, random_model, run_page

app_env = apptest_helpers.app_env  # fixture
EVIL = "x`\n\n![tracker](http://203.0.113.9/t.png)\n\n# Owned <img src=x onerror=alert(1)>\u2028- item\x00end"


def with_session_model(at, model, name="evil"):
    """Put model in the session's store and pick it, as a training or upload would."""
    at.session_state["models_session"] = {name: model}
    at.run()
    at.selectbox(key="model_pick").select(f"session:{name}").run()
    assert_no_exception(at)
    return at


def test_a_repeated_model_in_the_compare_link_is_compared_once(app_env):
    at = run_page("evaluate", query={"model": "default", "tab": "compare", "cmp": "default,default,default"})
    assert at.multiselect(key="ev_cmp").value == ["default"]
    assert "Pick at least two" in page_text(at) or at.info  # one model: nothing to compare, no ValueError


def test_a_link_repeating_models_600_times_costs_what_two_cost(app_env):
    start = time.monotonic()
    at = run_page("evaluate", query={"model": "default", "tab": "compare", "cmp": ",".join(["default", "small"] * 600)})
    assert at.multiselect(key="ev_cmp").value == ["default", "small"]
    assert time.monotonic() - start < 30  # today's quadratic agreement table took a minute and GBs at this length
    assert at.query_params["cmp"] == "default,small"  # the link the page writes back is the clean one


def test_url_lists_keep_known_items_once_and_at_most_the_cap():
    from ui.evaluate.compare import MAX_MODELS
    from ui.urlstate import distinct
    ids = ["default", "small", "book", "a", "b", "c", "d"]
    assert distinct("default,nope,default,small,../x".split(","), ids, most=MAX_MODELS) == ["default", "small"]
    assert distinct(ids * 50, ids, most=MAX_MODELS) == ids[:MAX_MODELS]
    assert distinct([], ids, most=3) == []


def test_repeated_preprocessing_kinds_in_a_link_read_once(app_env):
    at = run_page("preprocess", query={"tab": "compare", "kinds": "unit-unit-raw-unit-banana"})
    assert at.pills(key="pp_kinds").value == ["unit", "raw"]


def test_card_text_stays_text_in_the_card_and_the_picker(app_env):
    model = random_model([784, 16, 10], title="Evil\n\n# Heading [link](http://203.0.113.9)")
    model.card["provenance"] = EVIL
    at = with_session_model(run_page("home"), model)
    card = next(m.value for m in at.markdown if "- **" in m.value)  # the card's summary list
    items = card.split("\n")
    assert all(line.startswith("- **") for line in items), items  # one list item a row: nothing broke out
    prov = next(line for line in items if "Provenance" in line)
    assert re.fullmatch(r"- \*\*Provenance:\*\* `[^`\n]*`", prov), prov  # the whole text inside one code span
    assert "\x00" not in card and "\u2028" not in card
    label = at.selectbox(key="model_pick").format_func("session:evil")
    assert label.startswith("evil (trained here): ") and "Evil" not in label  # built by the app: the card's title is not used


def test_the_report_of_a_model_with_control_characters_downloads(app_env):
    model = random_model([784, 16, 10], title="Nul\x00title")
    model.card["provenance"] = EVIL
    at = with_session_model(run_page("evaluate"), model)
    html = at.session_state["ev_report_html"]()
    assert "\x00" not in html and "<img src=x" not in html and "&lt;img src=x onerror" in html


def test_a_session_holds_a_stated_number_of_megabytes_of_models_not_a_count():
    from streamlit.testing.v1 import AppTest

    def script():
        import json

        import streamlit as st

        from tests.apptest_helpers import random_model
        from ui import models

        big = [random_model([784, 2400, 10], seed=i) for i in range(2)]  # 1.9 M parameters each, ~15 MB resident
        out = [models._add("upload", f"big{i}", m) for i, m in enumerate(big)]
        st.text(json.dumps({"evicted": out, "mb": models.session_mb(), "each": big[0].nbytes / 2**20,
                            "kept": sorted(models._session_dict("upload"))}))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    got = json.loads(at.text[0].value)
    assert 12 < got["each"] < 24  # one such net fits the budget, two do not
    assert got["evicted"] == [None, "upload:big0"] and got["kept"] == ["big1"]
    assert got["mb"] <= 24


def test_a_broken_upload_is_named_by_the_visitors_file_name_not_the_servers_temp_file():
    import pytest

    from engine.errors import ModelFormatError
    from ui.models import load_upload
    with pytest.raises(ModelFormatError) as e:
        load_upload("my-net.npz", b"PK\x03\x04 not really a zip")
    assert "my-net.npz" in str(e.value) and ".upload." not in str(e.value)
