"""Grep guards for SECURITY.md: no pickle execution, no network access but the MNIST download, telemetry off, XSRF on."""
import ast
import io
import pickle
import re
import tomllib

import numpy as np
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


# --- the restricted unpickler itself: what numpy's own pickles never hold is refused by name -------------------------

class Reduced:
    """Pickles as the (callable, args[, state]) it is given: to write by hand the pickles numpy never would."""

    def __init__(self, *reduce):
        self.reduce = reduce

    def __reduce__(self):
        return self.reduce


def array_with_state(state):
    """A pickled array whose BUILD state is `state`, in the form numpy's own pickles take (protocol 3)."""
    from numpy._core.multiarray import _reconstruct
    return pickle.dumps({"W1": Reduced(_reconstruct, (np.ndarray, (0,), b"b"), state)}, protocol=3)


def refusal(data, name="w.pkl"):
    """The message safe_unpickle refuses data with."""
    from engine.bookpickle import safe_unpickle
    from engine.errors import ModelFormatError
    with pytest.raises(ModelFormatError) as e:
        safe_unpickle(data, name)
    return str(e.value)


@pytest.mark.parametrize("shape", [(-1,), (2.0,), [3], (True,), (1,) * 33])
def test_a_state_with_something_that_is_not_a_shape_is_refused(shape):
    assert refusal(array_with_state((1, shape, np.dtype("u1"), False, b"abc"))) == (
        f"w.pkl: The pickle declares an array of shape {shape!r}, which is not a shape; refused.")


def test_thirty_two_dimensions_and_numpys_older_four_item_state_still_load():
    from engine.bookpickle import safe_unpickle
    deep = safe_unpickle(array_with_state((1, (1,) * 32, np.dtype("<f4"), False, np.float32(2.5).tobytes())))["W1"]
    assert deep.shape == (1,) * 32 and deep.dtype == np.float32 and deep.item() == 2.5
    old = safe_unpickle(array_with_state(((2,), np.dtype("<i2"), False, b"\x01\x00\x02\x00")))["W1"]
    assert old.dtype == np.int16 and old.tolist() == [1, 2]


@pytest.mark.parametrize("state", [5, ((2,), np.dtype("u1"), b"ab"), (1, (2,), np.dtype("u1"), False, b"ab", None)])
def test_a_state_numpy_never_writes_is_refused(state):
    assert refusal(array_with_state(state)) == "w.pkl: The pickle sets an array's state to something numpy never writes; refused."


@pytest.mark.parametrize("raw", [b"abc", b"abcde", 1234])
def test_an_array_state_without_its_bytes_is_refused(raw):
    assert refusal(array_with_state((1, (4,), np.dtype("u1"), False, raw))) == (
        "w.pkl: The pickle declares an array of shape (4,) without carrying its 4 bytes; refused.")


def test_reconstructing_anything_but_an_ndarray_is_refused():
    from numpy._core.multiarray import _reconstruct
    data = pickle.dumps(Reduced(_reconstruct, (np.dtype, (0,), b"b")), protocol=3)
    assert refusal(data) == "w.pkl: The pickle tries to build something other than a numpy array."


def test_persistent_references_are_refused_and_unnamed_data_is_the_pickle():
    class External(pickle.Pickler):
        def persistent_id(self, obj):
            return "weights-elsewhere" if obj == "external" else None
    buf = io.BytesIO()
    External(buf, protocol=3).dump({"W1": "external"})
    said = "The pickle uses persistent references, which a weights file never needs; refused."
    assert refusal(buf.getvalue()) == f"w.pkl: {said}"
    from engine.bookpickle import safe_unpickle
    from engine.errors import ModelFormatError
    with pytest.raises(ModelFormatError) as e:
        safe_unpickle(buf.getvalue())
    assert str(e.value) == f"the pickle: {said}"


def test_a_broken_stream_is_one_sentence_with_pythons_own_reason():
    data = pickle.dumps({"W1": [1.0, 2.0]}, protocol=3)[:-4]
    try:
        pickle.loads(data)  # no globals in it: safe to ask the standard unpickler what is wrong
    except Exception as e:  # whatever pickle raises is the reason to show
        why = f"{type(e).__name__}: {e}"
    assert refusal(data) == f"w.pkl is not a readable weights pickle ({why})."


def test_loaded_arrays_are_plain_ndarrays_that_pickle_and_load_again():
    from engine.bookpickle import safe_unpickle
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    for obj in ({"W1": w, "b1": np.ones(3, np.float32)}, w):
        loaded = safe_unpickle(pickle.dumps(obj, protocol=3))
        arrays = loaded.values() if isinstance(obj, dict) else [loaded]
        assert all(type(a) is np.ndarray for a in arrays)  # not the checking subclass, which only this module may name
        again = safe_unpickle(pickle.dumps(loaded, protocol=3))  # so a saved copy of them is a weights pickle too
        np.testing.assert_array_equal(again["W1"] if isinstance(obj, dict) else again, w)
