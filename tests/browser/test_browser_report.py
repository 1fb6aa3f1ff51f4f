"""The downloaded HTML reports open in Chromium with the network cut off: every chart draws, no console error."""
import json

import pytest

from tests.browser.conftest import SCREENSHOTS, open_page
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}


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


@pytest.mark.parametrize(("lang", "path", "expect", "charts"), [
    ("zh", "/single?split=test&index=8&lang=zh", "5. 最相似的训练图像", 9),
    ("ja", "/evaluate?lang=ja", "数字ごと：適合率、再現率、最も多い取り違え", 4),
])
def test_a_report_works_offline(page, app_url, browser, browser_context_args, tmp_path, lang, path, expect, charts):
    report = download_report(page, app_url, path, expect, lang, tmp_path)
    assert report.suffix == ".html" and report.stat().st_size > 3_000_000  # plotly.js (about 4.7 MB) is inside
    offline, errors, blocked = open_offline(browser, browser_context_args, report)
    offline.wait_for_function(f"document.querySelectorAll('.plot-container .main-svg').length >= {charts}", timeout=30_000)
    assert offline.locator(".plot-container").count() == charts
    files = offline.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(g => g._context.toImageButtonOptions.filename)")
    assert len(files) == charts and len(set(files)) == charts and all(files)  # the camera button saves each chart under its own name
    assert offline.locator("h1").inner_text().startswith("MNIST")
    body = offline.locator("body").inner_text()
    assert CATALOG[lang]["report.card"] in body
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    offline.screenshot(path=str(SCREENSHOTS / f"report-{lang}-{path.split('?')[0].strip('/')}.png"), full_page=True)
    assert errors == [] and blocked == []
    offline.context.close()
