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
    c = {k: htmllib.escape(CATALOG[lang][k]) for k in ("report.made", "report.card", "card.json", "card.model")}
    assert f"<p class='meta'>{c['report.made']}: " in html and f"<h2>{c['report.card']}</h2><ul><li><b>{c['card.model']}:</b>" in html
    assert f"<summary>{c['card.json']}</summary>" in html  # the report's own words are the reader's language too
    button = next(b.proto for b in at.get("download_button") if b.proto.id.endswith("-ev_report"))
    assert (button.label, button.help) == (CATALOG[lang]["report.download"], CATALOG[lang]["report.download_help"])


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


EN = CATALOG["en"]
SORT_KEYS = {"conf_desc": lambda conf, loss: -conf, "conf_asc": lambda conf, loss: conf,
             "loss_desc": lambda conf, loss: -loss, "loss_asc": lambda conf, loss: loss}


def template_net(app_env):
    """Save models/templates.npz, a 784-16-10 ReLU net mostly right and with spread-out confidence, and return its
    (probabilities (n, 10), labels (n,)) on the test set, computed with NumPy alone.

    Ten hidden units hold the training set's class means (a nearest-mean classifier), six random ones spread the
    confidence; the second layer sends 7 to 8, 8 to 9 and 9 to 7, so over a third of the answers are wrong. (The fixture's
    random nets are wrong about 90 % of the time: their surest mistakes are nearly their surest answers.)"""
    import os
    from pathlib import Path

    from engine.model import MLP
    from engine.modelfile import save_model
    from engine.preprocess import Preprocess

    x, t = app_env["train"]
    pixels = x.reshape(len(x), -1) / 255
    means = np.stack([pixels[t == k].mean(axis=0) for k in range(10)])  # (10, 784)
    rng = np.random.default_rng(27)  # a seed whose net also has a cell of one image
    to = np.array([0, 1, 2, 3, 4, 5, 6, 8, 9, 7])  # hidden unit k votes for digit to[k]
    w2 = np.zeros((16, 10))
    w2[np.arange(10), to] = 0.1
    w2[10:] = rng.normal(0, 1.5, (6, 10))
    b2 = np.zeros(10)
    b2[to] = -0.05 * (means ** 2).sum(axis=1)  # x·m - |m|²/2: the nearest mean wins
    params = {k: v.astype(np.float32) for k, v in
              {"W1": np.hstack([means.T, rng.normal(0, 0.1, (784, 6))]), "b1": np.zeros(16), "W2": w2, "b2": b2}.items()}
    model = MLP(params, activation="relu", preprocess=Preprocess("unit"), card={"title": "Class templates"})
    save_model(model, Path(os.environ["MNIST_EXPLORER_MODELS"]) / "templates.npz")
    x, t = app_env["test"]
    p = {k: v.astype(np.float64) for k, v in params.items()}
    h = np.maximum(x.reshape(len(x), -1) / 255 @ p["W1"] + p["b1"], 0)
    z = h @ p["W2"] + p["b2"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), t.astype(int)


FIELDS = {"i": r"#?(?P<i>\d+)", "true": r"(?P<true>\d)", "pred": r"(?P<pred>\d)", "conf": r"(?P<conf>\d+\.\d\d)%",
          "loss": r"(?P<loss>\d+\.\d\d)"}


def read_caption(key, caption):
    """The fields of a caption written from catalog text key, with two decimals exactly where the page writes two."""
    pattern = re.escape(EN[key])
    for name, rx in FIELDS.items():
        pattern = pattern.replace(re.escape("{" + name + "}"), rx)
    m = re.fullmatch(pattern, caption)
    assert m, (key, caption)
    return {k: float(v) if "." in v else int(v) for k, v in m.groupdict().items()}


def assert_captions(key, captions, expected):
    """Captions read as expected [{field: value}]: whole numbers exactly, conf (0-1) and loss to their 2 decimals (the page
    rounds float32 numbers, this test float64 ones, so a value on a rounding boundary may round either way)."""
    assert len(captions) == len(expected)
    for caption, want in zip(captions, expected, strict=True):
        got = read_caption(key, caption)
        assert set(got) == set(want), caption
        for k, v in want.items():
            if k == "conf":
                assert got[k] == pytest.approx(100 * v, abs=0.0051), caption
            elif k == "loss":
                assert got[k] == pytest.approx(v, abs=0.0051), caption
            else:
                assert got[k] == v, caption


