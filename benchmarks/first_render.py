"""First render on a fresh server, for any checkout of the dashboard: one `streamlit run dashboard.py` per visit.

Used by bench_answer_first.py to set today's code beside an older checkout (a `git worktree`). Each visit gets its own
server process and its own copy of a cache holding only the parsed MNIST .npy files: the server starts cold (no
Streamlit cache, no imports of the app's modules yet, no model loaded), but MNIST is not parsed from the .gz files again.
"""
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.appclient import Run, Session
from benchmarks.appserver import AppServer, free_port

TIMEOUT = 300  # seconds for one first run: the first /single embeds 60,000 training images on a shared machine


def load1():
    """The 1-minute load average now."""
    return float(Path("/proc/loadavg").read_text().split()[0])


def warm_parse_cache(tree, folder):
    """Parse MNIST once with the tree's own engine into folder (a MNIST_EXPLORER_CACHE); returns folder."""
    env = {**os.environ, "MNIST_EXPLORER_CACHE": str(folder)}
    subprocess.run([sys.executable, "-c", "from engine.data import load_raw; load_raw()"], cwd=tree, env=env, check=True)
    if len(list((Path(folder) / "parsed").glob("*.npy"))) != 4:
        sys.exit(f"{tree}: parsing MNIST did not leave 4 .npy files in {folder}/parsed; check MNIST_DIR")
    return Path(folder)


def private_env(cache):
    """The environment of one server or worker: this cache, the tree's own models/, no shared model store."""
    return {"MNIST_EXPLORER_CACHE": str(cache), "MNIST_EXPLORER_STORE": None, "MNIST_EXPLORER_MODELS": None}


class TreeServer(AppServer):
    """AppServer for the dashboard of another checkout (cwd=tree), with a fresh copy of the warmed parse cache."""

    def __init__(self, tree, seed_cache, *, timeout=120.0):
        super().__init__(timeout=timeout)
        self.tree, self.seed_cache = Path(tree), Path(seed_cache)

    def __enter__(self):
        self._tmp = tempfile.mkdtemp(prefix="mnist-explorer-first-")
        cache = Path(self._tmp) / "cache"
        shutil.copytree(self.seed_cache, cache)
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, **private_env(cache)}  # as AppServer and the README run it
        env = {k: v for k, v in env.items() if v is not None}
        port = free_port()
        self.log = Path(self._tmp) / "streamlit.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
                cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self


def first_run_ms(tree, seed_cache, page, query=""):
    """ms from rerun_script to script_finished of the first run of page ("" is the default) on a fresh server of tree."""
    async def visit(url):
        s = Session(url, 0)
        await s.open(timeout=30)
        try:
            return await s.rerun(Run(0, "first", page, query), timeout=TIMEOUT)
        finally:
            await s.close()

    with TreeServer(tree, seed_cache) as server:
        run = asyncio.run(visit(server.url))
        problem = run.error or (run.exceptions and f"{run.exceptions[0][0]}: {run.exceptions[0][1]}")
        if problem:
            sys.exit(f"{tree} /{page}: {problem}\n{server.log_tail()}")
    return run.ms


def first_answer_ms(browser, tree, seed_cache, path, selector):
    """ms from page.goto(/path) in a new Chromium context on a fresh server of tree until selector is visible; and its top y."""
    with TreeServer(tree, seed_cache) as server:
        context = browser.new_context(viewport={"width": 1440, "height": 900})  # a laptop's first screen
        try:
            page = context.new_page()
            start = time.perf_counter()
            page.goto(server.url + path)
            target = page.locator(selector).first
            target.wait_for(state="visible", timeout=TIMEOUT * 1000)
            ms = (time.perf_counter() - start) * 1000
            return ms, target.bounding_box()["y"]
        finally:
            context.close()


def first_runs(trees, caches, page, servers):
    """First runs of page on `servers` fresh servers per tree, trees in turns (old, new, old, new ...).

    Returns {tag: [ms]} and the 1-minute load averages seen along the way.
    """
    loads, ms = [load1()], {tag: [] for tag in trees}
    for _ in range(servers):
        for tag, tree in trees.items():
            ms[tag].append(first_run_ms(tree, caches[tag], page))
            loads.append(load1())
    return ms, loads


def browser_answers(plan, caches, servers):
    """In Debian's Chromium, for each (path, {tag: (tree, selector)}) of plan, trees in turns, a fresh server each:
    [({tag: [ms]}, loads seen, {tag: the answer's top y})], one per path."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            for path, trees in plan:
                loads, ms, ys = [load1()], {tag: [] for tag in trees}, {}
                for _ in range(servers):
                    for tag, (tree, selector) in trees.items():
                        t, ys[tag] = first_answer_ms(browser, tree, caches[tag], path, selector)
                        ms[tag].append(t)
                        loads.append(load1())
                out.append((ms, loads, ys))
        finally:
            browser.close()
    return out
