"""Source scans for tests/test_i18n.py: the t("...") keys the UI uses, and UI text written as a literal instead of t().

The literal scan also reads the hover and text templates of the chart builders (plotly's hovertemplate= and
texttemplate=, as keywords or dict keys): a word there ("0.5 to 1.0") is shown untranslated in every language.

Both read the code with ast, so comments and docstrings never count, and f-strings are seen with their fixed parts.
"""
import ast
import re
from pathlib import Path

# Streamlit calls whose first argument (and label/help/... keywords) a user reads
UI_CALLS = {
    "title", "header", "subheader", "markdown", "write", "caption", "text", "button", "download_button", "link_button",
    "page_link", "selectbox", "multiselect", "radio", "checkbox", "toggle", "slider", "select_slider", "number_input",
    "text_input", "text_area", "file_uploader", "camera_input", "color_picker", "date_input", "time_input", "pills",
    "segmented_control", "feedback", "tabs", "expander", "popover", "metric", "error", "warning", "info", "success",
    "toast", "exception", "progress", "spinner", "status", "form_submit_button", "chat_input", "badge", "dialog",
}
TEXT_KEYWORDS = {"label", "help", "placeholder", "caption", "text", "body", "title", "x_title", "y_title", "how_to_read",
                 "delta", "value_label", "show_spinner"}
# strings a reader sees unchanged in every language: the names of the book's load_mnist flags and code
ALLOWED = {"normalize", "flatten", "one_hot_label", "x_train[0].reshape(28, 28)",
           "sigmoid", "relu", "sgd", "momentum", "adam", "raw", "unit", "center", "standardize", "whiten"}  # + the engine's ids
# plotly templates a chart builder writes: the fields %{y:.1%} and the markup are filled in by plotly, the rest is read
TEMPLATE_KEYS = {"hovertemplate", "texttemplate"}
TAG = re.compile(r"<[^>]+>")  # <br>, <sup>: markup, not words
PLOTLY_FIELD = re.compile(r"%\{[^}]*\}")  # %{customdata[0]:.3g}: a value plotly fills in
WORD = re.compile(r"[^\W\d_]{2,}")  # a run of 2+ letters in any script; single letters are maths (x, d, z)


def python_files(root, *, folders=("pages", "ui"), files=("dashboard.py",)):
    """The UI's source files: every .py under pages/ and ui/ (ui/<page>/ included), plus dashboard.py."""
    root = Path(root)
    out = [root / f for f in files if (root / f).is_file()]
    for folder in folders:
        out += sorted((root / folder).rglob("*.py"))
    return out


def _st_names(tree):
    """Names bound to Streamlit containers in a module: `c = st.columns(3)`, `with st.expander(..) as ex`, `for col in st.columns(..)`."""
    names = {"st"}

    def bind(target):
        for n in ast.walk(target):
            if isinstance(n, ast.Name):
                names.add(n.id)

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and "st." in ast.unparse(node.value):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                bind(target)
        elif isinstance(node, ast.For | ast.comprehension) and "st." in ast.unparse(node.iter):
            bind(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None and "st." in ast.unparse(node.context_expr):
            bind(node.optional_vars)
    return names


def _root(node):
    """The Name an attribute/subscript/call chain starts from (c[0].metric -> c), or None."""
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _fixed_texts(node):
    """The literal pieces of an argument: a str constant, an f-string's fixed parts, list/tuple items; [] for anything computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [" ".join(v.value for v in node.values if isinstance(v, ast.Constant))]
    if isinstance(node, ast.List | ast.Tuple):
        return [t for e in node.elts for t in _fixed_texts(e)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _fixed_texts(node.left) + _fixed_texts(node.right)
    return []


def is_words(text):
    """True when text holds a word a reader would need translated (2+ letters), unless it is on the ALLOWED list."""
    return text.strip() not in ALLOWED and bool(WORD.search(TAG.sub(" ", PLOTLY_FIELD.sub(" ", text))))


def literal_ui_strings(paths):
    """[(path, line, text)] of user-visible literal text passed to Streamlit calls, to chart/panel text keywords, or
    written into a plotly hover/text template (a keyword argument or a dict entry)."""
    found = []
    for path in paths:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        st_names = _st_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):  # {"hovertemplate": "..."} handed to add_trace or update_traces
                for k, v in zip(node.keys, node.values, strict=True):
                    if isinstance(k, ast.Constant) and k.value in TEMPLATE_KEYS:
                        found += [(str(path), v.lineno, text) for text in _fixed_texts(v) if is_words(text)]
                continue
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            args = []
            if isinstance(func, ast.Attribute) and func.attr in UI_CALLS and _root(func.value) in st_names:
                args = node.args[:1] + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS | {"options"}]
                if func.attr in ("tabs", "selectbox", "radio", "multiselect", "pills", "segmented_control", "select_slider") \
                        and not any(k.arg == "format_func" for k in node.keywords):
                    args += node.args[1:2]  # options are shown as they are
            else:
                args = [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS - {"label", "text", "body", "help"}]
            args += [k.value for k in node.keywords if k.arg in TEMPLATE_KEYS]
            for a in args:
                found += [(str(path), a.lineno, text) for text in _fixed_texts(a) if is_words(text)]
    return found


def _is_t(func):
    return (isinstance(func, ast.Name) and func.id == "t") or (isinstance(func, ast.Attribute) and func.attr == "t"
                                                               and _root(func.value) == "i18n")


def t_calls(paths):
    """[(path, line, key_regex, shown)] for every t(...) whose key is a literal or an f-string (fields match any text)."""
    found = []
    for path in paths:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_t(node.func) and node.args):
                continue
            a = node.args[0]
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                found.append((str(path), node.lineno, re.escape(a.value), a.value))
            elif isinstance(a, ast.JoinedStr):
                pattern = "".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+" for v in a.values)
                found.append((str(path), node.lineno, pattern, ast.unparse(a)))
    return found
