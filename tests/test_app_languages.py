"""Every page and tab in 简体中文 and 日本語 on synthetic MNIST: no English left outside names and code, the language
picker, the language kept across pages, and engine errors shown with a translated headline."""
import json

import pytest

from tests import apptest_helpers
from tests.apptest_helpers import MODEL_SIZES, assert_no_exception, run_page
from tests.conftest import ROOT
from tests.visible import texts, words_left

app_env, no_data_env = apptest_helpers.app_env, apptest_helpers.no_data_env  # fixtures

VIEWS = [("home", {}), ("glossary", {}), ("single", {}), ("single", {"compare": "small"}), ("train", {})] \
    + [("dataset", {"tab": tab}) for tab in ("classes", "mean", "hist", "pca", "flags")] \
    + [("evaluate", {"tab": tab}) for tab in ("matrix", "calibration", "compare", "runtime")] \
    + [("preprocess", {"tab": tab}) for tab in ("data", "accuracy", "mismatch", "compare")]
# names, not prose: the model ids and the titles of tests/apptest_helpers' models, and the language menu's own names
MODEL_NAMES = tuple(MODEL_SIZES) + tuple(f"Test net {name}" for name in MODEL_SIZES)
ALLOWED = ("English",) + tuple(MODEL_SIZES)
CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("zh", "ja")}


def english_left(at, lang=None):
    """{word: the text it was found in} for English words a reader of the page's language would meet."""
    left = {}
    for text in texts(at):
        for w in words_left(text, allowed=ALLOWED, phrases=MODEL_NAMES, lang=lang):
            left.setdefault(w, text[:160])
    return left


@pytest.mark.parametrize("lang", ["zh", "ja"])
@pytest.mark.parametrize(("page", "query"), VIEWS, ids=[f"{p}-{'-'.join(q.values()) or 'main'}" for p, q in VIEWS])
def test_each_view_in_chinese_and_japanese(app_env, lang, page, query):
    """No English left; the page opens with its title and intro; every chart has its reading hint and its own PNG name."""
    at = run_page(page, query={"lang": lang, **query})
    assert at.title[0].value == CATALOG[lang][f"{'prep' if page == 'preprocess' else page}.title"]
    assert english_left(at, lang) == {}
    intro = at.main.markdown[0].value
    assert intro == CATALOG[lang][f"{'prep' if page == 'preprocess' else page}.intro"]
    configs = [json.loads(c.proto.config) for c in at.get("plotly_chart")]
    files = [c["toImageButtonOptions"]["filename"] for c in configs]
    assert all(files) and len(set(files)) == len(files) and all(c["displaylogo"] is False for c in configs)
    assert sum(c.value.startswith("📖 ") for c in at.main.caption) >= len(configs)  # "how to read this" under each chart


def test_the_english_check_sees_english(app_env):
    """The same check on the English page finds plenty: it is not blind."""
    left = english_left(run_page("single"))
    assert {"Pick", "digit", "Answer", "Probabilities"} <= set(left)


def test_the_picker_switches_the_language_and_keeps_it_in_the_url(app_env):
    # the glossary page: AppTest formats other pages' option labels outside the app's run, always in English
    at = run_page("glossary", query={"model": "small"})
    at.selectbox(key="lang_picker").select("ja").run()
    assert_no_exception(at)
    assert at.title[0].value == CATALOG["ja"]["glossary.title"]
    assert at.query_params["lang"] == "ja" and at.query_params["model"] == "small"
    assert at.selectbox(key="lang_picker").label == CATALOG["ja"]["shell.language"]
    assert [str(o) for o in at.selectbox(key="lang_picker").options] == ["English", "简体中文", "日本語"]
    at.selectbox(key="lang_picker").select("en").run()
    assert at.title[0].value == "📖 Glossary" and "lang" not in at.query_params


def test_the_language_survives_a_page_change_that_drops_the_query(app_env):
    """The sidebar's page menu opens a page without the query string: the session's language comes back into the URL."""
    at = run_page("home", query={"lang": "zh"})
    at.query_params.clear()
    at.switch_page("pages/evaluate.py").run()
    assert_no_exception(at)
    assert at.title[0].value == CATALOG["zh"]["evaluate.title"] and at.query_params["lang"] == "zh"
    links = {link.proto.page: link.proto.query_string for link in run_page("home", query={"lang": "zh"}).main.get("page_link")}
    assert "lang=zh" in links["dataset"] and "lang=zh" in links["glossary"]


def test_a_bad_language_code_reads_as_english(app_env):
    at = run_page("home", query={"lang": "xx"})
    assert at.title[0].value == "🔢 MNIST Explorer" and "lang" not in at.query_params


def test_an_engine_error_gets_a_translated_headline_and_keeps_its_detail(app_env):
    at = run_page("single", query={"lang": "ja", "input": "upload"})
    at.file_uploader(key="single_upload").set_value(("bad.png", b"this is not a picture", "image/png")).run()
    assert_no_exception(at)
    [error] = [e.value for e in at.error]
    head, detail = error.split("\n\n", 1)
    assert head == CATALOG["ja"]["error.image"]
    assert detail.startswith("```text\nbad.png is not a picture") and detail.endswith("```")
    assert english_left(at, "ja") == {}  # the engine's English sentence is a code block


def test_a_broken_model_upload_in_chinese(app_env):
    at = run_page("home", query={"lang": "zh"})
    at.file_uploader(key="model_upload_file").set_value(("notes.npz", b"PK\x03\x04 not a zip", "application/octet-stream")).run()
    [error] = [e.value for e in at.error]
    assert error.startswith(CATALOG["zh"]["error.model"] + "\n\n```text\n") and "is not a valid .npz model file" in error
    assert at.selectbox(key="model_pick").value == "default"


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_first_run_panel_without_mnist(no_data_env, lang):
    at = run_page("dataset", query={"lang": lang})
    assert at.subheader[0].value == CATALOG[lang]["firstrun.title"]
    assert english_left(at, lang) == {}
    at.button(key="firstrun_download").click().run()  # the mirror does not exist: one translated error, the detail as code
    [error] = [e.value for e in at.error]
    assert error.startswith(CATALOG[lang]["error.download"] + "\n\n```text\n")
    assert english_left(at, lang) == {}
