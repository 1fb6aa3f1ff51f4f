"""Model files: .npz of float32 arrays plus a JSON card; the book's .pkl through the safe unpickler."""
import io
import json
import os
import threading
import zipfile
from pathlib import Path

import numpy as np

from .bookpickle import safe_unpickle
from .errors import EngineError, ModelFormatError
from .model import MLP
from .preprocess import Preprocess

MAX_NPZ_BYTES = 256 * 2**20  # declared, uncompressed: a zip bomb is refused before it is read
MAX_CARD_BYTES = 2**20
BOOK_SIZES = [784, 50, 100, 10]


def check_params(params, *, name, expect_sizes=None):
    """Validate W1, b1 ... WL, bL: key set, numeric dtype, chained shapes, finite values; return float32 copies."""
    if not isinstance(params, dict):
        raise ModelFormatError(f"{name} holds a {type(params).__name__}, not a dict of weights W1, b1, ...")
    L = sum(1 for k in params if isinstance(k, str) and k.startswith("W"))
    want = {f"{p}{i}" for i in range(1, L + 1) for p in "Wb"}
    keys = {k for k in params if not (isinstance(k, str) and k.startswith("pre_"))}
    if L == 0 or keys != want:
        missing, extra = sorted(want - keys) or ["W1", "b1"] * (L == 0), sorted(map(str, keys - want))
        raise ModelFormatError(f"{name} has the wrong key set: missing {missing or 'none'}, unexpected {extra or 'none'}.")
    out = {}
    for k in sorted(want, key=lambda s: (int(s[1:]), s[0])):
        v = params[k]
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
            kind = v.dtype if isinstance(v, np.ndarray) else type(v).__name__
            raise ModelFormatError(f"{name}: {k} is {kind}, expected a float array.")
        if not np.all(np.isfinite(v)):
            raise ModelFormatError(f"{name}: {k} contains NaN or infinite values.")
        out[k] = v.astype(np.float32)
    prev = None
    for i in range(1, L + 1):
        W, b = out[f"W{i}"], out[f"b{i}"]
        want_W = (prev if prev is not None else W.shape[0] if W.ndim == 2 else "?",
                  W.shape[1] if W.ndim == 2 else "?")
        if expect_sizes is not None:
            want_W = (expect_sizes[i - 1], expect_sizes[i]) if i < len(expect_sizes) else want_W
        if W.ndim != 2 or tuple(W.shape) != want_W:
            raise ModelFormatError(f"{name}: layer {i} weight W{i} has shape {W.shape}, expected {want_W}.")
        if b.shape != (W.shape[1],):
            raise ModelFormatError(f"{name}: layer {i} bias b{i} has shape {b.shape}, expected ({W.shape[1]},).")
        prev = W.shape[1]
    first, last = out["W1"].shape[0], out[f"W{L}"].shape[1]
    if first != 784 or last != 10:
        raise ModelFormatError(f"{name}: the net maps {first} inputs to {last} outputs, expected 784 pixels to 10 digits.")
    return out


def load_book_weights(path):
    """The book's sample_weight.pkl as an MLP (unit preprocessing), via the restricted unpickler."""
    path = Path(path)
    data = _read(path)
    params = check_params(safe_unpickle(data, path.name), name=path.name, expect_sizes=BOOK_SIZES)
    card = {"name": "book", "title": "Book weights (sample_weight.pkl)", "sizes": BOOK_SIZES, "activation": "sigmoid",
            "preprocess": Preprocess("unit").to_card(),
            "provenance": "Deep Learning from Scratch, ch. 3: sample_weight.pkl (MIT licence), imported by the safe loader"}
    return MLP(params, activation="sigmoid", preprocess=Preprocess("unit"), card=card)


def _read(path):
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ModelFormatError(f"Model file {path} cannot be read ({e.strerror}): check the path.") from None


def read_npz(source, name):
    """Arrays of an .npz (path or file object) with allow_pickle=False and a size cap; errors are ModelFormatError."""
    try:
        with zipfile.ZipFile(source) as z:
            total = sum(i.file_size for i in z.infolist())
            if total > MAX_NPZ_BYTES:
                raise ModelFormatError(f"{name} unpacks to {total:,} bytes; model files over {MAX_NPZ_BYTES:,} are refused.")
        if hasattr(source, "seek"):
            source.seek(0)
        with np.load(source, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except ModelFormatError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ModelFormatError(f"{name} holds object arrays, which need pickle to load; refused.") from None
        raise ModelFormatError(f"{name} is not a valid .npz model file ({e}).") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, TypeError) as e:
        raise ModelFormatError(f"{name} is not a valid .npz model file ({type(e).__name__}: {e}).") from None


