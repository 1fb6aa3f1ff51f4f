"""Many users at once, small: the load script against a cold server, the room mix (uploads, training, compare) in
small, one MNIST load under 20 simultaneous first calls, bounded per-session state. The full runs are
`python3 -m benchmarks.load` and `python3 -m benchmarks.room` (by hand; figures in docs/benchmarks.md, docs/security.md)."""
import json
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

import ui.loaders
from benchmarks.appserver import AppServer
from benchmarks.load import TARGETS, broken_targets, run_load
from benchmarks.pagequery import pages_in_router, params_in_file, router_pages
from benchmarks.room import run_room
from engine.modelfile import model_bytes
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, random_model, run_page, write_models
from tests.conftest import ROOT
from ui.models import shipped

app_env = apptest_helpers.app_env  # fixture: synthetic MNIST (600 + 100 images) and two small models


@pytest.fixture(scope="module")
def small_report(synth_mnist, tmp_path_factory):
    """3 sessions x 2 reruns against a freshly started server on synthetic MNIST: its first runs are a cold start."""
    folder, _ = synth_mnist
    models = write_models(tmp_path_factory.mktemp("models"))
    env = {"MNIST_DIR": str(folder), "MNIST_EXPLORER_MODELS": str(models), "BOOK_WEIGHTS": None, "MNIST_MIRRORS": None}
    with AppServer(env=env, timeout=45) as server:
        # in a thread of its own: asyncio.run refuses to start where Playwright's sync API already runs a loop
        out = []
        th = threading.Thread(target=lambda: out.append(run_load(server.url, sessions=3, reruns=2, pid=server.pid, deadline_s=60)))
        th.start()
        th.join(timeout=120)
        assert out, "the small load run did not finish within 2 minutes"
        report = out[0]
        report["server_log"] = server.log_tail()
    return report


def test_small_load_has_no_failures_and_no_app_exceptions(small_report):
    assert small_report["failures"] == 0 and small_report["exceptions"] == 0, small_report["problems"]
    assert broken_targets(small_report) == []
    assert "Traceback" not in small_report["server_log"], small_report["server_log"]