def cell_shown(proba, t, true, pred, sort, page=1):
    """(heading, [{i, conf, loss}] of page `page`, 12 a page) of cell (true, pred) in one of the page's orders, with NumPy."""
    guess, conf = proba.argmax(axis=1), proba.max(axis=1)
    loss = -np.log(proba[np.arange(len(t)), t])
    idx = np.flatnonzero((t == true) & (guess == pred))
    if sort != "index":
        key = SORT_KEYS[sort](conf, loss)[idx]
        assert len(idx) < 2 or np.diff(np.sort(key)).min() > 1e-4  # no near ties: float32 could not reorder them
        idx = idx[np.argsort(key, kind="stable")]
    head = EN["evaluate.cell_head_right" if true == pred else "evaluate.cell_head"].format(true=true, pred=pred, n=len(idx))
    return head, [{"i": i, "conf": conf[i], "loss": loss[i]} for i in idx[12 * (page - 1):12 * page]]


def assert_cell(html, expected):
    """The report's cell section is expected, a (heading, [{i, conf, loss}]) of cell_shown."""
    head, captions = report_cell(html)
    assert head == expected[0]
    assert_captions("evaluate.cell_caption", captions, expected[1])


def report_cell(html):
    """(heading, captions) of the report's cell gallery: the section just before the first gallery."""
    head = re.search(r"<h2>([^<]*)</h2><div class='gallery'>", html)[1]
    return htmllib.unescape(head), [c for _, (c,) in galleries(html)[0]]


def test_the_evaluation_reports_mistakes_are_the_surest_wrong_answers_of_a_mostly_right_net(app_env):
    proba, t = template_net(app_env)
    pred, conf = proba.argmax(axis=1), proba.max(axis=1)
    wrong = np.flatnonzero(pred != t)
    surest = wrong[np.argsort(-conf[wrong], kind="stable")][:24]
    assert (pred == t).mean() > 0.6 and len(wrong) > 24  # k = 24 of more mistakes than that
    assert (pred == t)[np.argsort(-conf)[:24]].sum() >= 5  # its surest answers are not its surest mistakes
    assert np.diff(np.sort(conf[wrong])).min() > 1e-5 and conf.max() < 0.9999  # no near ties, no '> 99.99%'
    at = run_page("evaluate", query={"model": "templates"})
    html = at.session_state["ev_report_html"]()
    captions = [c for _, (c,) in galleries(html)[-1]]
    assert_captions("evaluate.mistake_caption", captions, [{"i": i, "true": t[i], "pred": pred[i], "conf": conf[i]} for i in surest])
    assert not {read_caption("evaluate.mistake_caption", c)["i"] for c in captions} & set(np.flatnonzero(pred == t))  # none right
    assert [r[0] for r in table_rows(html, "Image")] == [f"#{i}" for i in surest]
    head = EN["evaluate.mistakes_head"].format(k=24, wrong=len(wrong))
    assert f"<h2>{htmllib.escape(head)}</h2>" in html


def test_the_evaluation_report_follows_a_linked_cell_and_order_then_the_widgets_then_a_new_link(app_env):
    proba, t = template_net(app_env)
    assert (proba.argmax(axis=1) == t).mean() > 0.6
    # a link to a right cell of 14 images (two pages), not the most common mistake the page opens on, worst loss first
    at = run_page("evaluate", query={"model": "templates", "cell": "4-4", "sort": "loss_desc"})
    expected = cell_shown(proba, t, 4, 4, "loss_desc")
    assert_cell(at.session_state["ev_report_html"](), expected)
    assert len(expected[1]) == 12 and expected[1][0]["i"] != cell_shown(proba, t, 4, 4, "conf_desc")[1][0]["i"]  # not the default order
    # the visitor then picks another order: the widget, not the link, decides
    at.selectbox(key="ev_sort").select("index").run()
    assert_cell(at.session_state["ev_report_html"](), cell_shown(proba, t, 4, 4, "index"))
    # a new link in the same session: the link, not the widgets, decides
    at.query_params.update({"cell": "8-9", "sort": "conf_asc"})
    at.run()
    assert_cell(at.session_state["ev_report_html"](), cell_shown(proba, t, 8, 9, "conf_asc"))
    # a link with no order: the page's default, surest first (not the images' own order)
    at = run_page("evaluate", query={"model": "templates", "cell": "9-7"})
    expected = cell_shown(proba, t, 9, 7, "conf_desc")
    assert_cell(at.session_state["ev_report_html"](), expected)
    assert [c["i"] for c in expected[1]] != [c["i"] for c in cell_shown(proba, t, 9, 7, "index")[1]]