def parse_card(text, name):
    """JSON card text -> dict; bad JSON or a non-object raises ModelFormatError."""
    if len(text) > MAX_CARD_BYTES:
        raise ModelFormatError(f"{name} is larger than {MAX_CARD_BYTES:,} bytes; a model card is small.")
    try:
        card = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFormatError(f"{name} is not valid JSON ({e}).") from None
    if not isinstance(card, dict):
        raise ModelFormatError(f"{name} holds a JSON {type(card).__name__}, expected an object.")
    return card


def model_from_arrays(arrays, card, name):
    """Build a checked MLP from .npz arrays and a card dict."""
    arrays = dict(arrays)
    if "card" in arrays:
        embedded = arrays.pop("card")
        if card is None:
            if embedded.dtype != np.uint8 or embedded.ndim != 1:
                raise ModelFormatError(f"{name}: its embedded card is not JSON bytes.")
            card = parse_card(embedded.tobytes().decode("utf-8", "replace"), f"{name} (embedded card)")
    card = card or {}
    params = check_params(arrays, name=name)
    act = card.get("activation", "sigmoid")
    if act not in ("sigmoid", "relu"):
        raise ModelFormatError(f"{name}: the card names activation {act!r}; expected 'sigmoid' or 'relu'.")
    pre = Preprocess.from_card(card.get("preprocess") or {"kind": "unit"}, arrays)
    for k in ("pre_mean", "pre_std", "pre_zca"):
        if k in arrays and not np.all(np.isfinite(arrays[k])):
            raise ModelFormatError(f"{name}: {k} contains NaN or infinite values.")
    card.setdefault("name", Path(name).stem)
    card["sizes"] = [784] + [params[f"W{i}"].shape[1] for i in range(1, len(params) // 2 + 1)]
    return MLP(params, activation=act, preprocess=pre, card=card)


def load_model(path):
    """Load an .npz model (its embedded card, else PATH.json beside it) or the book's .pkl."""
    path = Path(path)
    if path.suffix == ".pkl":
        return load_book_weights(path)
    if not path.is_file():
        raise ModelFormatError(f"Model file {path} does not exist: check the path, or run `python -m engine info`.")
    arrays = read_npz(path, path.name)
    # the card inside the .npz was written with these very weights; the sidecar .json is a readable copy that a
    # crash between the two renames of save_model could leave one version behind, so it only serves bare .npz files
    side = path.with_suffix(".json")
    card = None if "card" in arrays or not side.is_file() else parse_card(_read(side).decode("utf-8", "replace"), side.name)
    return model_from_arrays(arrays, card, path.name)


def _atomic_write(files):
    """Write {path: bytes} so each path holds either its old or its new content, never a half file."""
    tmps = {path: path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp") for path in files}
    try:
        for path, data in files.items():  # every temp file complete on disk before any rename
            with open(tmps[path], "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for path, tmp in tmps.items():
            os.replace(tmp, path)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)


def model_bytes(model):
    """The .npz bytes of a model, card embedded, for saving or a download button."""
    buf = io.BytesIO()
    card = json.dumps(model.card, ensure_ascii=False).encode()
    arrays = {**model.params, **(model.preprocess.to_arrays() if model.preprocess else {}),
              "card": np.frombuffer(card, np.uint8)}
    np.savez(buf, **arrays)
    return buf.getvalue()


def card_json(model):
    """The model card as pretty JSON text."""
    return json.dumps(model.card, indent=2, ensure_ascii=False) + "\n"


def save_model(model, path):
    """Write PATH.npz and PATH.json atomically: a crash mid-write never leaves a half file."""
    path = Path(path).with_suffix(".npz")
    if model.preprocess is not None:
        model.card["preprocess"] = model.preprocess.to_card()
    model.card["activation"], model.card["sizes"] = model.activation, model.sizes
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write({path: model_bytes(model), path.with_suffix(".json"): card_json(model).encode()})
    except OSError as e:
        raise EngineError(f"Cannot write {path} ({e.strerror or e}): choose a writable folder with free space.") from None
    return path
