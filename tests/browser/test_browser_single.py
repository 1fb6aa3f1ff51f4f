"""Single-image page in Chromium on real MNIST: an image from a link, a digit drawn with the mouse, an uploaded photo."""
import numpy as np
import pytest

from engine.data import load_raw
from tests.browser.conftest import assert_clean, open_page, screenshot, wait_idle
from tests.photos import render_photo

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

TALL = {"width": 1400, "height": 7000}  # the whole page without scrolling, for one full screenshot


def answer(page):
    """The digit the answer card shows."""
    return page.locator('[data-answer="digit"]').inner_text()


def test_single_page_from_a_link(page, app_url, console_errors):
    page.set_viewport_size(TALL)
    open_page(page, app_url, "/single?split=test&index=8&model=pre-unit", "5 · Similar images")  # the last section's tab
    assert page.get_by_text("test #8, labelled").first.is_visible()
    # the five sections are tabs: every chart is on the page, each shows once its tab is open
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 9
    assert len(page.locator('[data-testid="stImage"]').all()) == 1 + 8  # the digit read, the nearest training images
    for tab, titles in (("1 · Input", ["test #8 as 28 × 28 pixel values"]), ("2 · Probabilities", ["Probabilities of model pre-unit"]),
                        ("3 · Hidden layers", ["Layer 1: 50 units", "Layer 2: 100 units", "Every hidden unit on the sigmoid curve"]),
                        ("4 · Why", ["Which pixels move the score"]), ("5 · Similar images", ["5. The most similar training images"])):
        page.get_by_role("tab", name=tab).click()
        for title in titles:
            page.get_by_text(title).first.wait_for(timeout=10_000)  # shown, not only present
        page.wait_for_timeout(300)
    assert [i.is_visible() for i in page.locator('[data-testid="stImage"]').all()] == [True] * 9  # the nearest 8 are open now
    assert page.locator("svg.network-view circle").count() >= 10 + 2 * 12  # outputs, the most active hidden units
    page.get_by_role("tab", name="1 · Input").click()
    screenshot(page, "single")
    page.get_by_role("button", name="Next mistake").click()
    page.get_by_text("This image is one of them: mistake 1 of").wait_for(timeout=60_000)
    wait_idle(page)
    said = answer(page)
    assert page.get_by_text(f"where the model answered {said}.").is_visible()  # the caption says what the model said
    assert page.locator('[data-answer="verdict"]').inner_text().startswith(f"✗ model says {said}, true ")
    assert_clean(page, console_errors)


def uploader(page):
    """The page's picture uploader (the sidebar has a model uploader too)."""
    return page.get_by_test_id("stMainBlockContainer").locator('input[type="file"]')


INK = """(upper) => {
  const c = upper.parentElement.querySelector('canvas.lower-canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) n += d[i] > 128;
  return n;
}"""  # white pixels on the canvas's drawing layer (the black background is a separate canvas)


def draw(page, points, *, attempts=3):
    """Drag the mouse through points (x, y in canvas pixels) on the drawing canvas, as one stroke, until it shows ink."""
    canvas = page.locator("canvas.upper-canvas")
    canvas.wait_for(timeout=60_000)
    for _ in range(attempts):
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=15)
        page.mouse.up()
        # a freshly mounted canvas arms its pen only after loading its (empty) initial drawing, a moment after it
        # appears; a stroke made before then leaves no ink and is never sent, so the stroke is made again
        for _ in range(20):
            if canvas.evaluate(INK) > 0:
                return
            page.wait_for_timeout(100)
    raise AssertionError(f"the canvas showed no ink after {attempts} strokes")


def test_a_digit_drawn_with_the_mouse_is_read(page, app_url, console_errors):
    page.set_viewport_size(TALL)
    open_page(page, app_url, "/single?input=draw&model=default", "Draw a digit on the black canvas")
    draw(page, [(80, 60), (200, 60), (130, 230)])  # a 7: the top bar, then the long diagonal
    page.get_by_text("How your picture becomes an MNIST digit").wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    assert page.get_by_text("your drawing as 28 × 28 pixel values").is_visible()
    assert answer(page) == "7"
    assert page.locator('[data-testid="stImageCaption"]').all_inner_texts()[:7][-1] == "7. centred in 28 × 28"
    screenshot(page, "single-drawn")
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("Draw a digit on the black canvas").wait_for(timeout=60_000)
    assert_clean(page, console_errors)


def test_an_uploaded_photo_is_read(page, app_url, console_errors, mnist_dir, tmp_path):
    page.set_viewport_size(TALL)
    x, t = (load_raw(mnist_dir)[k] for k in ("test_img", "test_label"))
    photo = tmp_path / "digit-on-paper.jpg"
    photo.write_bytes(render_photo(x[0], rng=np.random.default_rng(5), side=900, fmt="JPEG"))
    open_page(page, app_url, "/single?input=upload&model=default", "Upload a picture of one digit")
    uploader(page).set_input_files(str(photo))
    page.get_by_text("digit-on-paper.jpg as 28 × 28 pixel values").wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    assert page.get_by_text("so step 2 inverted it").is_visible()  # dark ink on light paper
    assert answer(page) == str(t[0])
    screenshot(page, "single-photo")
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    uploader(page).set_input_files(str(bad))
    page.get_by_text("notes.png is not a picture").wait_for(timeout=60_000)
    wait_idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 1
    assert_clean(page, console_errors)
