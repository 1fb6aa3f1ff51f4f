"""Browser test harness: one `streamlit run dashboard.py` per session on a free port, driven by Debian's Chromium.

Later pages add a test file here that uses `app_url` and `open_page(page, "/evaluate?model=book", "Accuracy")`.
Never downloads a browser: without /usr/bin/chromium the tests skip, and under REQUIRE_BROWSER=1 that skip fails.
"""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_or_skip

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 4000}  # Streamlit scrolls inside its own container: a tall window shows it all
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Not app errors: on a fresh visit to /dataset Streamlit's frontend first probes /dataset/_stcore/health and
# /dataset/_stcore/host-config (in case the app is served under that base path), gets 404, then uses /
IGNORED_404 = ("/_stcore/health", "/_stcore/host-config")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url, proc, *, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {proc.returncode} before it was healthy")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"streamlit was not healthy at {url} within {timeout} s")


@pytest.fixture(scope="session")
def chromium():
    """Path of Debian's Chromium; skip (or fail under REQUIRE_BROWSER=1) when it is missing."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        require_or_skip("REQUIRE_BROWSER", f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, chromium):
    """pytest-playwright's launch options, pointed at the system Chromium instead of a downloaded one."""
    return {**browser_type_launch_args, "executable_path": str(chromium), "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


@contextlib.contextmanager
def streamlit_server(env, log_dir):
    """Run `streamlit run dashboard.py` on a free port with env; yields its base URL and stops it by its PID afterwards."""
    port = _free_port()
    log = open(Path(log_dir) / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        stop_process(proc)
        log.close()
        if proc.returncode not in (0, -15):
            print(Path(log.name).read_text()[-3000:])


def stop_process(proc, *, grace=10):
    """SIGTERM proc, and SIGKILL it if it has not ended within grace seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def server_env(mnist_dir, cache):
    """The environment of a test server: real MNIST, a private cache."""
    return {**os.environ, "MNIST_DIR": str(mnist_dir), "MNIST_EXPLORER_CACHE": str(cache)}


@pytest.fixture(scope="session")
def app_url(mnist_dir, chromium, private_cache, tmp_path_factory):
    """Base URL of a `streamlit run dashboard.py` on real MNIST, shared by the session's browser tests."""
    with streamlit_server(server_env(mnist_dir, private_cache), tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught page errors seen by this test's page (a list filled as the test runs)."""
    errors = []

    def on_console(m):
        url = (m.location or {}).get("url", "")
        if m.type == "error" and not ("404" in m.text and url.endswith(IGNORED_404)):
            errors.append(f"{m.text} ({url})")

    page.on("console", on_console)
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    return errors


SETTLED = """() => document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-stale="true"]')
    && [...document.images].every(i => i.complete)"""  # an image still loading moves everything below it when it lands


def wait_idle(page, *, timeout=60_000):
    """Wait until the script run has finished and the page shows it: idle app, no skeleton, no stale element, images in."""
    page.wait_for_selector(IDLE, timeout=timeout)
    # "notRunning" can arrive a moment before the last deltas are drawn
    page.wait_for_function(SETTLED, timeout=timeout)


def wait_until(page, done, *, wait_ms=10_000):
    """Poll done() every 250 ms for up to wait_ms; True once it holds, then the run is idle too."""
    for _ in range(wait_ms // 250):
        if done():
            wait_idle(page)
            return True
        page.wait_for_timeout(250)
    return False


def click_until(page, target, done, *, tries=3, wait_ms=10_000):
    """Click target until done() is true, then wait for the run: a click that a late layout shift moved is lost."""
    for _ in range(tries):
        target.click()
        if wait_until(page, done, wait_ms=wait_ms):
            return
    raise AssertionError(f"{tries} clicks on {target} had no effect; {shows(page)}")


def open_page(page, app_url, path, expect_text, *, timeout=60_000):
    """Go to app_url + path (e.g. "/dataset?split=test"), wait for the app to be idle and for expect_text to show."""
    page.goto(app_url + path)
    page.get_by_text(expect_text).first.wait_for(timeout=timeout)
    wait_idle(page, timeout=timeout)
    page.wait_for_timeout(300)  # let plotly finish drawing after the last delta
    return page


def shows(page, *, chars=1500):
    """The page's URL and the start of its main text: for a failure message that CI's log can be read from."""
    main = page.get_by_test_id("stMainBlockContainer")
    text = main.inner_text()[:chars] if main.count() else "(no main block)"
    return f"{page.url} shows:\n{text}"


def assert_clean(page, console_errors):
    """No Streamlit exception box on the page and no browser console errors."""
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert console_errors == [], console_errors


def screenshot(page, name):
    """Save artifacts/screenshots/NAME.png (full page) for a human to look at; returns the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
