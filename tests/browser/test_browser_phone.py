"""Every page on a phone (390 × 844, touch, a phone's User-Agent) in Chromium on real MNIST and the book's weights:
nothing wider than the screen, every word of every chart inside its chart, no plotly toolbar, thumbnails in reading
order, and each view at most six screens long. A screenshot of each view's first screen and of its whole length.

/single's five sections are tabs: each one, its explanations unfolded, fits too, the softmax formula and table whole.
"""
import re

import pytest

from tests.browser.conftest import IGNORED_404, assert_clean, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

PHONE = {"width": 390, "height": 844}  # a common phone's CSS pixels (iPhone 12-15, many Androids)
AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
         "Mobile Safari/537.36")
MAX_HEIGHT = 6 * PHONE["height"]  # 5,064 px: six screens, the bound for a view as it opens
# name: (address, a text the view shows once drawn); each tab is a view of its own, opened from its link
VIEWS = {
    "home": ("/", "The network in plain words"),
    "single": ("/single?index=8", "The network's answer"),
    "dataset": ("/dataset", "One image, pixel by pixel"),
    "dataset-mean": ("/dataset?tab=mean", "The average picture of each digit"),
    "dataset-hist": ("/dataset?tab=hist", "How often each pixel value"),
    "dataset-pca": ("/dataset?tab=pca", "Click a dot on the map"),
    "dataset-flags": ("/dataset?tab=flags", "print(img.shape)"),
    "evaluate": ("/evaluate?model=book", "The 24 most confident mistakes"),
    "evaluate-calibration": ("/evaluate?model=book&tab=calibration", "Answer only when sure enough"),
    "evaluate-compare": ("/evaluate?model=book&tab=compare", "Where they disagree"),
    "evaluate-runtime": ("/evaluate?model=book&tab=runtime", "Measure"),
    "preprocess": ("/preprocess", "Same picture five times"),
    "preprocess-accuracy": ("/preprocess?tab=accuracy", "Every choice was trained with"),
    "preprocess-mismatch": ("/preprocess?tab=mismatch", "Layer-1 pre-activations"),
    "preprocess-compare": ("/preprocess?tab=compare", "Choices to compare"),
    "train": ("/train", "Settings"),
    "glossary": ("/glossary", "Judging a model"),
}

MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const main = document.querySelector('[data-testid="stMain"]');
  const fits = (r) => r.left >= -1 && r.right <= vw + 1;
  const shown = (r) => r.width > 0 || r.height > 0;
  // clipped by an ancestor that scrolls or hides sideways and itself fits the screen (the tab bar, a table, a code block)
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== main; a = a.parentElement)
      if (/auto|scroll|hidden|clip/.test(getComputedStyle(a).overflowX) && fits(a.getBoundingClientRect())) return true;
    return false;
  };
  const name = (el) => (el.getAttribute('data-testid') || el.tagName.toLowerCase()) + ' "'
    + (el.textContent || '').trim().slice(0, 50) + '"';
  const wide = [];
  for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (shown(r) && !fits(r) && !clipped(el)) wide.push(`${name(el)} spans ${Math.round(r.left)}-${Math.round(r.right)} px`);
  }
  const cut = [];  // a chart's words (titles, ticks, legend, colour-bar units) drawn outside the chart itself
  for (const chart of main.querySelectorAll('.js-plotly-plot')) {
    const box = chart.getBoundingClientRect();
    for (const text of chart.querySelectorAll('svg text')) {
      const r = text.getBoundingClientRect();
      if (!text.textContent.trim() || !shown(r) || getComputedStyle(text).visibility === 'hidden') continue;
      if (r.left < box.left - 2 || r.right > box.right + 2 || r.top < box.top - 2 || r.bottom > box.bottom + 2)
        cut.push(`"${text.textContent.trim().slice(0, 50)}" at ${Math.round(r.left)}-${Math.round(r.right)} in a chart at `
                 + `${Math.round(box.left)}-${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, height: main.scrollHeight, wide: wide.slice(0, 10),
          cut: cut.slice(0, 10), modebars: document.querySelectorAll('.modebar').length,
          charts: main.querySelectorAll('.js-plotly-plot').length};
}"""


SINGLE_TABS = ("1 · Input", "2 · Probabilities", "3 · Hidden layers", "4 · Why", "5 · Similar images")
# a formula or a table wider than the room it is given: KaTeX and st.table scroll it sideways inside that room,
# so the page does not scroll, but the end of the formula (or the probability column) is out of sight
SCROLLED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[role="tabpanel"]:not([hidden]) .katex-html, [role="tabpanel"]:not([hidden]) table')) {
    const box = el.getBoundingClientRect(), room = el.closest('[data-testid="stElementContainer"]').getBoundingClientRect();
    if (box.width > 0 && (box.left < room.left - 1 || box.right > room.right + 1))
      out.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" spans ${Math.round(box.left)}-`
               + `${Math.round(box.right)} px in room ${Math.round(room.left)}-${Math.round(room.right)}`);
  }
  return out;
}"""


@pytest.fixture
def phone(browser):
    """A fresh browser context that looks like a phone to the page and to the server; yields (page, console errors)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, user_agent=AGENT, device_scale_factor=2)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and not ("404" in m.text and (m.location or {}).get("url", "").endswith(IGNORED_404))
            and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    yield page, errors
    context.close()


