"""The dataset browser's PCA map in Chromium on real MNIST: a click on a dot opens that image beside the map and above."""
import re

import pytest

from tests.browser.conftest import assert_clean, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]


def test_a_click_on_a_dot_opens_its_image(page, app_url, console_errors):
    open_page(page, app_url, "/dataset?tab=pca", "Click a dot on the map to open its image here.")
    page.wait_for_timeout(500)
    # the nines: the last trace, drawn on top, so the dot under the mouse is theirs (a covered dot loses to the one above)
    nines = page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace.scatter').nth(9).locator("path.point")
    assert nines.count() > 200  # about a tenth of the 3,000 dots
    box = nines.nth(10).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    opened = page.get_by_text(re.compile(r"^Image #\d+, opened from the map\."))
    opened.wait_for(timeout=30_000)
    wait_idle(page)
    i = int(re.search(r"#(\d+)", opened.inner_text())[1])
    assert page.locator('[data-testid="stImageCaption"]').filter(has_text=f"#{i} · 9").count() == 1  # a 9, beside the map
    assert page.get_by_text(f"train #{i}: a 9, as 28 × 28 numbers").is_visible()  # and pixel by pixel above
    assert page.get_by_role("link", name=f"Open #{i} in the single-image page").count() == 2
    for _ in range(40):  # the URL is written with the run's last delta
        if f"index={i}" in page.url:
            break
        page.wait_for_timeout(250)
    assert f"index={i}" in page.url and "tab=pca" in page.url
    screenshot(page, "dataset-pca-opened")
    assert_clean(page, console_errors)
