"""A `streamlit run dashboard.py` for benchmarks: free 127.0.0.1 port, private cache, stopped by its PID; its RSS from /proc."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """Context manager: start the dashboard (os.environ updated by env; None unsets), wait until it is healthy, stop it after.

    The engine's cache (MNIST_EXPLORER_CACHE) is a fresh temporary folder unless env sets it, so the first visit
    really is a cold start (gz files parsed) and the user's own cache is never touched.
    """

    def __init__(self, *, env=None, timeout=60.0):
        self.env, self.timeout, self.proc, self.url, self._tmp = dict(env or {}), timeout, None, None, None

    @property
    def pid(self):
        return self.proc.pid

    def __enter__(self):
        self._tmp = tempfile.mkdtemp(prefix="mnist-explorer-server-")
        # MALLOC_ARENA_MAX=2 as in the README's run command: glibc otherwise keeps one arena per session thread
        # (20 sessions: peak 669 MB without it, 499 MB with it); an explicit value in the environment wins
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "MNIST_EXPLORER_CACHE": str(Path(self._tmp) / "cache"), **self.env}
        env = {k: v for k, v in env.items() if v is not None}  # env={"BOOK_WEIGHTS": None} unsets it
        port = free_port()
        self.log = Path(self._tmp) / "streamlit.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                 "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_healthy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_healthy(self):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"streamlit was not healthy at {self.url} within {self.timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, chars=3000):
        """The end of the server's output (tracebacks land here)."""
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return ""

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)


def status_kb(pid, field):
    """A kB field of /proc/PID/status (VmRSS: resident now, VmHWM: the kernel's record of the peak), or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class RssMeter:
    """Polls a process's VmRSS every `every` s in a thread while in a with-block; peak is also checked against VmHWM."""

    def __init__(self, pid, *, every=0.05):
        self.pid, self.every, self._peak_kb = pid, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        while not self._stop.wait(self.every):
            self._peak_kb = max(self._peak_kb, status_kb(self.pid, "VmRSS") or 0)

    def __enter__(self):
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def now_mb(self):
        """Resident set size now, in MB (2**20 bytes); None without a pid."""
        kb = status_kb(self.pid, "VmRSS") if self.pid is not None else None
        return None if kb is None else kb / 1024

    def peak_mb(self):
        """The highest RSS of the process's life so far (VmHWM, never lower than what polling saw), in MB."""
        if self.pid is None:
            return None
        return max(self._peak_kb, status_kb(self.pid, "VmHWM") or 0) / 1024
