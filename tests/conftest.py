"""Shared fixtures: a private cache per test session, synthetic MNIST, and the real data when present."""
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.synth import write_mnist

ROOT = Path(__file__).resolve().parents[1]


NEEDS = "needs a resource:"  # prefix of require_or_skip's reasons, so the summary can count them on one line


def require_or_skip(env_flag, reason):
    """Skip with a reason, or fail when env_flag (REQUIRE_MNIST / REQUIRE_BROWSER) says the resource must be here."""
    if os.environ.get(env_flag) == "1":
        pytest.fail(f"{reason}, but {env_flag}=1 says it must be available")
    pytest.skip(f"{NEEDS} {reason}")


def _reason(report):
    """The reason text of a skipped test's report."""
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter):
    """One line for all skips for want of data or a browser (with what they need), one line per other skip reason."""
    reasons = Counter(_reason(r) for r in terminalreporter.stats.get("skipped", []))
    if not reasons:
        return
    needs = {r.removeprefix(NEEDS).strip(): n for r, n in reasons.items() if r.startswith(NEEDS)}
    if needs:
        what = "; ".join(sorted(needs))
        terminalreporter.write_line(f"SKIPPED {sum(needs.values())} tests that need real data or a browser ({what}); "
                                    "REQUIRE_MNIST=1 / REQUIRE_BROWSER=1 turn these skips into failures")
    for reason, n in sorted(reasons.items()):
        if not reason.startswith(NEEDS):
            terminalreporter.write_line(f"SKIPPED {n}: {reason}")


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory):
    """Point the engine's user cache at a temp folder so tests never read or write the real one."""
    old = os.environ.get("MNIST_EXPLORER_CACHE")
    os.environ["MNIST_EXPLORER_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield Path(os.environ["MNIST_EXPLORER_CACHE"])
    if old is None:
        os.environ.pop("MNIST_EXPLORER_CACHE", None)
    else:
        os.environ["MNIST_EXPLORER_CACHE"] = old


@pytest.fixture(scope="session")
def synth_mnist(tmp_path_factory):
    """(folder, arrays) of small synthetic MNIST files, gzipped, under the standard names."""
    return write_mnist(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def mnist_dir():
    """The real MNIST folder from $MNIST_DIR; skip (or fail under REQUIRE_MNIST=1) when absent."""
    d = os.environ.get("MNIST_DIR")
    if not d or not Path(d).is_dir():
        require_or_skip("REQUIRE_MNIST", "real MNIST needs MNIST_DIR set to a folder with the four files")
    return Path(d)


@pytest.fixture(scope="session")
def book_weights():
    """The book's sample_weight.pkl from $BOOK_WEIGHTS; skip (or fail under REQUIRE_MNIST=1) when absent."""
    p = os.environ.get("BOOK_WEIGHTS")
    if not p or not Path(p).is_file():
        require_or_skip("REQUIRE_MNIST", "the book's weights need BOOK_WEIGHTS set to sample_weight.pkl")
    return Path(p)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty user cache for this test only, with no MNIST_DIR and no MNIST_MIRRORS to fall back on."""
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.delenv("MNIST_MIRRORS", raising=False)
    return tmp_path / "cache"


class WriteRecorder:
    """A stand-in stdout that appends ("write", text) and ("flush",) to events, in the order they happen."""

    def __init__(self, events):
        self.events = events

    def write(self, text):
        self.events.append(("write", text))

    def flush(self):
        self.events.append(("flush",))
