"""Grep guards for SECURITY.md: no pickle execution, no network access but the MNIST download, telemetry off, XSRF on."""
import ast
import re
import tomllib

import pytest

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
    hits = lines_matching(r"\bpickle\.(loads?|Unpickler)\b|\bcPickle\b|\bdill\b|\bjoblib\.load\b|\btorch\.load\b|\bread_pickle\b")
    assert {h[0] for h in hits} <= {"engine/bookpickle.py"}, hits
    assert any("class SafeUnpickler(pickle.Unpickler)" in h[2] for h in hits)


# modules that turn bytes into objects by running code; only engine/bookpickle.py may import pickle, to restrict it
CODE_RUNNING_LOADERS = {"pickle", "_pickle", "cPickle", "marshal", "dill", "cloudpickle", "joblib", "shelve"}
DYNAMIC_IMPORTS = {"__import__", "import_module"}


def imports_of(source):
    """[(line, module)] for every import in Python source, in any form: import, from-import, __import__, import_module.

    A dynamic import whose name is not a string literal is reported as '?', since it could name anything.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):  # `from pickle import loads`; `from . import pickle` names the module last
            found += [(node.lineno, node.module)] if node.module else [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in DYNAMIC_IMPORTS:
            found.append((node.lineno, _literal_name(node.args[0] if node.args else None)))
    return found


def _literal_name(arg):
    """The module a dynamic import names: a string literal, f"{__name__}.x" (the package's own module), else '?'."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and len(arg.values) > 1 and getattr(arg.values[0], "value", None) is not None:
        first, second = arg.values[0].value, arg.values[1]
        if getattr(first, "id", None) == "__name__" and isinstance(second, ast.Constant) and str(second.value).startswith("."):
            return "__name__.submodule"
    return "?"


def loader_imports(source):
    """[(line, module)] of the imports in source that load a code-running deserializer, or could (a computed name)."""
    return [(n, m) for n, m in imports_of(source) if m == "?" or m.split(".")[0] in CODE_RUNNING_LOADERS]


@pytest.mark.parametrize("source", [
    "from pickle import loads", "import pickle as p", "import os, marshal", "from dill import load",
    "import cloudpickle.cloudpickle", "from _pickle import Unpickler", "def f():\n    import joblib",
    "shelf = __import__('shelve')", "import importlib\nm = importlib.import_module('pickle')",
    "name = 'pic' + 'kle'\nm = __import__(name)", "from . import pickle", "m = importlib.import_module(f'{x}.y')",
])
def test_the_import_guard_catches_every_form(source):
    assert loader_imports(source), source


@pytest.mark.parametrize("source", [
    "from engine.bookpickle import safe_unpickle", "import pickletools", "from .bookpickle import safe_unpickle",
    "# import pickle", "text = 'import pickle'", "import numpy as np", "m = importlib.import_module(f'{__name__}.{name}')",
])
def test_the_import_guard_leaves_other_imports_alone(source):
    assert loader_imports(source) == []


def test_only_the_restricted_unpickler_imports_a_code_running_loader():
    hits = {p.relative_to(ROOT).as_posix(): [m for _, m in loader_imports(p.read_text())] for p in project_sources()}
    assert hits.pop("engine/bookpickle.py") == ["pickle"]
    assert {path: found for path, found in hits.items() if found} == {}


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


def test_no_full_garbage_collection_after_every_script_run(monkeypatch):
    """runner.postScriptGC made each 0.5 s progress poll of a training tab cost ~70 ms of a core (benchmarks/bench_follow);
    read through Streamlit's own config loader, so a misspelt option (which Streamlit ignores) fails here."""
    from streamlit import config
    monkeypatch.chdir(ROOT)
    config.get_config_options(force_reparse=True)
    assert config.get_option("runner.postScriptGC") is False
    assert config.get_option("browser.gatherUsageStats") is False
