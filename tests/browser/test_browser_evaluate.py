"""The evaluation page in Chromium on real MNIST and the book's weights: 0.9352, a clicked matrix cell opens its gallery, each tab draws."""
import re

import pytest

from tests.browser.conftest import assert_clean, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

CAPTION = '[data-testid="stImageCaption"]'


def matrix_marker(page, true, pred):
    """The transparent square marker of cell [true, pred]: point true * 10 + pred of the matrix's scatter trace."""
    chart = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="Confusion matrix")
    return chart.locator(".scatterlayer .trace.scatter path.point").nth(true * 10 + pred)


def cell_count(page):
    """The image count in the cell gallery's heading."""
    head = page.get_by_role("heading", name=re.compile(r"^True \d, predicted \d")).inner_text()
    return int(re.search(r"([\d,]+) images", head)[1].replace(",", ""))


def test_clicking_a_matrix_cell_opens_exactly_its_images(page, app_url, console_errors, book_weights):
    open_page(page, app_url, "/evaluate?model=book", "Per digit: precision, recall")
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "0.9352"  # the book's printed Accuracy
    screenshot(page, "evaluate")
    assert page.get_by_role("heading", name=re.compile(r"^True 4, predicted 9: ")).is_visible()  # the commonest confusion first
    box = matrix_marker(page, 7, 2).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name=re.compile(r"^True 7, predicted 2: ")).wait_for(timeout=30_000)
    wait_idle(page)
    n = cell_count(page)
    assert 0 < n <= 24  # a mistake cell of the book's net fits on one gallery page
    assert len(page.locator(CAPTION).all_inner_texts()) == n + 24  # the cell's gallery, then the 24 most confident mistakes
    assert "cell=7-2" in page.evaluate("window.location.href")  # the selected cell is in the address bar
    screenshot(page, "evaluate-cell-7-2")
    assert_clean(page, console_errors)


def test_the_picker_and_the_other_tabs(page, app_url, console_errors, book_weights):
    open_page(page, app_url, "/evaluate?model=book&cell=3-5&norm=rates", "True 3, predicted 5")
    assert page.get_by_text("%").first.is_visible()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Predicted as").click()
    page.get_by_role("option", name="3", exact=True).click()
    page.get_by_role("heading", name=re.compile(r"^True 3, predicted 3 \(right\): ")).wait_for(timeout=30_000)
    wait_idle(page)
    assert cell_count(page) > 900  # most 3s are right, and the gallery pages through them 24 at a time
    assert len(page.locator(CAPTION).all_inner_texts()) == 24 + 24
    assert "cell=3-3" in page.evaluate("window.location.href")
    for tab, text, name in (("🎯 Confidence and calibration", "Reliability: accuracy", "evaluate-calibration"),
                            ("⚖️ Compare models", "Where they disagree", "evaluate-compare"),
                            ("⏱️ Runtime vs batch size", "Batch sizes to time", "evaluate-runtime")):
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(text).first.wait_for(timeout=60_000)
        wait_idle(page)
        screenshot(page, name)
    assert page.get_by_text("Not measured yet").is_visible()
    page.get_by_role("button", name=re.compile("Measure")).click()  # the full sweep over 10,000 images: a few seconds
    page.get_by_text(re.compile(r"The book's one-image loop: [\d,]+ images/s")).wait_for(timeout=120_000)
    wait_idle(page, timeout=120_000)
    page.wait_for_timeout(300)
    legend = page.locator('[data-testid="stPlotlyChart"] .legendtext').all_text_contents()
    assert "book's one-image loop" in legend and "this machine's matmul limit" in legend
    screenshot(page, "evaluate-runtime-measured")
    assert_clean(page, console_errors)
