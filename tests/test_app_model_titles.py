"""Model titles in the reader's language (issue 15): the picker, the model card and the evaluation page's card show a
title built from the model and its card's fields through the catalog, never the card's own English sentence; an
uploaded card's title and odd fields stay inert text, and the title falls back to what the network itself shows."""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from engine.model import MLP
from engine.modelfile import model_bytes, save_model
from engine.preprocess import Preprocess
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, random_model, run_page
from tests.conftest import ROOT
from tests.test_app_languages import english_left

app_env = apptest_helpers.app_env  # fixture
CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
EVIL = "Evil`\n\n# Owned <img src=x onerror=alert(1)> [link](http://203.0.113.9) **bold**"


def recipe_model():
    """models/net7.npz: a ReLU net with raw input and a full training record, titled in English as the shipped ones are."""
    rng = np.random.default_rng(7)
    params = {"W1": rng.normal(0, 0.1, (784, 20)).astype(np.float32), "b1": np.zeros(20, np.float32),
              "W2": rng.normal(0, 0.1, (20, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    card = {"title": "Preprocessing 'raw': pixels 0-255 unchanged, trained with care",
            "training": {"optimizer": "momentum", "schedule": "step", "epochs": 9, "augment": True},
            "history": [{"epoch": e} for e in range(1, 5)],  # stopped after 4 of its 9 epochs
            "test_accuracy": 0.87654}
    save_model(MLP(params, activation="relu", preprocess=Preprocess("raw"), card=card),
               Path(os.environ["MNIST_EXPLORER_MODELS"]) / "net7.npz")


def words(lang, key, **values):
    return CATALOG[lang][key].format(**values)


def expected_label(lang):
    what = [words(lang, "mtitle.net", act=words(lang, "mtitle.act_relu"), sizes="784-20-10"), words(lang, "mtitle.pre_raw"),
            words(lang, "mtitle.acc", v="87.65%")]
    return words(lang, "mtitle.label", name="net7", what=CATALOG[lang]["card.list_sep"].join(what))


def expected_title(lang):
    what = [words(lang, "mtitle.net_long", act=words(lang, "mtitle.act_relu"), sizes="784 → 20 → 10"),
            words(lang, "mtitle.input", pre=words(lang, "mtitle.pre_raw")), words(lang, "mtitle.opt_momentum"),
            words(lang, "mtitle.sched_step"), words(lang, "mtitle.epochs", n=4), words(lang, "mtitle.augment"),
            words(lang, "mtitle.acc_long", v="87.65%")]
    return words(lang, "mtitle.label", name="net7", what=CATALOG[lang]["card.list_sep"].join(what))


def unescaped(markdown):
    """Markdown text as read: panels.plain's backslash escapes undone."""
    return re.sub(r"\\(.)", r"\1", markdown)


def outside_code(markdown):
    return re.sub(r"`[^`\n]*`", " ", markdown)


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_picker_and_the_card_name_a_model_in_the_readers_language(app_env, lang):
    recipe_model()
    at = run_page("home", query={"lang": lang, "model": "net7"})
    picker = at.selectbox(key="model_pick")
    assert expected_label(lang) in picker.options  # the menu's labels, as the page drew them in this language
    assert unescaped(picker.help).endswith(expected_title(lang))  # the whole sentence in the picker's help
    headline = [unescaped(m.value) for m in at.markdown if m.value.startswith("**")]
    assert f"**{expected_title(lang)}**" in headline  # the card's headline
    page = "\n".join(m.value for m in at.markdown)
    assert "trained with care" not in page and "trained with care" not in picker.help  # the card's English title is not used
    assert english_left(at, lang) == {}
    # the same label on the other pages that name models
    at = run_page("evaluate", query={"lang": lang, "model": "net7"})
    assert any(unescaped(e.label) == words(lang, "evaluate.card_head", title=expected_label(lang)) for e in at.expander)
    at = run_page("single", query={"lang": lang, "compare": "net7"})
    assert expected_label(lang) in at.selectbox(key="single_compare_model").options


def test_the_english_title_is_built_the_same_way(app_env):
    recipe_model()
    at = run_page("home", query={"model": "net7"})
    assert expected_title("en") == ("net7: ReLU network 784 → 20 → 10, input raw pixels 0–255, Momentum, step learning-rate "
                                    "schedule, epochs: 4, trained on shifted and turned copies, test accuracy 87.65%")
    assert expected_label("en") in at.selectbox(key="model_pick").options


def upload_hostile(at, name="x1.npz"):
    """Upload a model whose card has a title that tries to be Markdown and HTML, and fields of the wrong kind or range."""
    model = random_model([784, 16, 10], seed=4, title=EVIL)
    model.card.update(training={"optimizer": "<img src=x onerror=alert(2)>", "schedule": "**cosine**", "epochs": True,
                                "distort": "yes"}, history="many", test_accuracy=7.5)
    at.file_uploader(key="model_upload_file").set_value((name, model_bytes(model), "application/octet-stream")).run()
    assert_no_exception(at)
    assert at.selectbox(key="model_pick").value == "upload:x1"
    return at


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_hostile_uploaded_title_stays_text_and_odd_fields_are_left_out(app_env, lang):
    at = upload_hostile(run_page("home", query={"lang": lang}))
    name = words(lang, "mtitle.name_upload", name="x1")
    net = words(lang, "mtitle.net", act=words(lang, "mtitle.act_sigmoid"), sizes="784-16-10")
    label = words(lang, "mtitle.label", name=name, what=net)  # no accuracy (7.5 is not one), unit input is not mentioned
    assert label in at.selectbox(key="model_pick").options
    title = words(lang, "mtitle.label", name=name, what=CATALOG[lang]["card.list_sep"].join(
        [words(lang, "mtitle.net_long", act=words(lang, "mtitle.act_sigmoid"), sizes="784 → 16 → 10"),
         words(lang, "mtitle.input", pre=words(lang, "mtitle.pre_unit"))]))  # no optimizer, schedule, epochs or augmentation
    assert f"**{title}**" in [unescaped(m.value) for m in at.markdown]
    card = next(m.value for m in at.markdown if "- **" in m.value).split("\n")
    row = next(line for line in card if line.startswith(f"- **{words(lang, 'card.file_title')}:**"))
    assert re.fullmatch(r"- \*\*[^*]+:\*\* `[^`\n]*`", row), row  # the file's own title, whole, in one code span
    assert "Evil'" in row and "onerror=alert(1)" in row  # shown as typed (its backtick made a quote), not dropped
    for m in [*at.markdown, *at.sidebar.markdown]:
        text = outside_code(m.value)
        assert "<img" not in text and "](http" not in text and "\n# " not in text and "Owned" not in text, m.value
    assert all(line.startswith("- **") for line in card)  # one list item a row: nothing broke out of its line
    assert "onerror" not in at.selectbox(key="model_pick").help
    if lang == "zh":
        assert english_left(at, lang) == {}  # the upload's English title and fields are not prose on a Chinese page


def test_a_hostile_uploaded_title_is_text_in_the_report(app_env):
    at = upload_hostile(run_page("evaluate"))
    html = at.session_state["ev_report_html"]()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html  # escaped inside the card's code span
    assert "<li><b>Model:</b> x1 (uploaded): sigmoid network 784 → 16 → 10, input pixels / 255</li>" in html


def test_a_model_with_no_card_fields_is_named_by_its_network():
    """Outside a run (English): a bare card gives the id and the shape; a bool, NaN or text where a number belongs is no
    accuracy or epoch count."""
    from ui import modeltitles
    bare = random_model([784, 30, 10], preprocess=None)  # no preprocessing: the input as given
    bare.card = {}
    assert modeltitles.label("upload:a", bare) == "a (uploaded): sigmoid 784-30-10, raw pixels 0–255"  # no preprocessing: raw
    assert modeltitles.label("session:b", bare) == "b (trained here): sigmoid 784-30-10, raw pixels 0–255"
    for odd in (True, float("nan"), "0.99", -0.1, 1.5, None):
        bare.card = {"test_accuracy": odd, "training": {"epochs": odd, "optimizer": odd}, "history": odd}
        assert modeltitles.title("x", bare) == "x: sigmoid network 784 → 30 → 10, input raw pixels 0–255", odd
    bare.card = {"accuracy": 0.5, "training": {"optimizer": "adam", "epochs": 3, "schedule": "constant", "distort": True}}
    assert modeltitles.title("x", bare) == ("x: sigmoid network 784 → 30 → 10, input raw pixels 0–255, Adam, epochs: 3, "
                                            "trained on distorted copies, test accuracy 50.00%")
