"""Page-time budgets: every page's warm rerun <= 300 ms (median of 20) and the home page's first render in Chromium <= 3 s.

Run by hand from the repo root (starts its own server on a free 127.0.0.1 port with a private cache):
    MNIST_DIR=/path/to/mnist BOOK_WEIGHTS=/path/to/sample_weight.pkl python3 -m benchmarks.bench_pages [--runs 20]
Exits 1 when a budget is broken. Pages are the ones dashboard.py registers; a page whose file names a literal tuple
of tabs (?tab=) gets one row per tab, because only the open tab is computed.

Warm rerun: one websocket session (benchmarks/appclient.py) visits the page once, then sends --runs
identical BackMsg.rerun_script and times each from request to script_finished: the server's time plus loopback
and protobuf parsing (~1-3 ms here). First render: a fresh Chromium context (empty browser cache, Debian's
/usr/bin/chromium with the flags of tests/browser/conftest.py) opens the home page; timed from navigation until the
app is idle, no skeleton or stale element is left and every plotly chart has drawn its SVG. The server is warm (one
visit before); the very first visit of a fresh server, MNIST parsed from the .gz files, is shown too but not budgeted.
"""
import argparse
import asyncio
import os
import statistics
import sys
import time

from benchmarks.appclient import Run, Session
from benchmarks.appserver import AppServer
from benchmarks.pagequery import literal_choices, pages_in_router, router_pages

RERUN_BUDGET_MS = 300
RENDER_BUDGET_MS = 3000
DRAWN = """() => document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    && !document.querySelector('[data-testid="stSkeleton"]') && !document.querySelector('[data-stale="true"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))"""


def views():
    """[(label, page, query)]: each page's default view, or one per ?tab= choice when its file lists them literally."""
    files, out = pages_in_router(), []
    for page in router_pages():
        tabs = literal_choices(files[page], "tab")
        out += [(f"{page or 'home'}?tab={t}", page, f"tab={t}") for t in tabs] if tabs else [(page or "home", page, "")]
    return out


async def warm_reruns(url, rows, *, runs):
    """{label: [ms of each warm rerun]}, one session, after one untimed visit per row."""
    s = Session(url, 0)
    await s.open(timeout=60)
    times = {}
    try:
        for label, page, query in rows:
            first = await s.rerun(Run(0, "cold", page, query), timeout=120)
            if first.error or first.exceptions:
                sys.exit(f"{label}: {first.error or first.exceptions[0][:2]}")
            times[label] = []
            for _ in range(runs):
                run = await s.rerun(Run(0, "warm", page, query), timeout=60)
                if run.error or run.exceptions:
                    sys.exit(f"{label}: {run.error or run.exceptions[0][:2]}")
                times[label].append(run.ms)
    finally:
        await s.close()
    return times


def first_render_ms(browser, url):
    """Wall ms from navigation to a fully drawn home page in a fresh context (no cookies, no cached files)."""
    from tests.browser.conftest import VIEWPORT
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url + "/")
        page.wait_for_function(DRAWN, timeout=60_000, polling=20)
        ms = (time.perf_counter() - start) * 1000
        if page.locator('[data-testid="stException"]').count():
            sys.exit("the home page shows an exception: " + page.locator('[data-testid="stException"]').first.inner_text())
        return ms
    finally:
        context.close()


def chromium_renders(url, *, repeats, cold):
    """(cold ms or None, [warm ms]) of the home page's first render; cold is the server's very first visit."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    if not CHROMIUM.is_file():
        sys.exit(f"Chromium is needed at {CHROMIUM} (apt-get install chromium); no browser is downloaded")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            first = first_render_ms(browser, url) if cold else None
            return first, [first_render_ms(browser, url) for _ in range(repeats)]
        finally:
            browser.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="warm reruns per page (default 20; the median is budgeted)")
    ap.add_argument("--renders", type=int, default=5, help="fresh-browser first renders of home (default 5; median budgeted)")
    ap.add_argument("--url", help="a running server instead of starting one (its first visit is then not cold)")
    args = ap.parse_args()
    if not args.url and not os.environ.get("MNIST_DIR"):
        sys.exit("set MNIST_DIR to a folder with the four real MNIST files")
    with AppServer() if not args.url else _Given(args.url) as server:
        cold = None if args.url else chromium_renders(server.url, repeats=0, cold=True)[0]  # the fresh server's first visit
        rows = views()
        times = asyncio.run(warm_reruns(server.url, rows, runs=args.runs))
        _, renders = chromium_renders(server.url, repeats=args.renders, cold=False)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"page-time budgets: median of {args.runs} warm reruns per row, {args.renders} fresh-browser renders; load average {load}")
    print(f"| {'page':<26} | {'warm rerun (median)':>19} | {'min - max':>15} | {'budget':>8} | ok |")
    print(f"|{'-' * 28}|{'-' * 21}|{'-' * 17}|{'-' * 10}|----|")
    broken = []
    for label, ms in times.items():
        med = statistics.median(ms)
        ok = med <= RERUN_BUDGET_MS
        broken += [] if ok else [label]
        print(f"| {label:<26} | {med:>16.0f} ms | {min(ms):>5.0f} - {max(ms):>4.0f} ms | {RERUN_BUDGET_MS:>5} ms | {'✓' if ok else '✗'}  |")
    med = statistics.median(renders)
    ok = med <= RENDER_BUDGET_MS
    broken += [] if ok else ["home first render"]
    print(f"| {'home, first render':<26} | {med:>16.0f} ms | {min(renders):>5.0f} - {max(renders):>4.0f} ms | "
          f"{RENDER_BUDGET_MS:>5} ms | {'✓' if ok else '✗'}  |")
    if cold is not None:
        print(f"(not budgeted) home, first render on a fresh server (MNIST parsed from .gz, imports): {cold:.0f} ms")
    if broken:
        sys.exit(f"budgets broken: {', '.join(broken)}")
    print("all budgets met")


class _Given:
    """A server given by --url, in the shape of AppServer."""

    def __init__(self, url):
        self.url = url.rstrip("/")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


if __name__ == "__main__":
    main()
