"""The evaluation page in Chromium on real MNIST and the book's weights: 0.9352 and the matrix on the first screen of a
1440 × 900 window, a clicked matrix cell opens its gallery beside it, each tab draws."""
import re

import pytest

from tests.browser.conftest import assert_clean, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

CAPTION = '[data-testid="stImageCaption"]'
FIRST_SCREEN = {"width": 1440, "height": 900}  # a laptop: the answer (accuracy, matrix) must not need scrolling


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
    assert n == 24  # the book's net reads 24 sevens as 2: two pages of twelve beside the matrix
    assert len(page.locator(CAPTION).all_inner_texts()) == 12 + 24  # the cell's first page, then the 24 most confident mistakes
    assert "cell=7-2" in page.evaluate("window.location.href")  # the selected cell is in the address bar
    screenshot(page, "evaluate-cell-7-2")
    assert_clean(page, console_errors)


def inside(page, locator):
    """True when the element is drawn whole inside the window as it is now (Streamlit scrolls its own container)."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["x"] >= 0 and box["y"] + box["height"] <= size["height"] \
        and box["x"] + box["width"] <= size["width"]


def test_the_answer_and_a_clicked_cell_fit_the_first_screen(page, app_url, console_errors, book_weights):
    page.set_viewport_size(FIRST_SCREEN)
    open_page(page, app_url, "/evaluate?model=book", "Per digit: precision, recall")
    accuracy = page.locator('[data-testid="stMetric"]').filter(has_text="Accuracy")
    assert accuracy.locator('[data-testid="stMetricValue"]').inner_text() == "0.9352" and inside(page, accuracy)
    matrix = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="Confusion matrix")
    assert inside(page, matrix)  # the whole matrix, axis titles included, without scrolling
    card = page.locator('[data-testid="stExpander"]').filter(has_text="About the model: book (the book's weights)")
    assert card.bounding_box()["y"] > matrix.bounding_box()["y"] + matrix.bounding_box()["height"]  # folded, below
    screenshot(page, "evaluate-first-screen")
    box = matrix_marker(page, 3, 5).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    heading = page.get_by_role("heading", name=re.compile(r"^True 3, predicted 5: "))
    heading.wait_for(timeout=30_000)
    wait_idle(page)
    page.wait_for_timeout(300)
    first = page.locator('[data-testid="stImage"]').filter(has=page.locator(CAPTION, has_text="sure")).first
    assert inside(page, heading) and inside(page, first)  # the cell's images appear beside the matrix, on the same screen
    assert inside(page, matrix)  # nothing scrolled away
    assert re.fullmatch(r"#\d+ · \d+\.\d\d% sure · loss \d+\.\d\d", first.locator(CAPTION).inner_text())
    screenshot(page, "evaluate-first-screen-cell-3-5")
    assert_clean(page, console_errors)


def test_the_picker_and_the_other_tabs(page, app_url, console_errors, book_weights):
    open_page(page, app_url, "/evaluate?model=book&cell=3-5&norm=rates", "True 3, predicted 5")
    assert page.get_by_text("%").first.is_visible()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Predicted as").click()
    page.get_by_role("option", name="3", exact=True).click()
    page.get_by_role("heading", name=re.compile(r"^True 3, predicted 3 \(right\): ")).wait_for(timeout=30_000)
    wait_idle(page)
    assert cell_count(page) > 900  # most 3s are right, and the gallery pages through them 24 at a time
    assert len(page.locator(CAPTION).all_inner_texts()) == 12 + 24
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
