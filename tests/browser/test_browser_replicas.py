"""Two replicas behind nginx (issue 18), in Chromium on real MNIST: deploy/replicas.py runs both servers with one shared
model store, nginx runs the configuration deploy/replicas.py prints, and a browser trains a model, shares it, and shares
a drawing.

The links, opened in fresh browser contexts that nginx pins to the other replica (a route cookie chosen by asking nginx),
show the same model, the same accuracy and the same answer; so do they after both replicas restart. Needs nginx
(Debian's `nginx` package); without it the test skips, and under REQUIRE_BROWSER=1 that skip fails.
"""
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.browser.conftest import VIEWPORT, _wait_healthy, screenshot, stop_process, wait_idle
from tests.browser.test_browser_single import answer, draw
from tests.conftest import ROOT, require_or_skip

LAUNCHER = ROOT / "deploy" / "replicas.py"
# what the teacher trains in the browser: the book's net, one epoch on 5,000 images, a few seconds
TRAIN_QUERY = "/train?epochs=1&n=5000&model=default"
COOKIE = "mnist_route"


@pytest.fixture(scope="module")
def nginx_bin():
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if not found:
        require_or_skip("REQUIRE_BROWSER", "the replica test needs nginx (apt-get install nginx)")
    return found


def consecutive_free_ports(n):
    """A base port p with p .. p+n-1 all free on 127.0.0.1 (asked of the OS, then checked)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65535:
            continue
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + n):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no run of free ports found")


@contextlib.contextmanager
def replicas(env, base_port, log_dir, n=2):
    """deploy/replicas.py run: n servers on base_port.. ; yields their URLs, stops the launcher (and so them) by its PID."""
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    log = open(Path(log_dir) / "launcher.log", "a")
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), "run", "--replicas", str(n), "--base-port", str(base_port),
                             "--log-dir", str(log_dir)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    urls = [f"http://127.0.0.1:{base_port + i}" for i in range(n)]
    try:
        for url in urls:
            _wait_healthy(url, proc, timeout=90)
        yield urls
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def nginx_conf(folder, port, base_port, n):
    """nginx.conf for a test: deploy/replicas.py's site configuration inside an http block whose every path is in folder."""
    site = subprocess.run([sys.executable, str(LAUNCHER), "nginx", "--replicas", str(n), "--base-port", str(base_port),
                           "--listen", f"127.0.0.1:{port}", "--show-upstream"], check=True, capture_output=True, text=True).stdout
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""  # workers keep our identity
    temps = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"""{user}worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} info;
events {{ worker_connections 512; }}
http {{
    log_format routes '$upstream_addr $cookie_{COOKIE} $request_uri';
    access_log {folder / 'access.log'} routes;
{temps}
{site}
}}
"""
    path = folder / "nginx.conf"
    path.write_text(conf)
    return path


@contextlib.contextmanager
def nginx(nginx_bin, folder, base_port, n=2):
    """nginx on a free 127.0.0.1 port in front of the replicas; yields its URL, stops it by its PID afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    port = consecutive_free_ports(1)
    conf = nginx_conf(folder, port, base_port, n)
    base = [nginx_bin, "-e", str(folder / "error.log"), "-p", str(folder), "-c", str(conf)]
    subprocess.run([*base, "-t", "-q"], check=True)
    proc = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        stop_process(proc)


def route_cookies(proxy_url, replica_urls):
    """{replica URL: a route cookie value that nginx sends to that replica}, found by asking nginx (X-Replica)."""
    found = {}
    for i in range(200):
        req = urllib.request.Request(proxy_url + "/_stcore/health", headers={"Cookie": f"{COOKIE}=route{i}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            found.setdefault("http://" + r.headers["X-Replica"], f"route{i}")
        if set(found) >= set(replica_urls):
            return {u: found[u] for u in replica_urls}
    raise AssertionError(f"nginx sent 200 routes to {sorted(found)} only")


@contextlib.contextmanager
def visitor(browser, proxy_url, route, errors):
    """A fresh browser context (no cookies, no session) whose route cookie pins it to one replica."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": COOKIE, "value": route, "url": proxy_url}])
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource: the server "
                                                                             "responded with a status of 404")
            and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    try:
        yield page
    finally:
        context.close()


def visit(page, url, expect_text):
    response = page.goto(url)
    page.get_by_text(expect_text).first.wait_for(timeout=90_000)
    wait_idle(page, timeout=90_000)
    page.wait_for_timeout(300)
    return response


