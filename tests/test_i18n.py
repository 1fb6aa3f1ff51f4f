"""The text catalogs: every language has every key with the same {placeholders}, every t("key") in the code exists,
and no page hands Streamlit a literal English string instead of t("...")."""
import json
import re
import string
import unicodedata

import pytest

from tests.conftest import ROOT
from tests.i18n_scan import is_words, literal_ui_strings, python_files, t_calls

LANGS = ("en", "zh", "ja")
CATALOGS = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGS}
EN = CATALOGS["en"]


def placeholders(text):
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_every_language_has_every_key_and_no_other(lang):
    cat = CATALOGS[lang]
    missing = sorted(k for k in EN if not (cat.get(k) or "").strip())
    extra = sorted(set(cat) - set(EN))
    assert (missing, extra) == ([], []), f"i18n/{lang}.json: missing {missing}, not in en.json {extra} (see scripts/i18n_missing.py)"


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_placeholders_match_english(lang):
    cat = CATALOGS[lang]
    wrong = {k: (placeholders(EN[k]), placeholders(cat[k])) for k in EN if k in cat and placeholders(EN[k]) != placeholders(cat[k])}
    assert wrong == {}, wrong


class _Any:
    """A value that accepts any format spec or index, standing in for the real numbers and names."""

    def __format__(self, spec):
        return "x"

    def __getitem__(self, i):
        return self


def format_errors(cat):
    """{key: error} for texts that str.format (what t(key, **values) calls) cannot fill, e.g. a stray { or }."""
    bad = {}
    for k, text in cat.items():
        try:
            text.format(**{name.split("[")[0].split(".")[0]: _Any() for name in placeholders(text) if name})
        except (ValueError, IndexError, KeyError) as e:
            bad[k] = str(e)
    return bad


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_formats_with_its_own_placeholders(lang):
    assert format_errors(CATALOGS[lang]) == {}


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_translations_are_not_english_copies(lang):
    """A translation identical to a sentence of English is a key someone forgot, not a translation."""
    words = lambda v: re.findall(r"[A-Za-z]{4,}", re.sub(r"\{[^}]*\}", " ", v))  # placeholder names are not words
    same = sorted(k for k, v in EN.items() if CATALOGS[lang].get(k) == v and len(words(v)) >= 3)
    assert same == [], same


def _space(c):
    return c == "" or c.isspace()


def _punct(c):
    return c != "" and unicodedata.category(c)[0] in "PS"


def unclosed_bold(text):
    """**...** pairs that CommonMark will not render as bold: a closing ** after punctuation must be followed by a space or
    punctuation (and an opening ** before punctuation preceded by one), so "**预处理：**每个" stays literal in Chinese and Japanese."""
    text = re.sub(r"\{[^{}]*\}", "x", text)  # a placeholder becomes a word or a number
    bad = []
    for i, m in enumerate(re.finditer(r"(?<!\*)\*\*(?!\*)", text)):
        p = text[m.start() - 1] if m.start() else ""
        n = text[m.end()] if m.end() < len(text) else ""
        opens = not _space(n) and (not _punct(n) or _space(p) or _punct(p))
        closes = not _space(p) and (not _punct(p) or _space(n) or _punct(n))
        if not (opens if i % 2 == 0 else closes):
            bad.append(text[max(0, m.start() - 8):m.end() + 8])
    return bad


@pytest.mark.parametrize("lang", LANGS)
def test_bold_text_renders_as_bold(lang):
    bad = {k: unclosed_bold(v) for k, v in CATALOGS[lang].items() if unclosed_bold(v)}
    assert bad == {}, f"move the punctuation outside the ** or add a space: {bad}"


CJK = re.compile(r"[\u3000-\u303f\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")  # kana, hanzi/kanji, CJK punctuation


def spaced_bold(text):
    """Bold text set off by a space from the Chinese or Japanese around it ("**混同行列** は", "按 **清除**"): the space is
    English typography. A placeholder or number in bold keeps its space ("**{n}** 個"), as every number in the catalogs does."""
    marks = [m.start() for m in re.finditer(r"(?<!\*)\*\*(?!\*)", text)]
    bad = []
    for start, end in zip(marks[::2], marks[1::2], strict=False):
        inner, before, after = text[start + 2:end], text[max(0, start - 2):start], text[end + 2:end + 4]
        if (len(before) == 2 and before[1] == " " and CJK.match(before[0]) and CJK.match(inner[:1])) or \
                (len(after) == 2 and after[0] == " " and CJK.match(after[1]) and CJK.match(inner[-1:])):
            bad.append(text[max(0, start - 4):end + 6])
    return bad


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_no_space_between_bold_and_the_words_around_it(lang):
    bad = {k: spaced_bold(v) for k, v in CATALOGS[lang].items() if spaced_bold(v)}
    assert bad == {}, f"write **混同行列**は, not **混同行列** は: {bad}"


