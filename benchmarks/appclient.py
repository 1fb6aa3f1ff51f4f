"""A Streamlit client without a browser: one websocket session that reruns pages and reads what the server sends.

What a browser tab does, in protocol terms: GET /_stcore/health (which sets the _streamlit_xsrf cookie), open the
websocket /_stcore/stream with subprotocols ["streamlit", token], send BackMsg.rerun_script (page_name = the page's
url path, "" for the default one; query_string) and read ForwardMsgs until script_finished. Streamlit 1.67 accepts
the websocket without the cookie or the token (it checks them only before reading auth cookies; file uploads need
them), but a browser sends both, so this client does too.

Widgets, as the frontend drives them: a rerun carries WidgetStates; a button press is its element id (read from the
previous run's new_element, e.g. "$$ID-<hash>-tr_start", so a key finds it) with trigger_value=True. An upload asks
for URLs (BackMsg.file_urls_request), PUTs the file as multipart with the X-Xsrftoken header to
/_stcore/upload_file/<session>/<file id>, then reruns with the uploader's file_uploader_state_value. A fragment with
run_every announces itself (ForwardMsg.auto_rerun) in each full run; follow() reruns it at that pace, as a tab does.
"""
import asyncio
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

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
    kind: str = "page"  # "page", "press" (a button), "upload", "fragment" (an auto-rerun)
    notes: list = field(default_factory=list)  # [(ERROR|WARNING|INFO|SUCCESS|PROGRESS, text)]: the alerts and progress bars

    def said(self, fmt, text=""):
        """The notes of format fmt that contain text."""
        return [body for f, body in self.notes if f == fmt and text in body]


