"""The downloaded HTML reports open in Chromium with the network cut off: every chart draws with every label inside it,
every gallery of the page is there with its pictures, nothing says "click", no console error; in en, zh and ja."""
import json
import re

import pytest

from tests.browser.conftest import SCREENSHOTS, open_page
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
# what only a page you use says (tests/test_report.py keeps the same list for the AppTest reports)
INTERACTION = re.compile(r"click|hover|drag|\btap\b|\bpress|slider|mouse|interactive|点击|单击|悬停|鼠标|拖|滑块|交互|"
                         r"クリック|ホバー|マウス|ドラッグ|スライダー|タップ|押[しすせ]|操作", re.I)
# the page's gallery thumbnails (MNIST images are captioned #number), folded ones too
THUMB_CAPTIONS = """() => [...document.querySelectorAll('[data-testid="stImageCaption"]')].map(c => c.textContent.trim())
    .filter(c => c.startsWith('#'))"""
# every chart's tick labels and axis titles, as boxes; a label outside its .main-svg is cut off on paper and on screen
LABEL_BOXES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => {
    const svg = plot.querySelector('.main-svg').getBoundingClientRect();
    const boxes = sel => [...plot.querySelectorAll(sel)].map(e => {
        const r = e.getBoundingClientRect();
        return {text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
    }).filter(b => b.text.trim() && b.right > b.left);
    return {title: plot.layout.title.text || '', svg: {left: svg.left, right: svg.right, top: svg.top, bottom: svg.bottom},
            xticks: boxes('.xtick text'), yticks: boxes('.ytick text'),
            titles: boxes('[class*="g-x"][class*="title"] text, [class*="g-y"][class*="title"] text')};
})"""
GALLERY_IMAGES = """() => [...document.querySelectorAll('.gallery figure')].map(f => {
    const img = f.querySelector('img');
    return {caption: f.querySelector('figcaption').innerText.split('\\n')[0], loaded: img.complete && img.naturalWidth > 0,
            width: img.getBoundingClientRect().width};
})"""


def download_report(page, app_url, path, expect_text, lang, tmp_path):
    """Open path, press the page's Download report button and return the saved file."""
    open_page(page, app_url, path, expect_text)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=CATALOG[lang]["report.download"]).click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    return target


def open_offline(browser, browser_context_args, report):
    """A fresh browser context with no network at all; returns (page, console errors, blocked requests)."""
    context = browser.new_context(**browser_context_args)
    context.set_offline(True)
    blocked, errors = [], []

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    page.goto(report.as_uri())
    return page, errors, blocked


def inside(box, frame, slack=1):
    return (box["left"] >= frame["left"] - slack and box["right"] <= frame["right"] + slack and box["top"] >= frame["top"] - slack
            and box["bottom"] <= frame["bottom"] + slack)


def overlap(a, b):
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize(("lang", "path", "expect", "charts", "name"), [
    # the single-image page's last section is a tab: its name shows once the page is drawn (the report holds every tab)
    ("en", "/single?split=test&index=8", CATALOG["en"]["single.tab_near"], 9, r"mnist-single-MODEL-test-8\.html"),
    ("zh", "/single?split=test&index=8&lang=zh", CATALOG["zh"]["single.tab_near"], 9, r"mnist-single-MODEL-测试数据-8\.html"),
    ("ja", "/single?split=train&index=7899&lang=ja", CATALOG["ja"]["single.tab_near"], 9, r"mnist-single-MODEL-訓練-7899\.html"),
    ("en", "/evaluate", "The 24 most confident mistakes", 4, r"mnist-evaluation-MODEL-test\.html"),
    ("zh", "/evaluate?lang=zh&cell=7-2", "最自信的 24 个错误", 4, r"mnist-evaluation-MODEL-test\.html"),
    ("ja", "/evaluate?lang=ja", "最も自信のあった誤り 24 件", 4, r"mnist-evaluation-MODEL-test\.html"),
])
def test_a_report_works_offline(page, app_url, browser, browser_context_args, tmp_path, lang, path, expect, charts, name):
    report = download_report(page, app_url, path, expect, lang, tmp_path)
    page_thumbs = page.evaluate(THUMB_CAPTIONS)
    assert re.fullmatch(name.replace("MODEL", r"[a-z0-9_.]+"), report.name), report.name  # the split's own word, not "--"
    assert report.suffix == ".html" and report.stat().st_size > 3_000_000  # plotly.js (about 4.7 MB) is inside
    offline, errors, blocked = open_offline(browser, browser_context_args, report)
    offline.wait_for_function(f"document.querySelectorAll('.plot-container .main-svg').length >= {charts}", timeout=30_000)
    assert offline.locator(".plot-container").count() == charts
    files = offline.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(g => g._context.toImageButtonOptions.filename)")
    assert len(files) == charts and len(set(files)) == charts and all(files)  # the camera button saves each chart under its own name
    assert offline.locator("h1").inner_text().startswith("MNIST")
    body = offline.locator("body").inner_text()
    assert CATALOG[lang]["report.card"] in body
    assert not INTERACTION.search(body), INTERACTION.search(body)

    plots = offline.evaluate(LABEL_BOXES)
    for plot in plots:
        labels = plot["xticks"] + plot["yticks"] + plot["titles"]
        cut = [b["text"] for b in labels if not inside(b, plot["svg"])]
        assert cut == [], (plot["title"], cut)  # every tick label and axis title inside the figure
        on_ticks = [(t["text"], k["text"]) for t in plot["titles"] for k in plot["xticks"] + plot["yticks"] if overlap(t, k)]
        assert on_ticks == [], (plot["title"], on_ticks)  # no axis title written over its tick labels
    if "evaluate" in path:  # the confusion matrix keeps its column digits and its row digits
        matrix = plots[0]
        assert [b["text"] for b in matrix["xticks"]] == [str(d) for d in range(10)] == sorted(b["text"] for b in matrix["yticks"])

    thumbs = offline.evaluate(GALLERY_IMAGES)
    assert [th["caption"] for th in thumbs] == page_thumbs and len(thumbs) >= (8 if "single" in path else 24 + 1)
    assert all(th["loaded"] and th["width"] > 40 for th in thumbs)  # each picture decoded from the file itself
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=str(SCREENSHOTS / f"report-{lang}-{path.split('?')[0].strip('/')}.png"), full_page=True)
    assert errors == [] and blocked == []
    offline.context.close()
