"""Answer first, in Chromium at 1440 × 900 on real MNIST: the answer is on the first screen of /single (an MNIST image,
a drawing, an uploaded photo) and of /, and drawing a digit updates the answer card without reloading the page."""
import re

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from engine.data import load_raw
from tests.browser.conftest import assert_clean, open_page, screenshot, shows, wait_idle
from tests.browser.test_browser_single import INK, draw, uploader
from tests.photos import render_photo

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

SCREEN = {"width": 1440, "height": 900}  # a laptop's first screen: what a reader sees before scrolling


def assert_on_first_screen(page):
    """The answer card's digit and its probability lie wholly inside the 1440 × 900 viewport; returns (digit, probability)."""
    for part in ("digit", "probability"):
        box = page.locator(f'[data-answer="{part}"]').bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= SCREEN["height"], (part, box)
        assert box["x"] + box["width"] <= SCREEN["width"], (part, box)
    digit, proba = (page.locator(f'[data-answer="{part}"]').inner_text() for part in ("digit", "probability"))
    assert digit in "0123456789" and len(digit) == 1 and proba.endswith("%")
    return digit, proba


def wait_for_answer(page, digit=None):
    """Wait until the card shows an answer (digit, if given) and the run has settled."""
    card = page.locator('[data-answer="digit"]')
    try:
        card.wait_for(timeout=60_000)
    except PlaywrightTimeout:  # say what the page showed instead, so that a failure on CI can be read from its log
        ink = page.locator("canvas.upper-canvas").evaluate(INK) if page.locator("canvas.upper-canvas").count() else None
        raise AssertionError(f"no answer card after 60 s; canvas ink {ink}; {shows(page)}") from None
    if digit is not None:
        page.wait_for_function(f"""() => document.querySelector('[data-answer="digit"]')?.innerText === '{digit}'""",
                               timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(300)


def test_single_mnist_image_answers_on_the_first_screen(page, app_url, console_errors, mnist_dir):
    t = load_raw(mnist_dir)["test_label"]
    page.set_viewport_size(SCREEN)
    open_page(page, app_url, "/single?split=test&index=8&model=default", "The network's answer")
    digit, _ = assert_on_first_screen(page)
    verdict = page.locator('[data-answer="verdict"]').inner_text()
    assert verdict == (f"✓ right: the true label is {t[8]}" if digit == str(t[8]) else f"✗ model says {digit}, true {t[8]}")
    assert page.locator("svg.network-view").bounding_box()["y"] < SCREEN["height"]  # the network starts on this screen too
    screenshot(page, "answer-first-single")
    assert_clean(page, console_errors)


def test_drawing_updates_the_card_without_a_reload(page, app_url, console_errors):
    page.set_viewport_size(SCREEN)
    open_page(page, app_url, "/single?input=draw&model=default", "Draw a digit on the black canvas")
    page.evaluate("window.__same_page = 'still here'")  # a reload or a navigation would drop this
    draw(page, [(80, 60), (200, 60), (130, 230)])  # a 7
    wait_for_answer(page, "7")
    assert_on_first_screen(page)
    screenshot(page, "answer-first-drawn")
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=60_000)
    assert page.locator('[data-answer="digit"]').count() == 0  # an empty canvas: no answer
    wait_idle(page)
    draw(page, [(140, 40), (140, 250)])  # a 1: one long vertical stroke
    wait_for_answer(page, "1")
    assert_on_first_screen(page)
    assert page.evaluate("window.__same_page") == "still here"
    assert_clean(page, console_errors)


def test_an_uploaded_photo_answers_on_the_first_screen(page, app_url, console_errors, mnist_dir, tmp_path):
    x, t = (load_raw(mnist_dir)[k] for k in ("test_img", "test_label"))
    photo = tmp_path / "digit-on-paper.jpg"
    photo.write_bytes(render_photo(x[0], rng=np.random.default_rng(5), side=900, fmt="JPEG"))
    page.set_viewport_size(SCREEN)
    open_page(page, app_url, "/single?input=upload&model=default", "Upload a picture of one digit")
    uploader(page).set_input_files(str(photo))
    wait_for_answer(page)
    assert assert_on_first_screen(page)[0] == str(t[0])
    screenshot(page, "answer-first-photo")
    assert_clean(page, console_errors)


def test_home_shows_a_digit_the_network_and_the_answer_on_the_first_screen(page, app_url, console_errors):
    page.set_viewport_size(SCREEN)
    open_page(page, app_url, "/?model=default", "The network's answer")
    digit, proba = assert_on_first_screen(page)
    view = page.locator("svg.network-view").bounding_box()
    assert view["y"] + view["height"] <= SCREEN["height"]  # the whole drawing, its input digit included
    assert page.locator('svg.network-view rect.unit[data-layer="0"]').count() > 50  # the test digit's inked pixels
    assert page.get_by_text("Test image #0, labelled 7.").is_visible()
    screenshot(page, "answer-first-home")
    page.get_by_role("button", name="Random digit").click()  # another test image: its own line and its own drawing
    page.get_by_text("Test image #0, labelled 7.").wait_for(state="detached", timeout=60_000)
    wait_idle(page)
    assert page.get_by_text(re.compile(r"Test image #\d+, labelled \d\.")).count() == 1
    assert_on_first_screen(page)
    page.get_by_role("link", name="Draw your own").click()
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=60_000)
    assert "input=draw" in page.url
    assert_clean(page, console_errors)
