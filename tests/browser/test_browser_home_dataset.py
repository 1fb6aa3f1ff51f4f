"""Home and dataset browser in Chromium on real MNIST: content shows, no exception box, no console error, a screenshot each."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import VIEWPORT, assert_clean, click_until, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]


def captions(page):
    return page.locator('[data-testid="stImageCaption"]').all_inner_texts()


def test_home_page(page, app_url, console_errors):
    open_page(page, app_url, "/", "The network in plain words")
    for text in ("Learned numbers per layer", "Parameters in total", "Active model", "60,000", "10,000", "Where to go next"):
        assert page.get_by_text(text).first.is_visible(), text
    assert page.locator("svg[role=img]:not(.network-view) circle").count() == 40  # the layer diagram, 10 circles per layer
    assert page.locator("svg.network-view").count() == 1 and page.locator('[data-answer="digit"]').count() == 1
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # home needs no plotly bundle
    assert page.get_by_role("link", name=re.compile("Dataset browser")).count() >= 1
    screenshot(page, "home")
    assert_clean(page, console_errors)


def test_dataset_page_shows_every_part(page, app_url, console_errors):
    open_page(page, app_url, "/dataset", "One image, pixel by pixel")
    shown = captions(page)
    assert len(shown) == 24 and "#0 · 5" in shown  # MNIST's first training image is the famous 5
    assert page.get_by_text("train #0: a 5, as 28 × 28 numbers").is_visible()
    assert page.get_by_text("Images per digit, training and test set").is_visible()
    screenshot(page, "dataset")
    tabs = {"🖼️ Mean and variance": "The average picture of each digit", "📈 Pixel histogram": "How often each pixel value",
            "🧭 PCA map": "3,000 train images on their two main directions", "🧪 load_mnist flags": "print(img.shape)"}
    for tab, text in tabs.items():
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(text).first.wait_for(timeout=60_000)
        wait_idle(page)
        screenshot(page, "dataset-" + tab.split(" ", 1)[1].lower().replace(" ", "-").replace("_", "-"))
    assert_clean(page, console_errors)


def test_a_copied_dataset_url_reopens_the_same_view(browser, browser_context_args, app_url):
    first = browser.new_context(**browser_context_args)
    page = first.new_page()
    open_page(page, app_url, "/dataset", "One image, pixel by pixel")
    page.locator('[data-testid="stRadio"]').first.get_by_text("test", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Digit").click()
    page.get_by_role("option", name="7", exact=True).click()
    wait_idle(page)
    page_one = captions(page)
    click_until(page, page.get_by_role("button", name="Page 2", exact=True), lambda: captions(page) != page_one)
    page.get_by_role("button", name="Inspect").nth(3).click()
    wait_idle(page)
    page.get_by_role("tab", name="📈 Pixel histogram").click()
    wait_idle(page)
    grid = captions(page)
    # the URL is written with the last delta of the run, which can trail the idle state on a busy machine
    for _ in range(40):
        url = page.url
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        if query.get("tab") == "hist" and f"#{query.get('index')} · 7" in grid:
            break
        page.wait_for_timeout(250)
    assert {k: query.get(k) for k in ("split", "digit", "page", "tab")} == {"split": "test", "digit": "7", "page": "2", "tab": "hist"}
    index = query["index"]
    assert all(c.endswith("· 7") for c in grid) and f"#{index} · 7" in grid
    first.close()

    second = browser.new_context(**browser_context_args)  # a new browser: no cookies, no session, only the link
    page = second.new_page()
    page.set_viewport_size(VIEWPORT)
    open_page(page, app_url, url.removeprefix(app_url), "One image, pixel by pixel")
    assert captions(page) == grid
    assert page.get_by_text(f"test #{index}: a 7, as 28 × 28 numbers").is_visible()
    assert page.get_by_text("How often each pixel value occurs (test set, digit 7)").is_visible()
    screenshot(page, "dataset-from-copied-url")
    second.close()
