"""ui.cardrows: the card summary names each accuracy for what it was measured on (a trained card holds both), and
every row reads the card's own fields, translated where the app knows them, as typed (one line, code span) otherwise."""
import json

import pytest
import streamlit as st

from engine.model import MLP
from engine.preprocess import KINDS
from tests.apptest_helpers import random_model
from tests.conftest import ROOT
from ui import cardrows
from ui.i18n import PICK_KEY, t

LANGS = ("en", "zh", "ja")
# the catalogs read straight from the files, so an expected row never goes through the t() it checks
CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGS}
ORDER = ("optimizer", "lr", "epochs", "batch_size")  # the training settings in the order the card summary lists them


@pytest.fixture(params=LANGS)
def lang(request, monkeypatch):
    """Each language in turn, picked as the sidebar does (outside a running app, session state is a plain store)."""
    monkeypatch.setitem(st.session_state, PICK_KEY, request.param)
    return request.param


def _model(card, *, sizes=(784, 16, 10), activation="sigmoid"):
    """A random net of these sizes and activation holding card."""
    return MLP(random_model(list(sizes)).params, activation=activation, card=card)


@pytest.mark.parametrize("card, shown", [
    ({"test_accuracy": 0.9123, "val_accuracy": 0.9555}, "91.23%"),  # a trained card: its best epoch's val is higher
    ({"val_accuracy": 0.9555, "test_accuracy": 0.9123, "accuracy": 0.5}, "91.23%"),
    ({"accuracy": 0.875}, "87.50%"),  # a shipped card of an older format: its one accuracy is the test set's
])
def test_the_test_accuracy_row_holds_the_test_sets_number_never_the_validation_one(card, shown):
    model = random_model([784, 16, 10])
    model.card.update(card)
    rows = dict(cardrows.rows("m", model))
    assert rows[t("card.accuracy")] == shown  # a validation accuracy, if shown at all, has a row of its own


def test_a_card_without_an_accuracy_has_no_accuracy_row():
    rows = dict(cardrows.rows("m", random_model([784, 16, 10])))
    assert t("card.accuracy") not in rows and list(rows)[:2] == [t("card.id"), t("card.layers")]


@pytest.mark.parametrize("value", [0, 0.0, 1, 1.0, 0.25, 0.999])
def test_an_accuracy_from_0_to_1_inclusive_is_read_as_a_float(value):
    for key in ("test_accuracy", "accuracy"):
        got = cardrows.accuracy({key: value})
        assert got == value and type(got) is float, (key, got)


@pytest.mark.parametrize("value", [True, False, -0.01, 1.01, 2, float("nan"), float("inf"), "0.9", None, [0.9]])
def test_an_accuracy_that_is_not_a_number_in_0_to_1_is_none_and_the_older_field_is_tried_next(value):
    assert cardrows.accuracy({"test_accuracy": value}) is None
    assert cardrows.accuracy({"accuracy": value}) is None
    assert cardrows.accuracy({"test_accuracy": value, "accuracy": 0.75}) == 0.75


def test_the_preprocessing_row_translates_each_of_the_engines_kinds(lang):
    for kind in KINDS:
        card = {"preprocess": {"kind": kind, "description": "the file's own words"}}
        assert cardrows.preprocessing(card) == f"`{kind}`: {CATALOG[lang][f'card.pre_{kind}']}"


@pytest.mark.parametrize("card", [{}, {"preprocess": None}, {"preprocess": {}}, {"preprocess": {"description": "x"}}])
def test_a_card_that_names_no_preprocessing_reads_as_the_books_unit_scaling(lang, card):
    assert cardrows.preprocessing(card) == f"`unit`: {CATALOG[lang]['card.pre_unit']}"


@pytest.mark.parametrize(("pre", "shown"), [
    ({"kind": "sharpen", "description": "pixels * 2"}, "`sharpen: pixels * 2`"),
    ({"kind": "sharpen"}, "`sharpen`"),  # no description: no dangling colon
    ({"kind": "sharpen", "description": ""}, "`sharpen`"),
    ({"kind": "clip", "description": "to MAX"}, "`clip: to MAX`"),  # only the joiner is trimmed, not the file's letters
    ({"kind": "a`b", "description": "line one\nline two\t`x`"}, "`a'b: line one line two 'x'`"),  # one line, no span break
    ({"kind": ""}, ""),  # nothing to show: no empty code span
])
def test_an_unknown_preprocessing_is_shown_as_typed_on_one_line(lang, pre, shown):
    assert cardrows.preprocessing({"preprocess": pre}) == shown


def test_the_training_row_names_the_four_settings_in_order_whatever_the_files_order(lang):
    c = CATALOG[lang]
    train = {"batch_size": 100, "epochs": 12, "seed": 3, "hidden": [50], "lr": 0.003, "optimizer": "adam"}
    want = c["card.list_sep"].join(f"{c[f'card.train_{k}']} `{train[k]}`" for k in ORDER)
    assert cardrows.training({"training": train}) == want


def test_the_training_row_leaves_out_the_settings_a_card_lacks(lang):
    c = CATALOG[lang]
    got = cardrows.training({"training": {"epochs": 5, "optimizer": "sgd"}})
    assert got == f"{c['card.train_optimizer']} `sgd`{c['card.list_sep']}{c['card.train_epochs']} `5`"
    assert cardrows.training({"training": {"optimizer": "momentum"}}) == f"{c['card.train_optimizer']} `momentum`"


@pytest.mark.parametrize("card", [{}, {"training": None}, {"training": "adam, lr 0.1"}, {"training": ["adam"]},
                                  {"training": {"lr": 0.1, "epochs": 3}}, {"training": {"optimizer": "", "lr": 0.1}}])