def put_file(url, name, data, *, cookie, token, timeout=30):
    """PUT one file as multipart/form-data, as the frontend's uploader does; the HTTP status."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie, "X-Xsrftoken": token})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def xsrf_cookie(url):
    """The Cookie header a browser would hold after its first request (Streamlit sets _streamlit_xsrf there)."""
    with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
        return "; ".join(c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or [])


class Session:
    """One browser tab's worth of protocol: a websocket on /_stcore/stream that reruns pages and reads ForwardMsgs."""

    def __init__(self, url, number):
        self.url, self.number, self.ws, self.pages = url, number, None, None
        self.cookie = self.token = self.session_id = ""
        self.widgets = {}  # element id of every widget in the last full run: a key finds its id by the "-KEY" suffix
        self.auto = {}  # fragment id -> seconds, the auto-reruns the last full run asked for
        self.page_hash = ""  # the page_script_hash of the page the last full run showed
        self._requests = 0

    async def open(self, *, timeout):
        self.cookie = cookie = await asyncio.to_thread(xsrf_cookie, self.url)
        self.token = token = cookie.split("_streamlit_xsrf=", 1)[1].split(";")[0] if "_streamlit_xsrf=" in cookie else ""
        host = self.url.split("://", 1)[1]
        self.ws = await asyncio.wait_for(websockets.connect(
            f"ws://{host}/_stcore/stream", subprotocols=["streamlit", token] if token else ["streamlit"],
            additional_headers={"Cookie": cookie, "Origin": self.url}, max_size=None, open_timeout=timeout), timeout)

    def widget_id(self, key):
        """The element id of the widget with this key in the last full run; None if it drew none."""
        return next((w for w in self.widgets if w.endswith("-" + key)), None)

    async def rerun(self, run, *, timeout, states=(), fragment=None):
        """Send BackMsg.rerun_script for run.page?run.query with these WidgetStates (only fragment, if given);
        fill run.ms, run.error, run.exceptions and run.notes."""
        msg = BackMsg()
        msg.rerun_script.page_name, msg.rerun_script.query_string = run.page, run.query
        msg.rerun_script.widget_states.widgets.extend(states)
        if fragment:  # with the page's hash, as a browser sends it: an st.rerun() in the fragment reruns this page
            msg.rerun_script.fragment_id, msg.rerun_script.is_auto_rerun = fragment, True
            msg.rerun_script.page_script_hash = self.page_hash
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

    async def press(self, run, key, *, timeout):
        """Press the button with this key (drawn by the session's last full run) and rerun run.page?run.query."""
        run.kind = "press"
        wid = self.widget_id(key)
        if wid is None:
            run.error = f"no widget with key {key!r} in this session's last full run"
            return run
        return await self.rerun(run, timeout=timeout, states=[WidgetState(id=wid, trigger_value=True)])

    async def upload(self, run, key, name, data, *, timeout):
        """Give the file uploader with this key a file, as a browser does (see the module's doc); run.ms is the whole."""
        run.kind, start, wid = "upload", time.perf_counter(), self.widget_id(key)
        if wid is None:
            run.error = f"no widget with key {key!r} in this session's last full run"
            return run
        self._requests += 1
        msg = BackMsg()
        req = msg.file_urls_request
        req.request_id, req.session_id = f"r{self._requests}", self.session_id
        req.file_names.append(name)
        try:
            async with asyncio.timeout(max(timeout, 0.01)):
                await self.ws.send(msg.SerializeToString())
                while (fwd := ForwardMsg.FromString(await self.ws.recv())).WhichOneof("type") != "file_urls_response":
                    pass
                urls = fwd.file_urls_response.file_urls[0]
                status = await asyncio.to_thread(put_file, self.url + urls.upload_url, name, data, cookie=self.cookie,
                                                 token=self.token, timeout=timeout)
        except (TimeoutError, websockets.ConnectionClosed, IndexError, OSError) as e:
            run.error = f"upload of {name} failed before the rerun ({type(e).__name__}: {e})"
            if isinstance(e, TimeoutError):
                await self.close()  # as rerun(): late messages must not be read as the next run's
            return run
        if status != 204:
            run.error = f"PUT {urls.upload_url} answered {status}"
            return run
        state = WidgetState(id=wid)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        await self.rerun(run, timeout=timeout - (time.perf_counter() - start), states=[state])
        run.ms = (time.perf_counter() - start) * 1000
        return run

    async def follow(self, run_of, *, seconds, timeout, until=None):
        """Rerun the page's run_every fragments at their pace, as an open tab does, until none is left, `seconds` have
        passed or until() is true; run_of() gives each rerun's Run. Returns the Runs."""
        runs, due, end = [], {}, time.monotonic() + seconds
        while self.auto and time.monotonic() < end and not (until and until()) and self.ws is not None:
            now = time.monotonic()
            due = {f: due.get(f, now + every) for f, every in self.auto.items()}
            frag = min(due, key=due.get)
            if due[frag] > now:
                await asyncio.sleep(min(due[frag] - now, end - now, 0.25))  # short naps: until() is checked often
                continue
            run = run_of()
            run.kind = "fragment"
            runs.append(await self.rerun(run, timeout=timeout, fragment=frag))
            due[frag] = max(due[frag] + self.auto.get(frag, 0), time.monotonic())  # no burst to catch up
            if run.error:
                break
        return runs

    def _read(self, fwd, run):
        """Note what one ForwardMsg says about the run; True when the run is over."""
        kind = fwd.WhichOneof("type")
        if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            el = fwd.delta.new_element
            etype = el.WhichOneof("type")
            if etype == "exception":
                run.exceptions.append((el.exception.type, el.exception.message, list(el.exception.stack_trace)))
            elif etype == "alert":
                run.notes.append((Alert.Format.Name(el.alert.format), el.alert.body))
            elif etype == "progress":
                run.notes.append(("PROGRESS", el.progress.text))
            elif (wid := getattr(getattr(el, etype), "id", "")) if etype else "":
                self.widgets[wid] = etype
        elif kind == "new_session":  # a run begins; a full one (no fragment ids) announces its auto-reruns afresh
            self.session_id = fwd.new_session.initialize.session_id or self.session_id
            if not fwd.metadata.run.fragment_ids:  # widget ids hold the page's script hash: keep this page's only
                self.auto, self.widgets = {}, {}
        elif kind == "auto_rerun":
            self.auto[fwd.auto_rerun.fragment_id] = fwd.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for f in fwd.stop_auto_rerun.fragment_ids:
                self.auto.pop(f, None)
        elif kind == "navigation":
            self.pages = [p.url_pathname for p in fwd.navigation.app_pages if not p.external_url]
            self.page_hash = fwd.navigation.page_script_hash  # the page st.navigation chose (new_session has the router's)
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
