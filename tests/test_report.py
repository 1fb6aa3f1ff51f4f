"""The downloadable HTML reports of the single-image and evaluation pages: self-contained, the page's charts and
numbers, the model card and the explanations in the reader's language."""
import base64
import html as htmllib
import json
import re

import numpy as np
import pytest

from tests import apptest_helpers
from tests.apptest_helpers import image_captions, plotly_figures, run_page
from tests.conftest import ROOT
from ui.report import markdown, strip_actions

app_env = apptest_helpers.app_env  # fixture
CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
JA = CATALOG["ja"]
PLOTLY_DIV = re.compile(r'<div id="([0-9a-f-]+)" class="plotly-graph-div"')
# the words of a page you use, not a report you read; written out here, apart from ui.report.ACTIONS, so a gap there shows
INTERACTION = re.compile(r"click|hover|drag|\btap\b|\bpress|slider|mouse|interactive|点击|单击|悬停|鼠标|拖|滑块|交互|"
                         r"クリック|ホバー|マウス|ドラッグ|スライダー|タップ|押[しすせ]|操作", re.I)


def figures_in(html):
    """(figure dict, config dict) of each chart in a report, read from plotly's Plotly.newPlot("id", data, layout, config) calls."""
    decode, out = json.JSONDecoder().raw_decode, []
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[0-9a-f-]+",\s*', html):
        parts, at = [], m.end()
        for _ in range(3):
            value, at = decode(html, at)
            parts.append(value)
            at = re.compile(r"\s*,?\s*").match(html, at).end()
        out.append(({"data": parts[0], "layout": parts[1]}, parts[2]))
    return out