def test_a_card_without_a_named_optimizer_has_no_training_row(card):
    assert cardrows.training(card) is None


def test_the_trainers_record_is_translated_and_its_data_sentence_rewritten(lang):
    c = CATALOG[lang]
    prov = {"sha256": "ab12", "data": "54,000 training images; 6,000 held out for validation; the test set is not used",
            "seed": 7, "numpy": "2.1.3", "trainer": "engine.train"}
    want = c["card.list_sep"].join([f"{c['card.prov_trainer']}: `engine.train`", f"{c['card.prov_numpy']}: `2.1.3`",
                                    f"{c['card.prov_seed']}: `7`",
                                    f"{c['card.prov_data']}: " + c["card.prov_data_split"].format(train="54,000", val="6,000")])
    assert cardrows.provenance({"provenance": prov}) == want  # the hash is for a checker, not a reader: left out


def test_a_data_field_in_another_shape_is_shown_as_typed(lang):
    c = CATALOG[lang]
    for data, shown in [("MNIST, all 60,000 training images", "`MNIST, all 60,000 training images`"),
                        ("about 54,000 training images; 6,000 held out for validation", "`about 54,000 training "
                                                                                         "images; 6,000 held out for validation`"),
                        (60000, "`60000`")]:
        assert cardrows.provenance({"provenance": {"data": data}}) == f"{c['card.prov_data']}: {shown}"
    sep = c["card.list_sep"]
    assert cardrows.provenance({"provenance": {"seed": 0, "trainer": "my `own`\nscript"}}) == \
        f"{c['card.prov_trainer']}: `my 'own' script`{sep}{c['card.prov_seed']}: `0`"
    sentence = "60,000 training images; 0 held out for validation"  # rewritten in the data field only
    assert cardrows.provenance({"provenance": {"trainer": sentence}}) == f"{c['card.prov_trainer']}: `{sentence}`"


@pytest.mark.parametrize("prov", [{}, {"sha256": "ab12"}, None, "", 0])
def test_a_provenance_with_nothing_for_a_reader_has_no_row(lang, prov):
    assert cardrows.provenance({"provenance": prov}) is None
    assert cardrows.provenance({"provenance": prov, "name": "book"}) is None


def test_the_books_provenance_is_translated_and_any_other_text_kept_as_typed(lang):
    text = "Deep Learning from Scratch, ch. 3: sample_weight.pkl"
    book = cardrows.provenance({"name": "book", "provenance": text})
    assert book == (f"`{text}`" if lang == "en" else CATALOG[lang]["card.prov_book"])  # English: the card's own words
    assert cardrows.provenance({"name": "other", "provenance": text}) == f"`{text}`"
    assert cardrows.provenance({"provenance": "a\nb `c`"}) == "`a b 'c'`"


def test_every_row_of_a_full_card_in_order(lang):
    c = CATALOG[lang]
    card = {"test_accuracy": 0.9817, "val_accuracy": 0.99, "preprocess": {"kind": "center"},
            "training": {"optimizer": "adam", "lr": 0.001}, "provenance": {"seed": 5}, "title": "Not shown for the app's own"}
    got = cardrows.rows("pre-center", _model(card, sizes=(784, 64, 32, 10), activation="relu"))
    sep = c["card.list_sep"]
    assert got == [(c["card.id"], "`pre-center`"), (c["card.layers"], "784 → 64 → 32 → 10"),
                   (c["card.activation"], "relu → softmax"), (c["card.preprocess"], f"`center`: {c['card.pre_center']}"),
                   (c["card.accuracy"], "98.17%"),
                   (c["card.training"], f"{c['card.train_optimizer']} `adam`{sep}{c['card.train_lr']} `0.001`"),
                   (c["card.provenance"], f"{c['card.prov_seed']}: `5`")]


def test_a_bare_card_has_the_four_rows_every_model_has(lang):
    c = CATALOG[lang]
    got = cardrows.rows("my`id\nx", _model({"training": {"lr": 0.1}, "provenance": {}}))
    assert got == [(c["card.id"], "`my'id x`"), (c["card.layers"], "784 → 16 → 10"),
                   (c["card.activation"], "sigmoid → softmax"), (c["card.preprocess"], f"`unit`: {c['card.pre_unit']}")]


@pytest.mark.parametrize("model_id", ["upload:mine.npz", "shared:ab12cd"])
def test_an_uploaded_or_shared_model_shows_its_files_title_as_typed(lang, model_id):
    label = CATALOG[lang]["card.file_title"]
    rows = cardrows.rows(model_id, _model({"title": "My\nbest `net`"}))
    assert rows[-1] == (label, "`My best 'net'`") and len(rows) == 5
    long = "x" * 150  # a title is a label: cut to 120 characters, the last an ellipsis
    assert cardrows.rows(model_id, _model({"title": long}))[-1] == (label, "`" + "x" * 119 + "…`")
    for title in ("", "  \n ", 42, None, ["a"]):  # nothing to show
        assert all(lab != label for lab, _ in cardrows.rows(model_id, _model({"title": title})))


@pytest.mark.parametrize("model_id", ["default", "pre-unit", "my upload:x", "book"])
def test_the_apps_own_models_show_no_file_title(lang, model_id):
    rows = cardrows.rows(model_id, _model({"title": "A title"}))
    assert [lab for lab, _ in rows] == [CATALOG[lang][k] for k in ("card.id", "card.layers", "card.activation",
                                                                  "card.preprocess")]
