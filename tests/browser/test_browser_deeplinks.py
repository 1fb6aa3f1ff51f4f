"""Deep links on a fresh server: the very first request after a start, and the same after a visit to /, opens the right
page in the right language with the shared sidebar, and never Streamlit's "Page not found" dialog."""
import json
from urllib.parse import urljoin, urlsplit

import pytest

from tests.browser.conftest import assert_clean, server_env, streamlit_server, wait_idle
from tests.conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.mnist]

TEXT = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh")}
MENU = ("home", "dataset", "single", "evaluate", "preprocess", "train", "glossary")
CASES = [  # (first request, language, page)
    ("/dataset?split=test&digit=3", "en", "dataset"),
    ("/single?index=5&lang=zh", "zh", "single"),
    ("/evaluate?cell=4-9", "en", "evaluate"),
]


@pytest.mark.parametrize("home_first", [False, True], ids=["first-request", "after-home"])
@pytest.mark.parametrize(("path", "lang", "name"), CASES, ids=[c[2] for c in CASES])
def test_a_deep_link_opens_its_page_with_the_sidebar_on_a_fresh_server(
        page, chromium, mnist_dir, tmp_path, console_errors, path, lang, name, home_first):
    text = TEXT[lang]
    with streamlit_server(server_env(mnist_dir, tmp_path / "cache"), tmp_path) as url:
        if home_first:
            page.goto(url + "/")
            page.get_by_role("heading", name=TEXT["en"]["home.title"]).wait_for(timeout=90_000)
            wait_idle(page, timeout=90_000)
        page.goto(url + path)
        page.get_by_role("heading", name=text[f"{name}.title"]).first.wait_for(timeout=90_000)
        wait_idle(page, timeout=90_000)
        body = page.locator("body").inner_text()
        assert "Page not found" not in body and "页面未找到" not in body
        sidebar = page.get_by_test_id("stSidebar")
        # the translated menu, every page, each a link to its own address
        for p in MENU:
            link = sidebar.get_by_role("link", name=text[f"nav.{p}"])
            assert link.count() == 1, (p, sidebar.inner_text())
            target = urlsplit(urljoin(page.url, link.get_attribute("href")))
            if p != "home":  # Streamlit writes the main page's href as "?query" only; its click is checked below
                assert target.path == f"/{p}", (p, target)
            assert ("lang=zh" in target.query) == (lang == "zh"), (p, target)  # the language follows the menu
        # language and model pickers, data status and the link box of this very view
        assert text["shell.language"] in sidebar.inner_text() and text["shell.model"] in sidebar.inner_text()
        assert {"en": "English", "zh": "简体中文"}[lang] in sidebar.locator(".st-key-lang_picker").inner_html()
        assert "60,000" in sidebar.inner_text() and "10,000" in sidebar.inner_text()
        shared = sidebar.locator('[data-testid="stCode"]').inner_text().strip()
        assert shared.startswith(url + path.split("?")[0] + "?"), shared
        for pair in path.split("?")[1].split("&"):
            assert pair in shared, (pair, shared)
        assert_clean(page, console_errors)
        if not home_first:  # and back home through the menu, in the same language
            sidebar.get_by_role("link", name=text["nav.home"]).click()
            page.get_by_role("heading", name=text["home.title"]).wait_for(timeout=90_000)
            assert urlsplit(page.url).path == "/"
            assert ("lang=zh" in page.url) == (lang == "zh")
