"""Grep guards for SECURITY.md: no pickle execution, no network access but the MNIST download, telemetry off, XSRF on."""
import re
import tomllib

from tests.conftest import ROOT

SOURCE_DIRS = ("engine", "ui", "pages", "views")


def project_sources():
    """Every shipped Python file (tests and benchmarks are not shipped code)."""
    files = [ROOT / "dashboard.py"] if (ROOT / "dashboard.py").exists() else []
    for d in SOURCE_DIRS:
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def lines_matching(pattern):
    rx = re.compile(pattern)
    return [(p.relative_to(ROOT).as_posix(), n, line.strip())
            for p in project_sources() for n, line in enumerate(p.read_text().splitlines(), 1) if rx.search(line)]


def test_sources_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in project_sources()}
    assert "engine/bookpickle.py" in names and "engine/download.py" in names


def test_pickle_is_only_read_by_the_restricted_unpickler():
    hits = lines_matching(r"\bpickle\.(loads?|Unpickler)\b|\bcPickle\b|\bdill\b|\bjoblib\.load\b|\btorch\.load\b")
    assert {h[0] for h in hits} <= {"engine/bookpickle.py"}, hits
    assert any("class SafeUnpickler(pickle.Unpickler)" in h[2] for h in hits)


def test_no_allow_pickle_true_anywhere():
    assert lines_matching(r"allow_pickle\s*=\s*True") == []


def test_only_the_downloader_touches_the_network():
    hits = lines_matching(r"\b(urllib\.request|urlopen|http\.client|requests\.|socket\.|httpx|aiohttp)\b")
    assert {h[0] for h in hits} <= {"engine/download.py"}, hits


def test_no_eval_or_exec_of_strings():
    assert lines_matching(r"(?<![\w.])(eval|exec)\(") == []


def test_streamlit_config_keeps_telemetry_off_and_xsrf_on():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["server"]["headless"] is True
    assert cfg["server"].get("enableXsrfProtection", True) is True
    assert 1 <= cfg["server"]["maxUploadSize"] <= 200


def test_no_material_icons_that_fetch_a_font():
    assert lines_matching(":" + "material/") == []  # split so this guard does not match itself