def test_small_load_reports_every_figure_the_issue_asks_for(small_report):
    r = small_report
    assert r["runs"] == 3 + 3 * 2  # each session's first visit, then its reruns
    assert set(r["pages"]) == set(router_pages())  # every page in ui/nav.py, "" being the default
    lat = r["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["max"] < 60_000
    rss = r["rss_mb"]
    assert all(isinstance(rss[k], float) for k in ("warm", "after", "peak")), rss
    assert 60 < rss["warm"] and rss["after"] <= rss["peak"] <= TARGETS["peak_rss_mb"], rss  # a Streamlit server is ~100+ MB
    assert r["elapsed_s"] < 60


@pytest.fixture(scope="module")
def room_report(synth_mnist, tmp_path_factory):
    """benchmarks/room.py's mix, small: 4 sessions x 3 reruns on synthetic MNIST, each session uploading a model
    (net0.npz, truncated.npz, net1.npz, the zip bomb), session 0 training, sessions 1 and 3 on the compare tab.
    One tab visits every page first: the cold start under load is small_report's subject, this one's is the mix."""
    folder, _ = synth_mnist
    models = write_models(tmp_path_factory.mktemp("models"))
    env = {"MNIST_DIR": str(folder), "MNIST_EXPLORER_MODELS": str(models), "BOOK_WEIGHTS": None, "MNIST_MIRRORS": None}
    with AppServer(env=env, timeout=45) as server:
        out = []

        def warm_then_mix():
            warm = run_load(server.url, sessions=1, reruns=len(router_pages()), deadline_s=60)
            out.append((warm, run_room(server.url, pid=server.pid, sessions=4, reruns=3, probe_reruns=0, deadline_s=60,
                                       compare="tab=compare&cmp=default,small&lang=en")))
        th = threading.Thread(target=warm_then_mix)  # in a thread of its own, as small_report
        th.start()
        th.join(timeout=120)
        assert out, "the small room run did not finish within 2 minutes"
        warm, report = out[0]
        assert warm["failures"] == 0, warm["problems"]
        report["server_log"] = server.log_tail()
    return report


def test_the_room_mix_uploads_trains_and_compares_without_a_failure(room_report):
    r = room_report
    assert r["failures"] == 0 and r["exceptions"] == 0, json.dumps(r["problems"], indent=1)
    assert "Traceback" not in r["server_log"], r["server_log"]
    assert r["outcomes"]["upload"] == {"accepted": 2, "refused": 2}  # each hostile file: exactly one error, no exception
    assert r["outcomes"]["train"] == {"done": 1}  # Train pressed through the protocol, the run followed to its end
    assert r["runs_by_kind"]["compare"] == 2 and r["runs_by_kind"]["press"] == 1 and r["runs_by_kind"]["fragment"] >= 1
    assert "unpacks to 268,435,584 bytes" in r["hostile_errors"]["bomb.npz"]
    assert 60 < r["rss_mb"]["peak"] <= TARGETS["peak_rss_mb"], r["rss_mb"]
    assert r["elapsed_s"] < 60


def test_page_discovery_follows_the_router():
    pages = pages_in_router()
    assert pages[""] == pages["home"] == ROOT / "dashboard.py"
    assert pages["dataset"] == ROOT / "pages" / "dataset.py"
    params = params_in_file(pages["dataset"])
    assert params["tab"] == ["classes", "mean", "hist", "pca", "flags"]  # the literal TABS tuple of the page
    assert {"split", "digit", "page", "index", "sample"} <= set(params)


# --- cold start: simultaneous first calls load once ------------------------------------------------------------

def call_at_once(fn, n=20):
    """Call fn from n threads released together; returns the results."""
    gate, out = threading.Barrier(n), []

    def go():
        gate.wait()
        out.append(fn())
    threads = [threading.Thread(target=go) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    return out


def counting_slowly(monkeypatch, name):
    """Replace ui.loaders.NAME by a wrapper that counts calls and takes 0.3 s, so the first calls overlap."""
    calls, real = [], getattr(ui.loaders, name)

    def slow(*args, **kw):
        calls.append(args)
        time.sleep(0.3)
        return real(*args, **kw)
    monkeypatch.setattr(ui.loaders, name, slow)
    return calls


def test_twenty_simultaneous_first_sessions_load_mnist_once(app_env, monkeypatch):
    calls = counting_slowly(monkeypatch, "load_raw")
    got = call_at_once(ui.loaders.dataset)
    assert len(got) == 20 and len(calls) == 1
    assert len({id(d) for d in got}) == 1  # one Dataset, one copy of the arrays, shared by everyone
    img = got[0].images("train")
    assert not img.flags.writeable and img.dtype == np.uint8  # read-only uint8: nobody can change it for the others


def test_twenty_simultaneous_first_sessions_load_a_model_once(app_env, monkeypatch):
    calls = counting_slowly(monkeypatch, "load_model")
    path = shipped()["default"]  # app_env's models folder
    got = call_at_once(lambda: ui.loaders.model_file(path))
    assert len(calls) == 1 and len({id(m) for m in got}) == 1


def test_the_router_imports_pandas_whole_before_any_page_runs():
    # plotly reads sys.modules["pandas"] without waiting for an import in progress: on a cold start with several
    # sessions, a chart drawn while another session's thread was importing pandas raised AttributeError
    code = "import sys, ui.sidebar; m = sys.modules.get('pandas'); print(m is not None and not m.__spec__._initializing)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


# --- memory: no per-session copies, bounded session state -----------------------------------------------------

def arrays_in(value, seen=None, depth=0):
    """Every numpy array reachable from value through dicts, lists, tuples and object attributes."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return []
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        items = vars(value).values()
    else:
        return []
    return [a for v in items for a in arrays_in(v, seen, depth + 1)]


@pytest.mark.parametrize("url_path", [p for p in pages_in_router() if p])
def test_a_visit_keeps_no_image_arrays_in_session_state(app_env, url_path):
    at = run_page(url_path, query={"model": "default"})
    arrays = [a for _, v in at.session_state.items() for a in arrays_in(v)]
    n_images = {len(x) for x, _ in app_env.values()}  # 600 train, 100 test
    copies = [a.shape for a in arrays if a.ndim >= 2 and a.shape[0] in n_images and a[0].size >= 784]
    assert copies == [], f"session state holds per-image arrays {copies}: share the cached dataset instead"
    assert sum(a.nbytes for a in arrays) < 4 * 2**20  # models and small results only


def test_uploads_are_capped_at_five_per_session_and_the_ui_says_so(app_env):
    at = run_page("home")
    for i in range(7):
        data = model_bytes(random_model([784, 8, 10], seed=i, title=f"Upload {i}"))
        at.file_uploader(key="model_upload_file").set_value((f"net{i}.npz", data, "application/octet-stream")).run()
        assert_no_exception(at)
    labels = at.selectbox(key="model_pick").options  # "net6 (uploaded): sigmoid 784-8-10, …": name, origin, network
    assert [m.split(" ")[0] for m in labels if " (uploaded)" in m] == [f"net{i}" for i in range(2, 7)]
    assert at.selectbox(key="model_pick").value == "upload:net6"
    assert any("upload:net1 was removed: a session keeps at most 5 uploads" in s.value for s in at.success)


@pytest.mark.mnist
def test_a_warm_rerun_never_copies_the_training_images(mnist_dir, monkeypatch, tmp_path):
    """On real MNIST, a warm rerun of every page allocates less than one uint8 copy of the training images (47 MB)."""
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MNIST_EXPLORER_MODELS", raising=False)
    apptest_helpers.clear_caches()
    one_copy = 60_000 * 784
    peaks = {}
    for url_path in [p for p in pages_in_router() if p]:
        at = run_page(url_path, query={"model": "default"})  # cold for this page: its caches fill
        tracemalloc.start()
        try:
            at.run()
            peaks[url_path] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert_no_exception(at)
    apptest_helpers.clear_caches()
    assert all(p < one_copy for p in peaks.values()), {k: f"{v / 2**20:.0f} MB" for k, v in peaks.items()}
