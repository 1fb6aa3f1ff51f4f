"""The terminology table i18n/terms.csv against the catalogs: each listed concept is written one way in each language
(the book's term, or the app's where the table says why), and the glossary gives the other names next to it."""
import csv
import json
import re

import pytest

from tests.conftest import ROOT

COLUMNS = ["concept", "en", "zh_book", "ja_book", "zh_app", "ja_app", "zh_also", "ja_also", "zh_avoid", "ja_avoid",
           "glossary", "why"]
ROWS = list(csv.DictReader((ROOT / "i18n" / "terms.csv").open(encoding="utf-8")))
CATALOGS = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
LANGS = ("zh", "ja")


def app_term(row, lang):
    """The term the app writes: the app column where it differs from the book, else the book's (first) term."""
    return row[f"{lang}_app"] or row[f"{lang}_book"].split(" / ")[0]


def avoided(row, lang):
    return [re.compile(p) for p in row[f"{lang}_avoid"].split("|") if p]


def exempt(row):
    """The concept's own glossary entry may name the other terms: that is where a reader finds them."""
    return {f"glossary.{row['glossary']}", f"glossary.{row['glossary']}_text"} if row["glossary"] else set()


def second_ways(catalog, rows, lang):
    """{concept: [(key, the other way it is written)]} for every listed concept written another way in catalog."""
    found = {}
    for row in rows:
        skip = exempt(row)
        hits = [(k, m.group(0)) for k, text in sorted(catalog.items()) if k not in skip
                for p in avoided(row, lang) for m in [p.search(text)] if m]
        if hits:
            found[row["concept"]] = hits
    return found


def test_the_table_has_its_columns_and_a_reason_on_every_row():
    assert list(ROWS[0]) == COLUMNS and len(ROWS) >= 20
    for row in ROWS:
        assert row["concept"] and row["en"] and row["why"], row
        for lang in LANGS:
            assert app_term(row, lang), (row["concept"], lang)  # a book term, or the app's own where the book has none
            avoided(row, lang)  # every pattern compiles
    assert len({r["concept"] for r in ROWS}) == len(ROWS)


@pytest.mark.parametrize("lang", LANGS)
def test_no_listed_concept_is_written_two_ways(lang):
    assert second_ways(CATALOGS[lang], ROWS, lang) == {}


@pytest.mark.parametrize("lang", LANGS)
def test_every_listed_term_is_really_used(lang):
    """A term in the table that no text uses is a stale row (or a rewrite that lost the book's word)."""
    text = "\n".join(CATALOGS[lang].values())
    unused = [app_term(r, lang) for r in ROWS if app_term(r, lang).replace(" ", "") not in text.replace(" ", "")]
    assert unused == []


@pytest.mark.parametrize("lang", LANGS)
def test_the_glossary_gives_the_book_term_and_the_other_names(lang):
    """Where the table names other terms (today's word, or the book's second name), the concept's glossary entry shows
    them next to the term the app uses, and its heading starts with the app's term."""
    cat, missing = CATALOGS[lang], {}
    for row in ROWS:
        if not (row["glossary"] and row[f"{lang}_also"]):
            continue
        entry = cat[f"glossary.{row['glossary']}"] + "\n" + cat[f"glossary.{row['glossary']}_text"]
        wanted = [app_term(row, lang)] + row[f"{lang}_also"].split("、")
        if any(w not in entry for w in wanted):
            missing[row["concept"]] = (wanted, entry[:80])
    assert missing == {}


def test_every_glossary_entry_named_in_the_table_exists():
    entries = {k.split(".")[1] for k in CATALOGS["en"] if k.startswith("glossary.")}
    assert sorted({r["glossary"] for r in ROWS if r["glossary"]} - entries) == []


@pytest.mark.parametrize(("lang", "names"), [("zh", ("输入层", "隐藏层", "输出层")), ("ja", ("入力層", "隠れ層", "出力層"))],
                         ids=["zh", "ja"])
def test_the_network_drawing_names_its_layers_as_the_book_does(lang, names):
    cat = CATALOGS[lang]
    labels = (cat["home.layer_input"], cat["home.layer_hidden"], cat["home.layer_output"])
    assert all(name in label for name, label in zip(names, labels, strict=True)), labels


def test_the_check_can_fail():
    rows = [{"concept": "epoch", "zh_avoid": "轮数", "ja_avoid": "", "glossary": "epoch"},
            {"concept": "σ", "zh_avoid": "", "ja_avoid": "ばらつき", "glossary": ""}]
    zh = {"a": "第 3 轮次", "b": "训练轮数", "glossary.epoch_text": "也叫轮数"}
    assert second_ways(zh, rows, "zh") == {"epoch": [("b", "轮数")]}
    assert second_ways({"x": "標準偏差", "y": "ばらつき σ"}, rows, "ja") == {"σ": [("y", "ばらつき")]}