def visible_text(html):
    """What a reader of the report sees as text: the body less its scripts, styles and tags, and each chart's words."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    words = [htmllib.unescape(re.sub(r"<[^>]+>", " ", body))]
    for fig, _ in figures_in(html):
        lay = fig["layout"]
        words += [(lay.get(k) or {}).get("title", {}).get("text", "") for k in lay if k.startswith(("xaxis", "yaxis"))]
        words += [lay.get("title", {}).get("text", "")] + [a.get("text", "") for a in lay.get("annotations", [])]
        words += [tr.get("name") or "" for tr in fig["data"]]
    return "\n".join(words)


def galleries(html):
    """Each gallery of a report as [(PNG bytes, caption lines)], in order."""
    out = []
    for block in re.findall(r"<div class='gallery'>(.*?)</div>", html, flags=re.S):
        out.append([(base64.b64decode(png), htmllib.unescape(cap).split("<br>")) for png, cap in
                    re.findall(r"<img alt='[^']*' src='data:image/png;base64,([A-Za-z0-9+/=]+)'><figcaption>(.*?)</figcaption>", block)])
    return out


def table_rows(html, header_start):
    """The body rows (lists of cell strings) of the report's table whose first header cell is header_start."""
    for table in re.findall(r"<table>(.*?)</table>", html):
        rows = [[htmllib.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", r)] for r in re.findall(r"<tr>(.*?)</tr>", table)]
        if rows[0][0] == header_start:
            return rows[1:]
    raise AssertionError(f"no table headed {header_start!r}")


def number_boxes(html):
    return {htmllib.unescape(k): htmllib.unescape(v) for k, v in re.findall(r"<div class='number'>(.*?)<b>(.*?)</b></div>", html)}


@pytest.mark.parametrize(("lang", "text", "kept"), [
    ("en", "**Click a square**, or choose its two digits in the lists, to see those images.", ""),
    ("en", "One pixel. Hover to read [row, col] = value.\n\nNext, *0.5* stays.", "One pixel.\n\nNext, *0.5* stays."),
    ("zh", "蓝色对角线上是正确的答案。**点击一个格子**，就能看到图像。", "蓝色对角线上是正确的答案。"),
    ("zh", "**粗体。**悬停可看精确概率。下一句。", "**粗体。**下一句。"),
    ("ja", "青い対角線が正解です。**マスをクリック**すると画像が表示されます。どのグラフも操作できます。", "青い対角線が正解です。"),
    ("ja", "白が 0 です。マウスを重ねると値が読めます。「計測する」を押してください。", "白が 0 です。"),
])
def test_a_report_drops_the_sentences_that_ask_to_click_hover_or_drag(lang, text, kept):
    assert strip_actions(text) == kept


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_every_report_text_in_the_catalog_reads_without_interaction_words(lang):
    """Each chart's how-to-read and each section's words, as a report prints them: no click left, something still said."""
    for key, text in CATALOG[lang].items():
        if key.split(".")[0] in ("evaluate", "single") and key.endswith(("_read", "_words", "_intro")):
            left = strip_actions(text)
            assert not INTERACTION.search(left), (key, left)
            assert left or INTERACTION.search(text), key  # only a text that was all instructions disappears
    assert strip_actions(CATALOG[lang]["single.near_words"]) == CATALOG[lang]["single.near_words"]  # the rest is untouched


def test_markdown_is_escaped_and_keeps_its_little_formatting():
    assert markdown("**Softmax** turns <b>x</b> into `y_k = exp(a_k)` *probabilities*\n\nnext") == \
        "<p><b>Softmax</b> turns &lt;b&gt;x&lt;/b&gt; into <code>y_k = exp(a_k)</code> <i>probabilities</i></p><p>next</p>"
    assert markdown(r"a \*\*big\*\* file.png") == "<p>a **big** file.png</p>"  # panels.plain's escapes are undone, not doubled


def test_the_single_image_report_holds_the_page_in_japanese(app_env):
    at = run_page("single", query={"lang": "ja", "index": 5})
    [button] = at.get("download_button")
    assert button.proto.label == JA["report.download"]
    html = at.session_state["single_report_html"]()
    assert html.startswith("<!DOCTYPE html><html lang='ja'>")
    assert html.count("<script src=") == 0 and html.count("plotly.js v") == 1  # plotly.js inlined once, nothing fetched
    page_figs = plotly_figures(at)
    report_figs = figures_in(html)
    assert len(report_figs) == len(page_figs) == len(PLOTLY_DIV.findall(html)) >= 8
    assert [f["layout"]["title"]["text"] for f, _ in report_figs] == [f["layout"]["title"]["text"] for f in page_figs]
    names = [c["toImageButtonOptions"]["filename"] for _, c in report_figs]
    assert names[:2] == ["single-input", "single-vector"] and len(set(names)) == len(names)  # each PNG gets its own name
    metric = {m.label: m.value for m in at.metric}
    assert f"<div class='number'>{JA['single.predicted']}<b>{metric[JA['single.predicted']]} (" in html
    for key in ("single.input_head", "single.hidden_head", "report.card", "card.preprocess"):
        assert JA[key] in html, key
    assert markdown(at.markdown[1].value)[3:-4].split("<br>")[0][:40] in html  # an explanation of the page, as on the page


def test_the_evaluation_report_matches_the_page(app_env):
    at = run_page("evaluate")
    accuracy = next(m.value for m in at.metric if m.label == "Accuracy")
    html = at.session_state["ev_report_html"]()
    assert f"<div class='number'>Accuracy<b>{accuracy}</b></div>" in html
    figs = figures_in(html)
    n = len(app_env["test"][1])
    assert [f["layout"]["title"]["text"] for f, _ in figs] == [
        f"Confusion matrix, test set ({n} images)", "Reliability: accuracy at each confidence level",
        "How sure the network is, for right and for wrong answers", "Coverage and accuracy as the threshold t rises"]
    page_cm = next(f for f in plotly_figures(at) if f["layout"]["title"]["text"].startswith("Confusion matrix"))
    assert [tr.get("z") for tr in figs[0][0]["data"][:2]] == [tr.get("z") for tr in page_cm["data"][:2]]  # the same counts
    assert html.count("<tr>") >= 11 + 1  # the per-digit table: a header and ten digits (and the mistakes table)
    assert "Model card" in html and "Expected calibration error" in html


def test_a_report_fits_its_labels_embeds_its_thumbnails_and_says_its_language():
    import plotly.graph_objects as go

    from ui.images import png
    from ui.report import Draft

    d = Draft(title="t", intro="i")
    fig = go.Figure(go.Bar(x=[1, 2], y=[0.5, 0.8])).update_layout(margin={"l": 10, "r": 10, "t": 50, "b": 10})
    d.chart(fig, how_to_read="read", filename="f")
    thumb = png(np.full((28, 28), 200, np.uint8))
    d.gallery([(thumb, "#7 · 9"), (thumb, "#8 · 4")])
    html = d.html(card_rows=[], card_json="{}", lang="zh", labels=None)
    assert "<html lang='zh-Hans'>" in html
    (layout, _), = [(f["layout"], c) for f, c in figures_in(html)]
    assert layout["margin"]["l"] >= 60 and layout["margin"]["b"] >= 60  # the page's 10 px clipped the tick labels
    assert layout["xaxis"]["automargin"] is True and layout["yaxis"]["automargin"] is True
    assert html.count("<img alt='#") == 2 and html.count("src='data:image/png;base64,") == 2
    assert fig.layout.margin.l == 10  # the page's own figure is left as it was


def test_report_file_names_stay_readable_in_every_language():
    from ui.reportbutton import file_name
    assert file_name("mnist-single", "book", "测试集 #7899") == "mnist-single-book-测试集-7899.html"
    assert file_name("mnist-single", "book", "テスト #7899") == "mnist-single-book-テスト-7899.html"
    assert file_name("../../etc/passwd") == "etc-passwd.html" and file_name("a\x00b/c") == "a-b-c.html"


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_the_evaluation_report_shows_the_pages_galleries_and_reads_without_clicks(app_env, lang):
    at = run_page("evaluate", query={"lang": lang})
    html = at.session_state["ev_report_html"]()
    page = image_captions(at)  # the selected cell's images (beside the matrix), then the most confident mistakes
    shown = galleries(html)
    assert [c for g in shown for _, (c,) in g] == page and len(shown) == 2 and all(len(g) for g in shown)
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 100 for g in shown for png, _ in g)
    head = next(h.value for h in at.subheader if h.value.startswith(CATALOG[lang]["evaluate.cell_head"][:2]))
    assert f"<h2>{htmllib.escape(head)}</h2><div class='gallery'>" in html  # the cell the page frames, by name
    assert not INTERACTION.search(visible_text(html)), INTERACTION.search(visible_text(html))
    assert "📖" in html and CATALOG[lang]["evaluate.cov_read_report"].format(t="90%") in html  # the slider's t, in words


def test_the_evaluation_reports_numbers_and_rows_are_the_pages(app_env):
    x, t = app_env["test"]
    at = run_page("evaluate", query={"tab": "calibration", "t": 75})
    html = at.session_state["ev_report_html"]()
    boxes, metric = number_boxes(html), {m.label: m.value for m in reversed(at.metric)}  # the first of a label wins
    for label in ("Accuracy", "Mean loss", "Expected calibration error", "Mean confidence"):
        assert boxes[label] == metric[label], label
    assert boxes["Expected calibration error"] != boxes["Mean confidence"]
    right = next(k for k in metric if k.startswith("Right"))
    assert boxes[right] == metric[right]
    assert figures_in(html)[-1][0]["layout"]["shapes"][0]["x0"] == 0.75 and "t = 75%" in html  # the page's threshold

    at = run_page("evaluate")
    html = at.session_state["ev_report_html"]()
    page = at.dataframe[0].value  # the per-digit table, as the page shows it
    rows = table_rows(html, "Digit")
    assert [int(r[0]) for r in rows] == page["digit"].tolist() and [int(r[4]) for r in rows] == page["support"].tolist()
    assert [r[1] for r in rows] == [f"{v:.3f}" for v in page["precision"]] and [r[2] for r in rows] == [f"{v:.3f}" for v in page["recall"]]
    assert [r[5] for r in rows] == page["confused_with"].astype("string").fillna("").tolist()
    assert [r[3] for r in rows] == [f"{v:.3f}" for v in page["f1"]]
    assert [r[6] for r in rows] == [str(v) if v else "" for v in page["confused_count"]]  # no confusion: an empty cell

    mistakes = table_rows(html, "Image")
    assert len(mistakes) == len(galleries(html)[-1]) > 0
    for (image, true, pred, conf), (_, (caption,)) in zip(mistakes, galleries(html)[-1], strict=True):
        i = int(image[1:])
        assert int(true) == t[i] != int(pred)  # the true column is the image's label, the predicted one is not
        assert caption.startswith(f"#{i} · {true} → {pred} · ")  # and the gallery above says the same
        sure = [float(v.strip("<> %")) for v in (caption.split(" · ")[-1], conf)]  # "97.12%" beside "97.1%"
        assert sure[0] == pytest.approx(sure[1], abs=0.051)


def test_the_evaluation_report_follows_the_cell_the_page_frames(app_env):
    at = run_page("evaluate", query={"cell": "3-3", "sort": "loss_asc"})
    true, pred = (int(d) for d in re.match(r"#\d+ · (\d) → (\d)", image_captions(at)[-1]).groups())  # a mistake's cell
    at.selectbox(key="ev_true").select(true).run()
    at.selectbox(key="ev_pred").select(pred).run()
    html = at.session_state["ev_report_html"]()
    assert at.subheader[0].value.startswith(f"True {true}, predicted {pred}")
    assert f"<h2>{htmllib.escape(at.subheader[0].value)}</h2>" in html
    n = int(re.search(r"(\d+) images", at.subheader[0].value)[1])
    cell = [c for _, (c,) in galleries(html)[0]]
    assert len(cell) == min(12, n) and cell == image_captions(at)[:len(cell)]  # same images, same order (lowest loss first)


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_the_single_image_report_shows_the_nearest_training_images(app_env, lang):
    at = run_page("single", query={"lang": lang, "index": 3})
    html = at.session_state["single_report_html"]()
    [near] = galleries(html)
    page = [c for c in image_captions(at) if c.startswith("#")]  # the neighbours' thumbnails
    assert [lines[0] for _, lines in near] == page and len(page) == 8
    assert all(lines[1].startswith("d = ") for _, lines in near)
    _, t = app_env["train"]
    assert all(int(lines[0].split(" · ")[1]) == t[int(lines[0][1:].split(" ")[0])] for _, lines in near)  # each its own label
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png, _ in near)
    assert not INTERACTION.search(visible_text(html)), INTERACTION.search(visible_text(html))