def test_every_heading_and_number_label_of_the_evaluation_report_is_the_catalogs(app_env):
    proba, t = template_net(app_env)
    right = int((proba.argmax(axis=1) == t).sum())
    html = run_page("evaluate", query={"model": "templates"}).session_state["ev_report_html"]()
    title = EN["evaluate.report_title"].format(split=EN["evaluate.split_test"])
    assert f"<title>{htmllib.escape(title)}</title>" in html and f"<h1>{htmllib.escape(title)}</h1>" in html
    assert EN["evaluate.report_intro"].split(". ")[0] in html  # the intro's first sentence, under the title
    heads = [htmllib.unescape(h) for h in re.findall(r"<h2>([^<]*)</h2>", html)]
    cell = EN["evaluate.cell_head"].format(true=7, pred=8, n=int(((t == 7) & (proba.argmax(axis=1) == 8)).sum()))
    mistakes = EN["evaluate.mistakes_head"].format(k=24, wrong=len(t) - right)
    assert heads[:5] == [EN["evaluate.matrix_head"], cell, EN["evaluate.table_head"], mistakes, EN["evaluate.cal_head"]]
    boxes = number_boxes(html)
    assert boxes[EN["evaluate.right_of"].format(n=f"{len(t):,}")] == f"{right:,}"
    for key in ("accuracy", "mean_loss", "ece", "mean_conf"):
        assert EN[f"evaluate.{key}"] in boxes, key
    plain = " ".join(visible_text(html).split())  # the reader's words, without markup or line breaks
    for key in ("cm_words", "cm_read", "table_read", "mistakes_words", "cal_words"):
        assert " ".join(EN[f"evaluate.{key}"].replace("*", "").split(". ")[0].split()) in plain, key  # each text's first sentence
    matrix, config = figures_in(html)[0]
    axes = [matrix["layout"][k]["title"]["text"] for k in ("xaxis", "yaxis")]
    assert axes == [EN["evaluate.cm_x"], EN["evaluate.cm_y"]]
    assert f"📖 {htmllib.escape(EN['evaluate.cm_read'].split('. ')[0], quote=False)}." in html
    assert config["toImageButtonOptions"]["filename"] == "confusion-templates-test"


def test_the_evaluation_report_shows_a_linked_cell_of_one_image_and_says_when_one_is_empty(app_env):
    proba, t = template_net(app_env)
    pred = proba.argmax(axis=1)
    assert ((t == 3) & (pred == 4)).sum() == 1 and not ((t == 0) & (pred == 5)).any()  # the two cells this test links to
    at = run_page("evaluate", query={"model": "templates", "cell": "3-4"})
    assert_cell(at.session_state["ev_report_html"](), cell_shown(proba, t, 3, 4, "conf_desc"))
    at.query_params.update({"cell": "0-5"})
    at.run()
    html = at.session_state["ev_report_html"]()
    head, empty = EN["evaluate.cell_head"].format(true=0, pred=5, n=0), EN["evaluate.cell_empty"].format(true=0, pred=5)
    assert f"<h2>{htmllib.escape(head)}</h2><p>{htmllib.escape(empty)}</p>" in html
    assert len(galleries(html)) == 1  # the mistakes' gallery only


def test_the_evaluation_report_shows_the_page_of_a_cell_the_visitor_turned_to(app_env):
    proba, t = template_net(app_env)
    at = run_page("evaluate", query={"model": "templates", "cell": "4-4", "sort": "loss_desc"})
    [pager] = at.get("pagination")
    pager.set_value(2).run()
    expected = cell_shown(proba, t, 4, 4, "loss_desc", page=2)
    assert_cell(at.session_state["ev_report_html"](), expected)
    assert len(expected[1]) == 2  # images 13 and 14


