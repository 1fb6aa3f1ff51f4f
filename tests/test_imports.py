"""The engine's modules import each other without circles (STYLE.md), function-level imports included."""
import ast

import pytest

from tests.conftest import ROOT

ENGINE = ROOT / "engine"


def module_name(path):
    """engine/cli/train.py -> 'engine.cli.train'; engine/cli/__init__.py -> 'engine.cli'."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_modules():
    """{module name: path} of every engine/*.py and engine/cli/*.py."""
    return {module_name(p): p for p in sorted([*ENGINE.glob("*.py"), *(ENGINE / "cli").glob("*.py")])}


def imports_of(name, path, known):
    """The engine modules that module `name` imports anywhere in its body (top level, functions, try blocks)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # `from . import download` imports the module engine.download; `from .data import FILES` imports engine.data
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import engine.data.x` -> the nearest module we know
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    known = engine_modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def find_cycle(graph):
    """One import circle as a list [a, b, ..., a], or None (depth-first search, colouring nodes)."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_graph_sees_top_level_relative_and_function_level_imports():
    graph = import_graph()
    assert len(graph) > 30 and "engine.cli.data_cmds" in graph
    assert {"engine.errors", "engine.idx", "engine.paths"} <= graph["engine.data"]
    assert "engine.data" in graph["engine.cli.train_job"]  # `from ..data import load_raw`
    assert "engine.cli" in graph["engine.__main__"]  # `from .cli import COMMANDS`


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    from .download import download_mnist\n", {"engine.download"}),
    ("from . import download\n", {"engine.download"}),
    ("import engine.idx\n", {"engine.idx"}),
    ("from engine.cli.progress import bar\n", {"engine.cli.progress"}),
])
def test_every_kind_of_import_is_an_edge(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of("engine.probe", path, engine_modules()) == expected


def test_find_cycle_finds_a_circle_through_a_function_level_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) is None


def test_the_engine_has_no_import_circles():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import circle: {' -> '.join(cycle)}"


RACE = """
import importlib, sys, threading
mods = ["engine.modelfile", "engine.data", "engine.model", "engine.explain", "engine.train", "engine.picture",
        "engine", "engine.metrics"]
gate, errors = threading.Barrier(len(mods)), []
def go(m):
    gate.wait()
    try:
        importlib.import_module(m)
    except Exception as e:
        errors.append(f"{m}: {type(e).__name__}: {e}")
threads = [threading.Thread(target=go, args=(m,)) for m in mods]
[t.start() for t in threads]
[t.join() for t in threads]
print("\\n".join(errors) or "ok")
"""


def test_session_threads_importing_engine_modules_at_once_never_deadlock():
    # a cold server's first sessions import engine.<module> in parallel threads; an __init__ importing its
    # submodules made them raise _DeadlockError or 'partially initialized module' now and then
    import subprocess
    import sys
    for _ in range(8):
        out = subprocess.run([sys.executable, "-c", RACE], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "ok", out.stdout + out.stderr
