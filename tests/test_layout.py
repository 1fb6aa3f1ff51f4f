"""The house's layout (issue 12): a screen is pages/NAME.py (home is dashboard.py), what one page uses sits in
ui/NAME/, ui/ itself holds only what two or more pages share, and nothing imports upwards (engine <- ui <- pages)."""
import ast

from tests.conftest import ROOT

SCRIPTS = {"home": ROOT / "dashboard.py", **{p.stem: p for p in (ROOT / "pages").glob("*.py")}}


def module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imports(path):
    """Every module path imported by a file ('ui.evaluate.state', 'engine.metrics', ...), function-level ones too."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


UI = {module_name(p): p for p in (ROOT / "ui").rglob("*.py")}


def reach(path):
    """The ui modules a file uses, directly or through other ui modules."""
    seen, todo = set(), [path]
    while todo:
        for m in imports(todo.pop()) & set(UI):
            if m not in seen:
                seen.add(m)
                todo.append(UI[m])
    return seen


USERS = {m: {name for name, script in SCRIPTS.items() if m in reach(script)} for m in UI}


def test_a_flat_ui_module_serves_two_pages_or_more():
    flat = [m for m in UI if m.count(".") == 1]
    lonely = {m: sorted(USERS[m]) for m in flat if len(USERS[m]) < 2}
    assert lonely == {}, f"move these beside their page, in ui/<page>/: {lonely}"


def test_a_page_folder_serves_its_own_page_only():
    for m in UI:
        if m.count(".") == 2:
            page = m.split(".")[1]
            assert page in SCRIPTS, f"ui/{page}/ has no page pages/{page}.py"
            assert USERS[m] <= {page}, (m, USERS[m])


def test_nothing_imports_upwards():
    for path in (ROOT / "engine").rglob("*.py"):
        assert not {m for m in imports(path) if m.split(".")[0] in ("ui", "pages", "streamlit", "dashboard")}, path
    for path in UI.values():
        assert not {m for m in imports(path) if m.split(".")[0] in ("pages", "dashboard")}, path