def copied_link(page):
    """The sidebar's link box, as a path and query (what a teacher copies and sends)."""
    parts = urlsplit(page.get_by_test_id("stSidebar").locator('[data-testid="stCode"]').inner_text().strip())
    return f"{parts.path}?{parts.query}"


def accuracy(page):
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Accuracy").first
    return metric.locator('[data-testid="stMetricValue"]').inner_text()


def picked_model(page):
    """The label of the model picked in the sidebar's menu, read by opening it (and closing it again)."""
    page.get_by_test_id("stSidebar").locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
    label = page.get_by_role("option", selected=True).inner_text()
    page.keyboard.press("Escape")
    return label


def wait_for_model(page, model_id):
    """Wait until the page's URL names model_id (the picker writes it) and the run is over."""
    page.wait_for_url(re.compile(r"model=" + re.escape(model_id.replace(":", "%3A"))), timeout=60_000)
    wait_idle(page)


def streams(folder):
    """{route cookie: {replica addresses}} of the WebSocket connections nginx passed on (from its access log)."""
    out = {}
    for line in (folder / "access.log").read_text().splitlines():
        addr, cookie, uri = line.split(" ", 2)
        if uri.startswith("/_stcore/stream"):
            out.setdefault(cookie, set()).add(addr)
    return out


def wait_answering(url, *, timeout=90):
    """Wait until url/_stcore/health answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def launcher_pid(log_dir, url):
    """The PID the launcher's log gives for the latest start of the replica at url."""
    pids = re.findall(rf"replica on {re.escape(url)} \(pid (\d+)\)", (Path(log_dir) / "launcher.log").read_text())
    return int(pids[-1])


def test_the_shipped_nginx_conf_is_the_launchers_output():
    printed = subprocess.run([sys.executable, str(LAUNCHER), "nginx"], check=True, capture_output=True, text=True).stdout
    assert (ROOT / "deploy" / "nginx.conf").read_text() == printed  # regenerate it when the launcher changes
    for needed in ("hash $mnist_route consistent;", "proxy_set_header Upgrade $http_upgrade;", "proxy_read_timeout 1d;",
                   "proxy_set_header Host $http_host;", "client_max_body_size 64m;", "server 127.0.0.1:8502"):
        assert needed in printed, needed
    assert "X-Replica" not in printed  # the test-only header stays out of the shipped file


