"""Every page in English, 简体中文 and 日本語 in Chromium on real MNIST: no exception, no console error, no English left
in Chinese and Japanese outside names and code, a screenshot each; the language survives the sidebar's page menu."""
import json
import re

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_clean, wait_idle
from tests.conftest import ROOT
from tests.visible import words_left

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

PAGES = ("home", "dataset", "single", "evaluate", "preprocess", "train", "glossary")
TITLES = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}
TITLE_KEY = {"preprocess": "prep.title"}
VIEWPORT = {"width": 1400, "height": 2400}
# What the reader sees, minus code (code blocks and spans) and the model picker: model names come from files, not from us.
VISIBLE_TEXT = """() => {
  const hide = [...document.querySelectorAll('pre, code, .st-key-model_pick, [data-testid="stCode"]')];
  const was = hide.map(e => e.style.display);
  hide.forEach(e => { e.style.display = 'none'; });
  const parts = ['stSidebar', 'stMain'].map(id => document.querySelector(`[data-testid="${id}"]`)?.innerText || '');
  hide.forEach((e, i) => { e.style.display = was[i]; });
  return parts.join('\\n');
}"""


def model_titles():
    """The titles of the shipped models (and the book's weights): names from model files, allowed in any language."""
    titles = {json.loads(p.read_text(encoding="utf-8")).get("title") for p in (ROOT / "models").glob("*.json")}
    return tuple(t for t in titles | {"Book weights (sample_weight.pkl)"} if t)


def show(page, url, title):
    page.goto(url)
    page.get_by_role("heading", name=title).first.wait_for(timeout=90_000)
    wait_idle(page, timeout=90_000)
    page.wait_for_timeout(300)  # plotly finishes drawing after the last delta


def test_every_page_in_three_languages(page, app_url, console_errors):
    page.set_viewport_size(VIEWPORT)
    names = model_titles()
    leftovers = {}
    for lang in ("en", "zh", "ja"):
        for name in PAGES:
            title = TITLES[lang][TITLE_KEY.get(name, f"{name}.title")]
            show(page, f"{app_url}/{'' if name == 'home' else name}?lang={lang}", title)
            assert page.locator('[data-testid="stException"]').count() == 0, (lang, name)
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"lang-{lang}-{name}.png"))  # the top of each page: the reader's first view
            left = words_left(page.evaluate(VISIBLE_TEXT), allowed=("English", "default", "book", "relu"), phrases=names,
                             lang=lang)
            if lang == "en":
                assert len(left) > 20, (name, left)  # the check reads the page: in English it finds plenty
            elif left:
                leftovers[f"{lang}/{name}"] = left
    assert leftovers == {}
    assert_clean(page, console_errors)


def test_the_language_survives_the_page_menu_and_the_link_box_says_where_you_are(page, app_url, console_errors):
    page.set_viewport_size(VIEWPORT)
    show(page, f"{app_url}/dataset?lang=ja&split=test", TITLES["ja"]["dataset.title"])
    page.get_by_test_id("stSidebar").get_by_role("link", name=TITLES["ja"]["nav.glossary"]).click()
    page.get_by_role("heading", name=TITLES["ja"]["glossary.title"]).wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('lang=ja')", timeout=10_000)
    assert page.url == f"{app_url}/glossary?lang=ja"
    link = page.get_by_test_id("stSidebar").locator('[data-testid="stCode"]').inner_text().strip()
    assert link == f"{app_url}/glossary?lang=ja"
    assert re.search(TITLES["ja"]["share.label"].split(" ", 1)[1], page.get_by_test_id("stSidebar").inner_text())
    assert_clean(page, console_errors)


def used_fonts(page, selector):
    """The font faces Chromium really drew selector's text with (DevTools' platform fonts), most glyphs first."""
    cdp = page.context.new_cdp_session(page)
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]  # enables the DOM agent, which CSS needs
    cdp.send("CSS.enable")
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return [f["familyName"] for f in sorted(fonts, key=lambda f: -f["glyphCount"])]


@pytest.mark.parametrize(("lang", "html_lang", "face"), [("zh", "zh-Hans", "Noto Sans CJK SC"), ("ja", "ja", "Noto Sans CJK JP"),
                                                         ("en", "en", None)])
def test_the_page_says_its_language_so_the_browser_draws_the_right_glyphs(page, app_url, lang, html_lang, face):
    page.set_viewport_size(VIEWPORT)
    show(page, f"{app_url}/dataset?lang={lang}", TITLES[lang]["dataset.title"])
    page.wait_for_function(f"() => document.documentElement.lang === '{html_lang}'", timeout=10_000)
    if face:  # the title's Han characters: Simplified Chinese shapes for zh, Japanese ones for ja
        assert used_fonts(page, "h1")[0] == face, used_fonts(page, "h1")