def whole_screenshot(page, name, height):
    """Save artifacts/screenshots/NAME.png as tall as the view (Streamlit scrolls inside its own container)."""
    page.set_viewport_size({"width": PHONE["width"], "height": min(height, 4 * MAX_HEIGHT)})
    page.wait_for_timeout(500)
    screenshot(page, name)
    page.set_viewport_size(PHONE)


@pytest.mark.parametrize("view", list(VIEWS))
def test_each_view_fits_a_phone(phone, app_url, book_weights, view):
    page, errors = phone
    path, text = VIEWS[view]
    open_page(page, app_url, path, text)
    page.wait_for_timeout(700)  # plotly lays out once more after the last delta
    m = page.evaluate(MEASURE)
    print(f"{view}: {m['height']:,} px high, {m['charts']} charts")
    screenshot(page, f"phone-{view}")  # the first screen
    whole_screenshot(page, f"phone-{view}-whole", m["height"])
    assert m["scrollWidth"] <= PHONE["width"], f"the page scrolls sideways: {m['scrollWidth']} px"
    assert m["wide"] == [], "wider than the screen: " + "; ".join(m["wide"])
    assert m["cut"] == [], "chart words outside their chart: " + "; ".join(m["cut"])
    assert m["modebars"] == 0  # a tap would show plotly's toolbar over the chart's title
    assert m["height"] <= MAX_HEIGHT, f"{view} is {m['height']:,} px high, more than six screens ({MAX_HEIGHT:,} px)"
    assert_clean(page, errors)


def test_every_section_of_single_fits_a_phone_with_its_explanations_open(phone, app_url, book_weights):
    page, errors = phone
    open_page(page, app_url, "/single?index=8", "The network's answer")
    formulas = 0
    for n, name in enumerate(SINGLE_TABS, start=1):
        page.get_by_role("tab", name=name).click()
        for summary in page.locator('[role="tabpanel"]:visible [data-testid="stExpander"] summary').all():
            summary.click()  # "📖 How ... works": folded as the page opens, read here unfolded
        wait_idle(page)
        page.wait_for_timeout(700)
        m = page.evaluate(MEASURE)
        print(f"{name}: {m['height']:,} px high with its explanations open")
        whole_screenshot(page, f"phone-single-tab{n}-whole", m["height"])
        assert m["scrollWidth"] <= PHONE["width"] and m["wide"] == [], (name, m["wide"])
        assert m["cut"] == [], (name, m["cut"])
        assert page.evaluate(SCROLLED) == [], name  # the softmax formula and its table fit the screen whole
        formulas += page.locator('[role="tabpanel"]:visible .katex-html').count()
        assert m["height"] <= MAX_HEIGHT, f"{name} is {m['height']:,} px high with its explanations open"
    assert formulas >= 1  # the check above saw the softmax formula
    assert_clean(page, errors)


def test_thumbnails_read_in_order_three_or_four_to_a_line(phone, app_url):
    page, errors = phone
    open_page(page, app_url, "/dataset", "One image, pixel by pixel")
    captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
    assert [c.split(" · ")[0] for c in captions] == [f"#{i}" for i in range(24)]  # the page order is the file order
    tops = [round(page.locator('[data-testid="stImage"]').nth(i).bounding_box()["y"]) for i in range(24)]
    per_line = tops.count(tops[0])
    assert 3 <= per_line <= 4 and tops == sorted(tops)  # left to right, then the next line down
    assert all(tops[i] == tops[i - i % per_line] for i in range(24))
    assert re.fullmatch(r"#0 · 5", captions[0])
    assert_clean(page, errors)
