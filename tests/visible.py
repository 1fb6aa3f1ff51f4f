"""What a reader sees on an AppTest page, as text, and the English words left in it when the page is in another language.

The allowlist is principled, not a list of whatever showed up: names (MNIST, NumPy, PCA...), the code names the book
and the app use as identifiers (sigmoid, softmax, relu, the load_mnist flags, the preprocessing ids raw/unit/center/
standardize/whiten, the optimizer ids sgd/momentum/adam), units and file formats. Code spans, code blocks, LaTeX,
file names and identifiers (anything with _ . / = [ ( or a digit inside) are code and never count.
Model titles and ids come from model files (data, like file names) and are passed in by the caller.
"""
import json
import re

NAMES = {"mnist", "numpy", "python", "streamlit", "plotly", "pca", "zca", "relu", "sgd", "adam", "momentum", "flops", "gflop",
         "gflops", "sha", "gzip", "pickle", "json", "csv", "png", "jpeg", "jpg", "webp", "tiff", "gif", "bmp", "html", "utf", "npz",
         "pkl", "cpu", "gpu", "blas", "openblas"}
CODE_NAMES = {"sigmoid", "softmax", "normalize", "flatten", "one_hot_label", "reshape", "print", "exp", "log", "max", "min",
              "true", "false", "dtype", "shape", "uint8", "float32", "raw", "unit", "center", "standardize", "whiten", "argmax",
              "cosine", "constant", "step", "none"}
PHRASES = ("Deep Learning",)  # the Japanese title of the book is 『ゼロから作る Deep Learning』
# English words a language's edition of the book keeps as its own terms (i18n/terms.csv): 《深度学习入门》 writes
# mini-batch and epoch in English, so a Chinese page may too; the Japanese edition writes ミニバッチ and エポック
BOOK_TERMS = {"zh": ("mini-batch", "epoch")}
ALLOWED = NAMES | CODE_NAMES

_FENCED = re.compile(r"(```|~~~).*?\1", re.S)
_INLINE_CODE = re.compile(r"`[^`]*`")
_TAGS = re.compile(r"<[^>]+>")
_CHUNK = re.compile(r"[A-Za-z0-9_./:=\[\]()'’+*#%&?<>\-]+")  # a run of ASCII non-space characters
_CODE_MARK = re.compile(r"[_./=\[(]|[A-Za-z][0-9]|[0-9][A-Za-z]")
_WORD = re.compile(r"[A-Za-z]{4,}")


def words_left(text, *, allowed=(), phrases=(), lang=None):
    """Sorted English words of 4+ letters in text outside code, identifiers and the allowlist (plus allowed, and lang's book terms)."""
    text = _TAGS.sub(" ", _INLINE_CODE.sub(" ", _FENCED.sub(" ", str(text))))
    for p in sorted((*PHRASES, *phrases, *BOOK_TERMS.get(lang, ())), key=len, reverse=True):  # "Test net default" before "default"
        text = text.replace(p, " ")
    allow = ALLOWED | {a.lower() for a in allowed}
    found = set()
    for chunk in _CHUNK.findall(text):
        chunk = chunk.strip("'’()[]#%&?*+:.-<>")
        if _CODE_MARK.search(chunk) or "://" in chunk:
            continue  # an identifier, a file name, a path, a URL or a number with a unit: code, not prose
        found.update(w for w in _WORD.findall(chunk) if w.lower() not in allow)
    return sorted(found)


def _walk(node):
    yield node
    kids = getattr(node, "children", None) or {}
    for k in (kids.values() if isinstance(kids, dict) else kids):
        yield from _walk(k)


def figure_texts(spec):
    """The words a plotly figure shows: title, axis and colour-bar titles, annotations, legend names, text labels, hover texts."""
    fig = json.loads(spec) if isinstance(spec, str) else spec
    layout, out = fig.get("layout", {}), []
    for key, value in layout.items():
        if isinstance(value, dict) and (key == "title" or key.startswith(("xaxis", "yaxis", "coloraxis"))):
            title = value.get("title") if key != "title" else value
            title = title.get("text") if isinstance(title, dict) else title
            bar = ((value.get("colorbar") or {}).get("title") or {}).get("text") if key.startswith("coloraxis") else None
            out += [s for s in (title, bar) if isinstance(s, str)]
    out += [a.get("text", "") for a in layout.get("annotations", []) if isinstance(a.get("text"), str)]
    for tr in fig.get("data", []):
        if tr.get("showlegend", True) and isinstance(tr.get("name"), str):
            out.append(tr["name"])
        text = tr.get("text")
        out += [s for s in (text if isinstance(text, list) else [text]) if isinstance(s, str)]
        bar = ((tr.get("colorbar") or {}).get("title") or {}).get("text")
        if isinstance(bar, str):
            out.append(bar)
        hover = tr.get("hovertemplate")  # shown on hover: its fixed words count, its %{fields} are numbers
        out += [re.sub(r"%\{[^}]*\}", " ", h) for h in (hover if isinstance(hover, list) else [hover]) if isinstance(h, str)]
        hovertext = tr.get("hovertext")
        out += [h for h in (hovertext if isinstance(hovertext, list) else [hovertext]) if isinstance(h, str)]
    return out


SCRIPT = re.compile(r"<script\b.*?</script>", re.S | re.I)


def texts(at):
    """Every string a reader sees on an AppTest page (main area and sidebar), code and LaTeX left out."""
    out = []
    for node in _walk(at._tree):
        kind = type(node).__name__
        proto = getattr(node, "proto", None)
        if kind in ("Code", "Latex", "Json") or proto is None or not hasattr(proto, "ListFields"):
            continue
        if kind == "UnknownElement" and hasattr(proto, "spec") and proto.spec:  # a plotly chart
            out += figure_texts(proto.spec)
            continue
        if kind in ("Dataframe", "Table"):
            out += _table_texts(node)
            continue
        for f, v in proto.ListFields():
            if f.name in ("body", "label", "help", "placeholder", "delta") and isinstance(v, str):
                out.append(SCRIPT.sub("", v))  # a script is code, not something a reader sees
            elif f.name == "options":
                out += [o if isinstance(o, str) else getattr(o, "content", "") for o in v]
            elif f.name == "imgs":
                out += [i.caption for i in v]
    out += [x.label for x in list(at.tabs) + list(at.expander)]
    return out


def _table_texts(df):
    """A dataframe's or table's column headers as shown (column_config labels win over the frame's own names) and its text cells."""
    config = json.loads(getattr(df.proto, "columns", "") or "{}")  # st.table has no column_config
    table = df.value
    out = [str((config.get(str(c)) or {}).get("label") or c) for c in table.columns]
    return out + [v for col in table.columns for v in table[col].tolist() if isinstance(v, str)]
