"""A Streamlit client without a browser: one websocket session that reruns pages and reads what the server sends.

What a browser tab does, in protocol terms: GET /_stcore/health (which sets the _streamlit_xsrf cookie), open the
websocket /_stcore/stream with subprotocols ["streamlit", token], send BackMsg.rerun_script (page_name = the page's
url path, "" for the default one; query_string) and read ForwardMsgs until script_finished. Streamlit 1.67 accepts
the websocket without the cookie or the token (it checks them only before reading auth cookies; file uploads need
them), but a browser sends both, so this client does too.
"""
import asyncio
import time
import urllib.request
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

EARLY = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")  # st.rerun(): another run follows
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_WITH_COMPILE_ERROR")


@dataclass
class Run:
    """One rerun as a client saw it: page, query, wall time from request to script_finished, and what went wrong."""

    session: int
    phase: str  # what the caller was doing: "warm-up", "load", ...
    page: str  # url_pathname; "" is the default page
    query: str
    ms: float = 0.0
    error: str | None = None  # a failure: closed connection, timeout, page not found, compile error
    exceptions: list = field(default_factory=list)  # [(type, message, stack trace lines)] shown on the page


def xsrf_cookie(url):
    """The Cookie header a browser would hold after its first request (Streamlit sets _streamlit_xsrf there)."""
    with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
        return "; ".join(c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or [])


class Session:
    """One browser tab's worth of protocol: a websocket on /_stcore/stream that reruns pages and reads ForwardMsgs."""

    def __init__(self, url, number):
        self.url, self.number, self.ws, self.pages = url, number, None, None

    async def open(self, *, timeout):
        cookie = await asyncio.to_thread(xsrf_cookie, self.url)
        token = cookie.split("_streamlit_xsrf=", 1)[1].split(";")[0] if "_streamlit_xsrf=" in cookie else ""
        host = self.url.split("://", 1)[1]
        self.ws = await asyncio.wait_for(websockets.connect(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit", token] if token else ["streamlit"],
            additional_headers={"Cookie": cookie, "Origin": self.url}, max_size=None, open_timeout=timeout), timeout)

    async def rerun(self, run, *, timeout):
        """Send BackMsg.rerun_script for run.page?run.query; fill run.ms, run.error and run.exceptions."""
        msg = BackMsg()
        msg.rerun_script.page_name, msg.rerun_script.query_string = run.page, run.query
        start = time.perf_counter()
        try:
            async with asyncio.timeout(max(timeout, 0.01)):
                await self.ws.send(msg.SerializeToString())
                while not self._read(ForwardMsg.FromString(await self.ws.recv()), run):
                    pass
        except TimeoutError:
            run.error = f"no script_finished within {timeout:.0f} s"
            await self.close()  # its late messages must not be read as the next run's: later runs fail as "closed"
        except websockets.ConnectionClosed as e:
            run.error = f"websocket closed ({e})"
        run.ms = (time.perf_counter() - start) * 1000
        return run

    def _read(self, fwd, run):
        """Note what one ForwardMsg says about the run; True when the run is over."""
        kind = fwd.WhichOneof("type")
        if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            el = fwd.delta.new_element
            if el.WhichOneof("type") == "exception":
                run.exceptions.append((el.exception.type, el.exception.message, list(el.exception.stack_trace)))
        elif kind == "navigation":
            self.pages = [p.url_pathname for p in fwd.navigation.app_pages if not p.external_url]
        elif kind == "page_not_found":
            run.error = f"page not found: {run.page!r}"
        elif kind == "session_event" and fwd.session_event.WhichOneof("type") == "script_compilation_exception":
            run.error = f"script compilation error: {fwd.session_event.script_compilation_exception.message}"
        elif kind == "script_finished" and fwd.script_finished != EARLY:
            if fwd.script_finished == COMPILE_ERROR and not run.error:
                run.error = "script finished with a compile error"
            return True
        return False

    async def close(self):
        if self.ws is not None:
            await self.ws.close()