@pytest.mark.parametrize(("lang", "count_word", "per_word"), [("zh", "数", "各"), ("ja", "数", "ごと")], ids=["zh", "ja"])
def test_the_class_count_labels_say_what_they_count(lang, count_word, per_word):
    """Home's "Classes" is the number of classes (10); the dataset tab counts the images of each class. In Japanese the
    tab once said クラス数 (the number of classes) and Home クラス (a class)."""
    cat = CATALOGS[lang]
    assert cat["home.data_classes"].endswith(count_word)
    assert per_word in cat["dataset.tab_classes"] and not cat["dataset.tab_classes"].endswith("类别数" if lang == "zh" else "クラス数")


def test_the_checks_above_can_fail():
    assert unclosed_bold("**预处理：**{pre} 这里") and not unclosed_bold("**预处理**：{pre} 这里") and not unclosed_bold("**Inspect** it")
    assert placeholders("{n} images of {split} ({pct:.1%})") == ["n", "pct", "split"]
    assert is_words("Download report") and not is_words("📄") and not is_words("28 × 28") and not is_words("<br><sup> </sup>")
    assert list(format_errors({"a": "{n} ok", "b": "{n", "c": "%{y:.1%} {x[0]:.0%}"})) == ["b"]
    assert spaced_bold("**混同行列** は") and spaced_bold("按 **清除** 可以") == ["按 **清除** 可以"]
    assert not spaced_bold("**混同行列**は") and not spaced_bold("**{ink}** 個") and not spaced_bold("**Softmax** turns")


def test_every_t_key_used_in_the_code_exists_in_english():
    calls = t_calls(python_files(ROOT))
    assert len(calls) > 300  # the scan really reads the pages
    unknown = [f"{path}:{line}: t({shown!r})" for path, line, pattern, shown in calls if not any(re.fullmatch(pattern, k) for k in EN)]
    assert unknown == [], "\n".join(unknown)


def test_no_page_shows_a_literal_string():
    """Streamlit calls (st.title, st.button, c[0].metric, ...) and chart text keywords get t(...), never an English literal."""
    found = [f"{path}:{line}: {text!r}" for path, line, text in literal_ui_strings(python_files(ROOT))]
    assert found == [], "UI text must come from i18n/*.json via t():\n" + "\n".join(found)


def test_the_literal_scan_finds_a_literal(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('import streamlit as st\nfrom ui.i18n import t\nc = st.columns(2)\nst.title(t("x"))\nc[0].metric("Accuracy", 1)\n'
                    'st.button("🎲")\nst.caption(f"📖 {t(\'y\')}")\nst.selectbox(t("z"), ["train", "test"])\n'
                    'st.plotly_chart(fig(title="Loss"))\n', encoding="utf-8")
    assert [(line, text) for _, line, text in literal_ui_strings([page])] == [(5, "Accuracy"), (8, "train"), (8, "test"), (9, "Loss")]


def test_the_literal_scan_reads_hover_templates(tmp_path):
    """A word in a plotly hover or text template is shown untranslated in every language (the preprocessing histograms
    once said "0.5 to 1.0"); fields %{...} and markup are not words."""
    builder = tmp_path / "charts.py"
    builder.write_text('import plotly.graph_objects as go\nfig = go.Figure()\n'
                       'fig.add_bar(x=[1], hovertemplate="%{customdata[0]:.3g} to %{customdata[1]:.3g}: %{y:,}<extra></extra>")\n'
                       'fig.add_bar(x=[1], hovertemplate="%{x}: %{y:.2%}<extra></extra>", texttemplate="%{text}")\n'
                       'trace = {"type": "bar", "hovertemplate": f"{name}: %{{y:.1%}} of all<extra></extra>"}\n'
                       'fig.add_heatmap(z=[[1]], hovertemplate=f"[%{{y}}, %{{x}}] = %{{z:{fmt}}}<extra>{name}</extra>")\n',
                       encoding="utf-8")
    found = [(line, text) for _, line, text in literal_ui_strings([builder])]
    assert [line for line, _ in found] == [3, 5] and " to " in found[0][1] and "of all" in found[1][1]


def test_a_line_break_in_a_drawing_label_is_a_line_not_markup():
    """Home's layer names break their line with \\n (or a plotly-style <br>): the SVG draws two lines, never the tag."""
    from ui.home.diagram import network_svg

    svg = network_svg([784, 50, 10], layer_names=["入力層\nピクセル", "隠れ層<br>sigmoid", "出力層"], weight_names=["W1", "W2"])
    assert "&lt;br" not in svg and "<br" not in svg
    assert '">入力層</tspan><tspan' in svg and ">ピクセル</tspan>" in svg and ">sigmoid</tspan>" in svg
    assert "<title>入力層 ピクセル #784 / 784</title>" in svg
