"""A real `streamlit run` server: a run belongs to its tab, and closing the tab's websocket stops it.

ui/jobs.py tells that a tab is gone by Runtime.is_active_session(session id of get_script_run_ctx()): Streamlit
internals, documented thread-safe but not public API. This test fails the day a Streamlit upgrade changes them.
"""
import asyncio
import concurrent.futures
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.conftest import ROOT

APP = '''
import sys, threading, time
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, {root!r})
import streamlit as st
from engine.train import TrainConfig
from ui import jobs


class Paused:
    """A training process that runs until it is stopped."""

    def __init__(self, spec, *, on_info, nice):
        self.stopped = threading.Event()

    def stop(self):
        self.stopped.set()

    def wait(self):
        self.stopped.wait(60)
        return {{}}, True


jobs.TrainProcess, jobs.GRACE, jobs.WATCH_EVERY = Paused, 1.0, 0.1
if "job" not in st.session_state:
    job = jobs.start("job", SimpleNamespace(folder="."), ["x"], TrainConfig(), n_train=600)

    def log(out=Path({out!r})):
        while True:
            out.write_text(f"{{job.state}} {{jobs.session_alive(job.session)}}")
            time.sleep(0.05)

    threading.Thread(target=log, daemon=True).start()
st.write("started")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """(url, status file) of a Streamlit server running APP; stopped after the test."""
    out = tmp_path / "status.txt"
    (tmp_path / "app.py").write_text(APP.format(root=str(ROOT), out=str(out)), encoding="utf-8")
    port = free_port()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        yield url, out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def status(out):
    return out.read_text() if out.exists() else ""


def wait_for(out, wanted, *, timeout):
    deadline = time.monotonic() + timeout
    while status(out) != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return status(out)


async def open_tab_then_close(url, out):
    """What a browser tab does: open the websocket, run the page, then go away; returns the statuses seen meanwhile."""
    ws = await websockets.connect(f"ws://{url.split('://')[1]}/_stcore/stream", subprotocols=["streamlit"], max_size=None)
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    await ws.send(msg.SerializeToString())
    while ForwardMsg.FromString(await ws.recv()).WhichOneof("type") != "script_finished":
        pass
    running = await asyncio.to_thread(wait_for, out, "preparing True", timeout=20)
    await ws.close()  # the tab is closed
    return running


def test_closing_the_tab_stops_its_run(server):
    url, out = server
    # in a thread of its own: asyncio.run refuses to start where Playwright's sync API already runs a loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        said = pool.submit(asyncio.run, open_tab_then_close(url, out)).result()
    assert said == "preparing True"  # the run is going and its tab is there
    time.sleep(0.3)
    assert status(out) == "preparing False"  # the tab is gone, but a reload may come back within the grace (1 s here)
    assert wait_for(out, "stopped False", timeout=10) == "stopped False"