def test_every_text_a_report_takes_from_a_model_or_a_page_is_escaped():
    from ui.report import Draft
    evil = "<img src=x onerror=alert(1)> & </td></table>"
    d = Draft(title="t", intro="i")
    d.number(evil, evil)
    d.table([evil, "n"], [[evil, 1], ["plain", evil]])
    card = json.dumps({"title": evil, "provenance": evil}, indent=2, ensure_ascii=False)
    html = d.html(card_rows=[(evil, "`" + evil + "`")], card_json=card, lang="en", labels=None)
    assert "<img" not in html and "</td></table>" not in html and "onerror" in html  # there, but as text
    safe = htmllib.escape(evil, quote=False)
    assert f"<th>{safe}</th>" in html and f"<tr><td>{safe}</td><td>1</td></tr>" in html and f"<td>{safe}</td></tr>" in html
    assert f"<div class='number'>{safe}<b>{safe}</b></div>" in html
    assert f"<pre>{htmllib.escape(card)}</pre>" in html  # the card's JSON reads back as the JSON, character for character
    assert html.count(htmllib.escape('"title": "<img', quote=True)) == 1


def test_a_whole_report_reads_in_order_with_its_parts_in_their_places():
    """Every kind of part in one Draft, read back from the HTML with a parser: the order, the markup a browser needs."""
    from datetime import UTC, datetime
    from html.parser import HTMLParser

    import plotly.graph_objects as go

    from ui.images import png
    from ui.report import Draft

    d = Draft(title="Report <1>", intro="The **intro**.")
    d.number("Accuracy", "0.9352")
    d.text("Before any section.")
    d.section("First")
    d.chart(go.Figure(go.Bar(x=[1], y=[2])), how_to_read="Taller is more.", filename="first-chart")
    d.text("Click a bar to open it.")  # a sentence about clicking: dropped from a report
    d.table(["a", "b"], [[1, 2], [3, 4]])
    d.section("Second")
    d.chart(go.Figure(go.Bar(x=[3], y=[4])), how_to_read="Click the legend.", filename="second-chart")
    d.gallery([(png(np.zeros((28, 28), np.uint8)), "#7 ·  9\nd = 0.5")])
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    html = d.html(card_rows=[("Layers", "784 → 50")], card_json="{}", lang="en", labels=None)

    class Outline(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.text = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

        def handle_data(self, data):
            if data.strip():
                self.text.append(data.strip())

    o = Outline()
    o.feed(html)
    assert html.startswith("<!DOCTYPE html><html lang='en'>") and html.endswith("</body></html>")
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in o.tags
    heads = [t for t in o.text if t in ("Report <1>", "First", "Second", "Model card", "Full model card (JSON)")]
    assert heads == ["Report <1>", "Report <1>", "First", "Second", "Model card", "Full model card (JSON)"]  # title, h1, ...
    made = next(t for t in o.text if t.startswith("Made: "))
    stamp = datetime.strptime(made, "Made: %Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC)
    assert [a.get("class") for t, a in o.tags if t == "div" and a.get("class") in ("numbers", "number", "chart", "gallery")] == [
        "numbers", "number", "chart", "chart", "gallery"]
    at = {t: i for i, t in reversed(list(enumerate(o.text)))}  # the first place of each text
    assert at["Before any section."] < at["First"] < at["📖 Taller is more."] < at["Second"]
    assert "Click a bar" not in html and "Click the legend" not in html  # a report is read, not clicked
    assert [t for t in o.text if t in ("1", "2", "3", "4")] == ["1", "2", "3", "4"]  # the table, row by row
    assert html.count("plotly.js v") == 1  # plotly.js once, in the first chart only
    configs = [c for _, c in figures_in(html)]
    assert [c["toImageButtonOptions"]["filename"] for c in configs] == ["first-chart", "second-chart"]
    assert all(c["responsive"] is True for c in configs)
    [(tag, img)] = [(t, a) for t, a in o.tags if t == "img"]
    assert img["alt"] == "#7 · 9 d = 0.5"  # the caption on one line, runs of spaces as one
    assert "<figcaption>#7 ·  9<br>d = 0.5</figcaption>" in html
    assert "<li><b>Layers:</b> 784 → 50</li>" in html and "<p>The <b>intro</b>.</p>" in html
