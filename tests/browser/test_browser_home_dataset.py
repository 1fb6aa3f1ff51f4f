"""Home and dataset browser in Chromium on real MNIST: content shows, no exception box, no console error, a screenshot each."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import VIEWPORT, assert_clean, click_until, open_page, screenshot, shows, wait_idle, wait_until

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


def query_of(page):
    """The page URL's query as a flat dict."""
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def only_sevens(shown):
    """A full grid of sevens: every caption reads "#i · 7"."""
    return len(shown) == 24 and all(c.endswith("· 7") for c in shown)


def test_a_copied_dataset_url_reopens_the_same_view(browser, browser_context_args, app_url):
    first = browser.new_context(**browser_context_args)
    page = first.new_page()
    open_page(page, app_url, "/dataset", "One image, pixel by pixel")
    # Each step waits for the state its click must produce (grid and URL), not only for an idle app: an idle
    # moment before a click's run has started once let a later step act on the old grid.
    click_until(page, page.locator('[data-testid="stRadio"]').first.get_by_text("test", exact=True),
                lambda: query_of(page).get("split") == "test")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Digit").click()
    page.get_by_role("option", name="7", exact=True).click()
    assert wait_until(page, lambda: query_of(page).get("digit") == "7" and only_sevens(captions(page))), shows(page)
    page_one = captions(page)
    click_until(page, page.get_by_role("button", name="Page 2", exact=True),
                lambda: query_of(page).get("page") == "2" and captions(page) not in (page_one, []))
    grid = captions(page)
    index = grid[3].split(" ")[0].removeprefix("#")  # "#1234 · 7"
    click_until(page, page.get_by_role("button", name="Inspect").nth(3), lambda: query_of(page).get("index") == index)
    click_until(page, page.get_by_role("tab", name="📈 Pixel histogram"), lambda: query_of(page).get("tab") == "hist")
    url, query = page.url, query_of(page)
    assert {k: query.get(k) for k in ("split", "digit", "page", "tab", "index")} == {
        "split": "test", "digit": "7", "page": "2", "tab": "hist", "index": index}
    assert captions(page) == grid and only_sevens(grid) and grid != page_one
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
