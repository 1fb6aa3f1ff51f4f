"""The server's guards of training, shared by every session: slots (runs at once and a bounded line), and whether a
session's tab is still there. Module state with locks, not st.cache_resource: any client may clear those caches."""
import threading

from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

MAX_RUNNING = 2  # the machine has 2 cores: a third run in parallel would only slow the others and every page
MAX_WAITING = 4  # queued runs beyond the running ones; more are refused (18 queued tabs slowed every page 25x)


class Slots:
    """The server's training slots: `size` runs at once, `queue` more waiting in line, nobody else admitted."""

    def __init__(self, size, queue):
        self.size, self.queue, self.taken, self.waiting = size, queue, 0, 0
        self._cond = threading.Condition()

    def enter(self):
        """Take a place in the line; False (and nothing changes) when the line is full."""
        with self._cond:
            if self.taken + self.waiting >= self.size + self.queue:
                return False
            self.waiting += 1
            return True

    def acquire(self, *, timeout):
        """Move from the line into a free slot; False if none came free within timeout seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.taken < self.size, timeout):
                return False
            self.waiting, self.taken = self.waiting - 1, self.taken + 1
            return True

    def leave(self):
        """Give up a place in the line."""
        with self._cond:
            self.waiting -= 1

    def release(self):
        with self._cond:
            self.taken -= 1
            self._cond.notify()


SLOTS = Slots(MAX_RUNNING, MAX_WAITING)


def this_session():
    """The id of the Streamlit session running this script (None outside one)."""
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def session_alive(session_id):
    """Whether session_id still has a connected tab; True where no server runs (AppTest), as nothing can tell.

    Runtime.is_active_session is thread-safe; a session leaves the active set when its websocket closes and comes
    back when the tab reconnects. Internal API: tests/test_jobs_session.py fails the day that changes.
    """
    return not runtime.exists() or runtime.get_instance().is_active_session(session_id)