def report_threshold(at):
    """The coverage threshold of the report's last chart, in percent, checked against its how-to-read words."""
    html = at.session_state["ev_report_html"]()
    x0 = figures_in(html)[-1][0]["layout"]["shapes"][0]["x0"]
    assert EN["evaluate.cov_read_report"].format(t=f"{round(x0 * 100)}%") in html
    return round(x0 * 100)


def test_the_evaluation_reports_threshold_follows_a_link_then_the_slider_then_a_new_link(app_env):
    at = run_page("evaluate", query={"tab": "calibration", "t": 75})
    assert report_threshold(at) == 75
    at.slider(key="ev_t").set_value(60).run()
    assert report_threshold(at) == 60  # the slider, not the link it came from
    at.query_params.update({"t": "40"})
    at.run()
    assert report_threshold(at) == 40 == at.slider(key="ev_t").value  # a new link wins over the slider


@pytest.mark.parametrize(("t", "shown"), [("0", 0), ("100", 100), ("101", 90), ("-1", 90)])
def test_the_evaluation_reports_threshold_from_a_link_is_a_percent_from_0_to_100_else_90(app_env, t, shown):
    assert report_threshold(run_page("evaluate", query={"t": t})) == shown


class _FixedModel:
    """A stand-in model whose predict_proba returns fixed probabilities (n, 10), whatever the pixels."""

    def __init__(self, proba):
        self.proba = proba

    def predict_proba(self, x, *, batch_size):
        return self.proba