def test_the_launchers_configuration_passes_nginx_t(nginx_bin, tmp_path):
    conf = nginx_conf(tmp_path, 8080, 9001, 3)
    subprocess.run([nginx_bin, "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf), "-t", "-q"],
                   check=True)
    assert conf.read_text().count("server 127.0.0.1:900") == 3


@pytest.mark.parametrize("n", ["0", "65", "two"])
def test_the_launcher_refuses_a_silly_count(n):
    done = subprocess.run([sys.executable, str(LAUNCHER), "run", "--replicas", n], capture_output=True, text=True)
    assert done.returncode == 2 and "--replicas" in done.stderr


@pytest.mark.browser
@pytest.mark.mnist
def test_links_reopen_on_the_other_replica_and_after_a_restart(browser, nginx_bin, mnist_dir, tmp_path):
    store, cache = tmp_path / "store", tmp_path / "cache"
    env = {**os.environ, "MNIST_DIR": str(mnist_dir), "MNIST_EXPLORER_CACHE": str(cache), "MNIST_EXPLORER_STORE": str(store)}
    env.pop("STREAMLIT_SERVER_COOKIE_SECRET", None)
    base = consecutive_free_ports(2)
    errors = []
    with replicas(env, base, tmp_path / "logs") as (one, two), nginx(nginx_bin, tmp_path / "nginx", base) as proxy:
        routes = route_cookies(proxy, [one, two])

        # --- the teacher, on replica one: train a model in the browser, share it, read its accuracy
        with visitor(browser, proxy, routes[one], errors) as page:
            response = visit(page, proxy + "/evaluate?model=default", "Accuracy")
            assert response.headers["x-replica"] == one.removeprefix("http://")
            default_accuracy = accuracy(page)
            visit(page, proxy + TRAIN_QUERY, "Train a network")
            page.get_by_role("button", name="Train", exact=True).click()
            page.get_by_text("Finished in").first.wait_for(timeout=180_000)
            wait_idle(page)
            page.get_by_role("button", name="Use it on every page").click()
            wait_for_model(page, "session:")
            trained = dict(parse_qsl(urlsplit(page.url).query))["model"]
            page.get_by_role("button", name="Share this model").click()
            page.get_by_text("Shared as shared:").first.wait_for(timeout=60_000)
            wait_idle(page)
            mid = dict(parse_qsl(urlsplit(copied_link(page)).query))["model"]
            assert re.fullmatch(r"shared:[0-9a-f]{16}", mid), (trained, mid)
            assert (store / f"{mid.removeprefix('shared:')}.npz").is_file()
            visit(page, proxy + f"/evaluate?model={mid}", "Accuracy")
            wait_for_model(page, mid)
            model_link = copied_link(page)
            shared_accuracy = accuracy(page)
            assert shared_accuracy != default_accuracy  # so the other side cannot pass by showing the default model
            screenshot(page, "replicas-shared")

            # and a drawing: a 7 drawn with the mouse on the single-image page
            visit(page, proxy + "/single?input=draw&model=default", "Draw a digit on the black canvas")
            draw(page, [(80, 60), (200, 60), (130, 230)])
            page.get_by_text("How your picture becomes an MNIST digit").wait_for(timeout=60_000)
            wait_idle(page)
            page.wait_for_timeout(500)
            drawn_answer = answer(page)
            drawing_link = copied_link(page)
            assert "draw=" in drawing_link and len(drawing_link) < 400

        # --- a student in a fresh browser, pinned to replica two: the same model, the same accuracy
        with visitor(browser, proxy, routes[two], errors) as page:
            response = visit(page, proxy + model_link, "Accuracy")
            assert response.headers["x-replica"] == two.removeprefix("http://")
            wait_for_model(page, mid)
            assert accuracy(page) == shared_accuracy
            assert picked_model(page).startswith(f"{mid.removeprefix('shared:')} (shared): ")  # the label names the shared model
            assert page.get_by_test_id("stSidebar").locator('[data-testid="stAlert"]').count() == 0  # no "missing" notice
            screenshot(page, "replicas-other")
        # the shared drawing opens on either replica, with the same answer
        for replica in (two, one):
            with visitor(browser, proxy, routes[replica], errors) as page:
                visit(page, proxy + drawing_link, "a shared drawing as 28 × 28")
                assert answer(page) == drawn_answer
                assert page.get_by_text("A drawing that came with the link").first.is_visible()
                screenshot(page, "replicas-drawing")
        ws = streams(tmp_path / "nginx")
        assert ws[routes[one]] == {one.removeprefix("http://")} and ws[routes[two]] == {two.removeprefix("http://")}

        # --- replica one dies (SIGKILL): the launcher starts it again, and the link opens on it from the store
        first = launcher_pid(tmp_path / "logs", one)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while launcher_pid(tmp_path / "logs", one) == first and time.monotonic() < deadline:
            time.sleep(0.5)
        assert launcher_pid(tmp_path / "logs", one) != first, "the launcher did not restart the replica"
        wait_answering(one)
        with visitor(browser, proxy, routes[one], errors) as page:
            visit(page, proxy + model_link, "Accuracy")
            wait_for_model(page, mid)
            assert accuracy(page) == shared_accuracy

        # --- bad links: a notice and the default view, never an error
        with visitor(browser, proxy, routes[two], errors) as page:
            visit(page, proxy + "/evaluate?model=shared:0123456789abcdef", "shared store holds no model with that address")
            assert accuracy(page) == default_accuracy
            visit(page, proxy + "/single?input=draw&draw=" + "A" * 5000, "The drawing in this link could not be read")
            assert page.get_by_text("test #0 as 28 × 28").first.is_visible()

    # --- both replicas restart (nothing in memory): the links still open, from the store and from the link itself
    with replicas(env, base, tmp_path / "logs") as (one, two), nginx(nginx_bin, tmp_path / "nginx2", base) as proxy:
        routes = route_cookies(proxy, [one, two])
        with visitor(browser, proxy, routes[two], errors) as page:
            visit(page, proxy + model_link, "Accuracy")
            wait_for_model(page, mid)
            assert accuracy(page) == shared_accuracy
            visit(page, proxy + drawing_link, "a shared drawing as 28 × 28")
            assert answer(page) == drawn_answer
    assert errors == []
