"""Which query parameters each page reads, found by parsing ui/nav.py and the page files, and random queries over them.

A new page is covered without editing this file: its url_path comes from its line in ui/nav.py's PAGES table,
its parameters from the urlstate.read_choice / read_int / read_bool calls (and st.query_params lookups) in its file.
Values are mostly valid (the literal choices or the int range when the code spells them out) and sometimes
hostile ('banana', '-3', a path, markup), because a bad value must read as the default, never raise.
"""
import ast
import os
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ("banana", "-3", "abc", "", "1e9", "99999999999999999999", "../../etc/passwd", "<script>x</script>", "١٢")
GENERIC = ("0", "1", "2", "3", "7", "42", "train", "test", "all")
READERS = {"read_choice": "choice", "read_int": "int", "read_bool": "bool", "raw": "any"}


def pages_in_router(path=ROOT / "ui" / "nav.py"):
    """{url_path: page file} of every page in ui/nav.py's PAGES table; the home page (dashboard.py) is also under ''."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "PAGES" for t in node.targets):
            table = _literal(node.value)
            out = {url: ROOT / script for url, (script, _icon) in table.items()}
            out[""] = out["home"]  # Streamlit names the main script's page ''
            return out
    raise ValueError(f"no PAGES table in {path}")


def router_pages():
    """url_paths of the router's pages in menu order, the default page as '' (how Streamlit's navigation names it)."""
    found = pages_in_router()
    default = found.get("")
    return [""] + [u for u, f in found.items() if u and f != default] if default else list(found)


def _literal(node):
    try:
        return ast.literal_eval(node) if node is not None else None
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _parse(path):
    """(module AST, {module-level name: value node}) of a page file."""
    tree = ast.parse(Path(path).read_text())
    return tree, {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}


def params_in_file(path):
    """{name: [values]} for each query parameter a page file reads; values are strings."""
    tree, names = _parse(path)
    out = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(_literal(node.args[0]), str):
            continue
        func = getattr(node.func, "attr", getattr(node.func, "id", None))
        name = _literal(node.args[0])
        if func in READERS:
            out[name] = _values(READERS[func], node, names)
        elif func == "get" and "query_params" in ast.unparse(node.func):
            out.setdefault(name, list(GENERIC))
    for node in ast.walk(tree):  # st.query_params["name"]
        if isinstance(node, ast.Subscript) and "query_params" in ast.unparse(node.value) and isinstance(_literal(node.slice), str):
            out.setdefault(_literal(node.slice), list(GENERIC))
    return out


def literal_choices(path, name):
    """The choices of read_choice(name, CHOICES, ...) in a page file when the code spells them out literally, else None."""
    tree, names = _parse(path)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "read_choice"
                and node.args and _literal(node.args[0]) == name):
            return _choices(node, names)
    return None


def _choices(call, names):
    if len(call.args) < 2:
        return None
    arg = call.args[1]
    choices = _literal(names.get(arg.id) if isinstance(arg, ast.Name) else arg)
    return [str(c) for c in choices] if isinstance(choices, (tuple, list)) and choices else None


def _values(kind, call, names):
    kw = {k.arg: _literal(k.value) for k in call.keywords}
    if kind == "bool":
        return ["1", "0", "true", "off"]
    if kind == "int":
        lo, hi = kw.get("lo"), kw.get("hi")
        lo = lo if isinstance(lo, int) else 0
        hi = hi if isinstance(hi, int) else lo + 200
        return sorted({str(lo), str(min(lo + 1, hi)), str((lo + hi) // 2), str(min(lo + 17, hi))})
    return (_choices(call, names) if kind == "choice" else None) or list(GENERIC)


def app_wide():
    """The parameters every page shares: ?model= (shipped models, 'book', an unknown id) and ?lang=."""
    folder = Path(os.environ.get("MNIST_EXPLORER_MODELS") or ROOT / "models")
    models = sorted(p.stem for p in folder.glob("*.npz")) + ["book", "no-such-model"]
    langs = sorted(p.stem for p in (ROOT / "i18n").glob("*.json")) + ["xx"]
    return {"model": models, "lang": langs}


def page_params():
    """{url_path: {name: [values]}} for every page in the router, app-wide parameters included."""
    shared = app_wide()
    return {url: {**shared, **params_in_file(file)} for url, file in pages_in_router().items() if file.is_file()}


def random_query(rng, params):
    """A query string over some of params: each parameter present with probability 1/2, hostile 1 time in 8."""
    q = {}
    for name, values in sorted(params.items()):
        if rng.random() < 0.5:
            q[name] = rng.choice(HOSTILE) if rng.random() < 0.125 else rng.choice(values)
    return urllib.parse.urlencode(q)
