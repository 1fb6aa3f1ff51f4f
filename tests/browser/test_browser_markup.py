"""No markup shown as text: every label Chromium renders on Home and the single-image page, in English, 简体中文 and
日本語, is free of raw `<tag>` text (the Japanese Home drawing once showed ソフトマックス<br>数字 0–9), and the Home drawing
names its layers as the book does."""
import json
import re

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_clean, wait_idle
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

CATALOGS = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
VIEWPORT = {"width": 1400, "height": 2400}
RAW_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>")  # <br>, </b>, <sup>, <br/>: markup, never words
PAGES = {"home": ("/", "home.title"), "single": ("/single?split=test&index=0", "single.title")}
# Everything a reader can see or hover: the page text, every SVG text and hover title (our drawings and plotly's), and
# the tooltips and accessible names of elements.
LABELS = """() => {
  const out = [];
  for (const id of ['stMain', 'stSidebar']) {
    const root = document.querySelector(`[data-testid="${id}"]`);
    if (root) out.push(root.innerText);
  }
  for (const el of document.querySelectorAll('svg text, svg title')) out.push(el.textContent);
  for (const el of document.querySelectorAll('[title], [aria-label]')) {
    out.push(el.getAttribute('title') || '', el.getAttribute('aria-label') || '');
  }
  return out.filter(s => s && s.trim());
}"""
SVG_LABELS = "() => [...document.querySelectorAll('[data-testid=\"stMain\"] svg text')].map(e => e.textContent)"


def raw_tags(labels):
    """{tag: the label it was found in} for raw markup in rendered text."""
    return {m.group(0): label[:120] for label in labels for m in RAW_TAG.finditer(label)}


def test_raw_tags_are_found_and_words_are_not():
    assert raw_tags(["ソフトマックス<br>数字 0–9"]) == {"<br>": "ソフトマックス<br>数字 0–9"}
    assert set(raw_tags(["a <b>bold</b> word", "x<br/>y"])) == {"<b>", "</b>", "<br/>"}
    assert raw_tags(["|a| > 5", "p < 0.1%", "a<b", "784 → 50 → 10", "x <= 3"]) == {}


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_no_raw_markup_in_any_rendered_label(page, app_url, console_errors, lang):
    page.set_viewport_size(VIEWPORT)
    found = {}
    for name, (path, title_key) in PAGES.items():
        sep = "&" if "?" in path else "?"
        page.goto(f"{app_url}{path}{sep}lang={lang}")
        page.get_by_role("heading", name=CATALOGS[lang][title_key]).first.wait_for(timeout=90_000)
        wait_idle(page, timeout=90_000)
        page.wait_for_timeout(500)  # plotly finishes drawing after the last delta
        labels = page.evaluate(LABELS)
        assert len(labels) > 20, (lang, name, labels)  # the check reads the page
        if raw_tags(labels):
            found[name] = raw_tags(labels)
        if name == "home":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"markup-{lang}-home.png"), full_page=True)
            drawn = " ".join(page.evaluate(SVG_LABELS))
            for key in ("home.layer_input", "home.layer_output"):  # each line of a layer's name is drawn, as text
                lines = CATALOGS[lang][key].split("\n")
                assert all(line in drawn for line in lines), (key, lines, drawn[:300])
    assert found == {}
    assert_clean(page, console_errors)
