"""The downloadable HTML reports of the single-image and evaluation pages: self-contained, the page's charts and
numbers, the model card and the explanations in the reader's language."""
import json
import re

import numpy as np

from tests import apptest_helpers
from tests.apptest_helpers import plotly_figures, run_page
from tests.conftest import ROOT
from ui.report import markdown

app_env = apptest_helpers.app_env  # fixture
JA = json.loads((ROOT / "i18n" / "ja.json").read_text(encoding="utf-8"))
PLOTLY_DIV = re.compile(r'<div id="([0-9a-f-]+)" class="plotly-graph-div"')


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