def test_the_evaluation_draft_puts_each_word_number_and_file_name_in_its_place():
    from engine.evaluation import evaluate
    from ui.evaluate import report
    from ui.stats import percent
    rng = np.random.default_rng(21)
    n = 300
    t = rng.integers(0, 10, n)
    logits = rng.normal(0, 1, (n, 10)) * rng.uniform(0.5, 6, (n, 1))
    logits[np.arange(n), t] += 2.0  # mostly right, confidences spread over many bins
    proba = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)).astype(np.float32)
    ev = evaluate(_FixedModel(proba), np.zeros((n, 784), np.uint8), t)
    w = {k: f"«{k}»" for k in (*report.KEYS, "title", "intro", "cm_title", "mistakes_head")}
    w["cov_read_report"] = "«cov_read_report {t}»"
    source_idx = np.arange(n) + 5000  # the images' numbers in their split, not their rows here
    cell = ("«cell head»", [(b"png-a", "a"), (b"png-b", "b")])
    mistakes = [(b"png-m", "m")]
    d = report.draft(ev, w=w, model_id="m1", which="test", source_idx=source_idx,
                     galleries={"mistakes": mistakes, "cell": cell}, threshold=75)

    pred, conf = proba.argmax(1), proba.max(1)
    right = pred == t
    bins = np.clip(np.ceil(conf.astype(np.float64) * 10).astype(int) - 1, 0, 9)  # (0, 0.1], (0.1, 0.2], ...
    ece = sum(abs(right[bins == b].mean() - conf[bins == b].mean()) * (bins == b).sum() for b in range(10) if (bins == b).any()) / n
    assert (d.title, d.intro) == ("«title»", "«intro»")
    assert d.numbers == {"«accuracy»": f"{right.mean():.4f}", "«right_of»": f"{right.sum():,}",
                         "«mean_loss»": f"{-np.log(proba[np.arange(n), t] + 1e-7).mean():.3f}",
                         "«ece»": f"{ece:.4f}", "«mean_conf»": percent(conf.mean())}
    assert [s.heading for s in d.sections] == ["«matrix_head»", "«cell head»", "«table_head»", "«mistakes_head»", "«cal_head»"]
    parts = [p for s in d.sections for p in s.parts]
    assert [p[1] for p in parts if p[0] == "text"] == ["«cm_words»", "«table_read»", "«mistakes_words»", "«cal_words»", "**«cov_head»**"]
    assert [p[1] for p in parts if p[0] == "gallery"] == [cell[1], mistakes]

    charts = [p[1:] for p in parts if p[0] == "chart"]
    assert [(f.layout.title.text, f.layout.xaxis.title.text, f.layout.yaxis.title.text, read, name) for f, read, name in charts] == [
        ("«cm_title»", "«cm_x»", "«cm_y»", "«cm_read»", "confusion-m1-test"),
        ("«rel_title»", "«conf_axis»", "«rel_y»", "«rel_read»", "reliability-m1-test"),
        ("«hist_title»", "«conf_axis»", "«hist_y»", "«hist_read»", "confidence-m1-test"),
        ("«cov_title»", "«cov_x»", "«cov_y»", "«cov_read_report 75%»", "coverage-m1-test")]
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (t, pred), 1)
    assert [charts[0][0].data[0].text[i][i] for i in range(10)] == [f"{cm[i, i]:,}" for i in range(10)]  # counts, not rates
    names = [[tr.name for tr in f.data] for f, _, _ in charts[1:]]
    assert names[0] == ["«rel_bars»", "«rel_diag»"] and names[2] == ["«acc_answered»", "«coverage»"]
    assert [s.split(" (")[0] for s in names[1]] == ["«right_answers»", "«wrong_answers»"]
    assert charts[3][0].layout.shapes[0].x0 == 0.75  # the threshold line at t

    (head, rows), (mhead, mrows) = [p[1:] for p in parts if p[0] == "table"]
    assert head == ["«col_digit»", "«col_precision»", "«col_recall»", "F1", "«col_support»", "«col_confused»", "«col_confused_n»"]
    for d_, row in enumerate(rows):
        p_, r_ = cm[d_, d_] / cm[:, d_].sum(), cm[d_, d_] / cm[d_].sum()
        assert row[:5] == [d_, f"{p_:.3f}", f"{r_:.3f}", f"{2 * p_ * r_ / (p_ + r_):.3f}", cm[d_].sum()]
        off = np.where(np.arange(10) == d_, -1, cm[d_])
        assert row[5:] == ([int(off.argmax()), int(off.max())] if off.max() > 0 else ["", ""])
    assert mhead == ["«mistake_col_image»", "«mistake_col_true»", "«mistake_col_pred»", "«mistake_col_conf»"]
    wrong = np.flatnonzero(~right)
    surest = wrong[np.argsort(-conf[wrong], kind="stable")][:report.MISTAKES]
    assert mrows == [[f"#{i + 5000}", int(t[i]), int(pred[i]), percent(conf[i])] for i in surest]

    empty = report.draft(ev, w=w, model_id="m1", which="test", source_idx=source_idx,
                         galleries={"mistakes": [], "cell": ("«empty head»", "«no images here»")}, threshold=90)
    assert empty.sections[1].heading == "«empty head»" and empty.sections[1].parts == [("text", "«no images here»")]
    bare = report.draft(ev, w=w, model_id="m1", which="test", source_idx=source_idx)  # no galleries: no cell section
    assert [s.heading for s in bare.sections] == ["«matrix_head»", "«table_head»", "«mistakes_head»", "«cal_head»"]


def test_the_evaluation_reports_file_name_and_image_numbers_follow_the_model_and_the_split(app_env, monkeypatch):
    import streamlit

    from engine.train import split
    from tests.apptest_helpers import random_model
    names, real = [], streamlit.download_button

    def recording(*args, **kwargs):
        names.append(kwargs.get("file_name"))
        return real(*args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", recording)  # AppTest runs the page in this process
    at = run_page("evaluate", query={"model": "default"})
    assert "mnist-evaluation-default-test.html" in names
    model = random_model([784, 16, 10], seed=4, title="Held out")
    model.card["training"] = {"val_size": 200, "seed": 2}
    at.session_state["models_session"] = {"held": model}
    at.run()
    at.selectbox(key="model_pick").select("session:held").run()
    names.clear()
    at.radio(key="ev_split").set_value("val").run()
    assert [n for n in names if n.startswith("mnist-evaluation-")] == ["mnist-evaluation-session-held-val.html"]
    _, t = app_env["train"]
    held = set(split(len(t), val_size=200, seed=2)[1].tolist())  # the validation images, numbered in the training set
    rows = table_rows(at.session_state["ev_report_html"](), "Image")
    assert rows and all(int(i[1:]) in held and int(true) == t[int(i[1:])] != int(pred) for i, true, pred, _ in rows)
