"""A tiny HTTP server on 127.0.0.1 for download tests: serves bytes, error codes, dropped and stalled responses."""
import http.server
import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class Drop:
    """Send headers with the full Content-Length, then only the first `sent` bytes of body, then close."""
    body: bytes
    sent: int


@dataclass
class Stall:
    """Wait `seconds` before answering at all (a mirror that accepts but never replies in time)."""
    seconds: float


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers GET from the server's routes: bytes -> 200, int -> that status, Drop / Stall as described."""

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path, 404)
        if isinstance(route, Stall):
            time.sleep(route.seconds)
            route = 404
        if isinstance(route, int):
            self.send_error(route)
            return
        body = route.body if isinstance(route, Drop) else route
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if isinstance(route, Drop):
            self.wfile.write(body[:route.sent])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops midway through the body
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # keep test output clean


class LocalServer:
    """Context manager: serve `routes` ({'/path': bytes | status | Drop | Stall}) on 127.0.0.1 and a free port."""

    def __init__(self, routes):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # loopback only, port chosen by the OS
        self.httpd.daemon_threads = True
        self.httpd.routes = dict(routes)
        self.httpd.requests = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self):
        """Base URL, ending in '/'."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def requests(self):
        """Paths requested so far, in order."""
        return self.httpd.requests

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url():
    """A 127.0.0.1 URL on a port nothing listens on: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
