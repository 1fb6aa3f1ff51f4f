"""Model files: .npz of float32 arrays plus a JSON card; the book's .pkl through the safe unpickler."""
import contextlib
import io
import json
import math
import os
import threading
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .bookpickle import MAX_PICKLE_BYTES, safe_unpickle
from .errors import EngineError, ModelFormatError
from .model import MAX_LAYERS, MAX_PARAMS, MLP
from .preprocess import Preprocess

MAX_CARD_BYTES = 2**20
# the file, and the total its members declare uncompressed: float64 weights at MAX_PARAMS (16 MB), a float64 whitening
# matrix (4.9 MB) and a full card (1 MB) fit; anything beyond is refused before a byte is unpacked
MAX_NPZ_BYTES = 32 * 2**20
MAX_MEMBERS = 2 * MAX_LAYERS + 4  # W1, b1 ... WL, bL, pre_mean, pre_std, pre_zca, card: zipfile builds one object per entry
FIXED_SIZES = {"pre_mean": 784, "pre_std": 784, "pre_zca": 784 * 784, "card": MAX_CARD_BYTES}  # most values each holds
BOOK_SIZES = [784, 50, 100, 10]


def refuse_params(name, n):
    """Raise the one error for a net over MAX_PARAMS weights and biases, from its shapes, before anything is copied."""
    raise ModelFormatError(f"{name} declares {n:,} weights and biases, over the limit of {MAX_PARAMS:,}: "
                           f"use a smaller net (784-512-512-512-10, twice as wide as the training page's largest, has 932,362).")


def check_params(params, *, name, expect_sizes=None):
    """Validate W1, b1 ... WL, bL (key set, dtype, chained shapes, size) before copying; return finite float32 copies."""
    if not isinstance(params, dict):
        raise ModelFormatError(f"{name} holds a {type(params).__name__}, not a dict of weights W1, b1, ...")
    L = sum(1 for k in params if isinstance(k, str) and k.startswith("W"))
    want = {f"{p}{i}" for i in range(1, L + 1) for p in "Wb"}
    keys = {k for k in params if not (isinstance(k, str) and k.startswith("pre_"))}
    if L == 0 or keys != want:
        missing, extra = sorted(want - keys) or ["W1", "b1"] * (L == 0), sorted(map(str, keys - want))
        raise ModelFormatError(f"{name} has the wrong key set: missing {missing or 'none'}, unexpected {extra or 'none'}.")
    if L > MAX_LAYERS or (expect_sizes is not None and L != len(expect_sizes) - 1):
        most = MAX_LAYERS if expect_sizes is None else len(expect_sizes) - 1
        raise ModelFormatError(f"{name} has {L} weight layers; {'at most' if expect_sizes is None else 'expected'} {most}: "
                               "use a net of that depth.")
    order = sorted(want, key=lambda s: (int(s[1:]), s[0]))
    for k in order:
        v = params[k]
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
            kind = v.dtype if isinstance(v, np.ndarray) else type(v).__name__
            raise ModelFormatError(f"{name}: {k} is {kind}, expected a float array.")
    prev = None
    for i in range(1, L + 1):  # shapes first: nothing is copied or scanned until they chain from 784 pixels to 10 digits
        W, b = params[f"W{i}"], params[f"b{i}"]
        want_W = (prev if prev is not None else W.shape[0] if W.ndim == 2 else "?",
                  W.shape[1] if W.ndim == 2 else "?")
        if expect_sizes is not None:
            want_W = (expect_sizes[i - 1], expect_sizes[i])
        if W.ndim != 2 or tuple(W.shape) != want_W:
            raise ModelFormatError(f"{name}: layer {i} weight W{i} has shape {W.shape}, expected {want_W}.")
        if b.shape != (W.shape[1],):
            raise ModelFormatError(f"{name}: layer {i} bias b{i} has shape {b.shape}, expected ({W.shape[1]},).")
        prev = W.shape[1]
    first, last = params["W1"].shape[0], params[f"W{L}"].shape[1]
    if first != 784 or last != 10:
        raise ModelFormatError(f"{name}: the net maps {first} inputs to {last} outputs, expected 784 pixels to 10 digits.")
    if (n := sum(params[k].size for k in order)) > MAX_PARAMS:
        refuse_params(name, n)
    out = {}
    for k in order:
        with np.errstate(over="ignore"):  # float64 1e300 becomes inf here, and is refused just below
            out[k] = params[k].astype(np.float32, order="C")
        if not np.all(np.isfinite(out[k])):  # after the cast: finite in float64 is not finite in float32
            raise ModelFormatError(f"{name}: {k} contains NaN or infinite values as float32 (magnitudes from 3.4e38 "
                                   "overflow): re-export the model with finite float32 weights.")
    return out


def load_book_weights(path):
    """The book's sample_weight.pkl as an MLP (unit preprocessing), via the restricted unpickler."""
    path = Path(path)
    data = _read(path, limit=MAX_PICKLE_BYTES)
    params = check_params(safe_unpickle(data, path.name), name=path.name, expect_sizes=BOOK_SIZES)
    card = {"name": "book", "title": "Book weights (sample_weight.pkl)", "sizes": BOOK_SIZES, "activation": "sigmoid",
            "preprocess": Preprocess("unit").to_card(),
            "provenance": "Deep Learning from Scratch, ch. 3: sample_weight.pkl (MIT licence), imported by the safe loader"}
    return MLP(params, activation="sigmoid", preprocess=Preprocess("unit"), card=card)


def _read(path, *, limit):
    """The bytes of a file, refused from its size before they are read if there are more than `limit`."""
    try:
        if (size := Path(path).stat().st_size) > limit:
            raise ModelFormatError(f"{Path(path).name} is {size:,} bytes; files over {limit:,} bytes are refused here: "
                                   "use the model file this app saves.")
        return Path(path).read_bytes()
    except OSError as e:
        raise ModelFormatError(f"Model file {path} cannot be read ({e.strerror}): check the path.") from None


def _member_count(f):
    """Entries the zip's end-of-central-directory record declares (None if absent), read before zipfile parses them."""
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - 22 - 65535))  # the record is the last 22 bytes, before a zip comment of up to 64 KB
    tail = f.read()
    f.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    return int.from_bytes(tail[at + 10:at + 12], "little") if 0 <= at <= len(tail) - 22 else None


def _npy_header(z, info, name):
    """The shape a member's .npy header declares, reading only its first bytes, once checked that nothing trails it."""
    if info.flag_bits & 1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFormatError(f"{name}: {info.filename} is encrypted or oddly compressed; save models with np.savez.")
    with z.open(info) as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f, max_header_size=10_000)
        start = f.tell()
    if dtype.hasobject:
        raise ModelFormatError(f"{name} holds object arrays, which need pickle to load; refused.")
    if any(n < 0 for n in shape) or info.file_size != start + math.prod(shape) * dtype.itemsize:
        raise ModelFormatError(f"{name}: {info.filename} holds {info.file_size:,} bytes, not what its header declares "
                               f"({shape}, {dtype}): the file is corrupt; save it again with np.savez.")
    return shape


def _check_members(z, name):
    """Refuse an archive from its headers alone: member count, unpacked bytes, .npy shapes against the budgets."""
    infos = z.infolist()
    total = sum(i.file_size for i in infos)
    if len(infos) > MAX_MEMBERS:  # an archive whose end record _member_count could not find
        raise ModelFormatError(f"{name} holds {len(infos):,} files, more than the {MAX_MEMBERS} of any model: save it with np.savez.")
    if total > MAX_NPZ_BYTES:
        raise ModelFormatError(f"{name} unpacks to {total:,} bytes; model files over {MAX_NPZ_BYTES:,} bytes are refused: "
                               "use a smaller net.")
    if bad := [i.filename for i in infos if not i.filename.endswith(".npy")]:
        raise ModelFormatError(f"{name} holds {bad[0]!r:.60}, which is not a .npy array; save models with np.savez.")
    sizes = [(i.filename[:-4], math.prod(_npy_header(z, i, name))) for i in infos]  # every member, duplicates too
    for key, n in sizes:
        if key in FIXED_SIZES and n > FIXED_SIZES[key]:
            raise ModelFormatError(f"{name}: {key} declares {n:,} values, more than the {FIXED_SIZES[key]:,} it can hold: "
                                   "the file is corrupt.")
    if (n := sum(n for key, n in sizes if key not in FIXED_SIZES)) > MAX_PARAMS:
        refuse_params(name, n)
    return infos


def read_npz(source, name):
    """Arrays of an .npz (path or file object), sizes checked from the zip and .npy headers before any member is unpacked."""
    try:
        with open(source, "rb") if isinstance(source, (str, os.PathLike)) else contextlib.nullcontext(source) as f:
            if (size := f.seek(0, os.SEEK_END)) > MAX_NPZ_BYTES:
                raise ModelFormatError(f"{name} is {size:,} bytes; model files over {MAX_NPZ_BYTES:,} bytes are refused: "
                                       "use a smaller net.")
            if (n := _member_count(f) or 0) > MAX_MEMBERS:  # before zipfile builds one object per declared entry
                raise ModelFormatError(f"{name} holds {n:,} files, more than the {MAX_MEMBERS} of any model: save it with np.savez.")
            with zipfile.ZipFile(f) as z:
                arrays = {}
                for i in _check_members(z, name):
                    with z.open(i) as member:
                        arrays[i.filename[:-4]] = np.lib.format.read_array(member, allow_pickle=False)
                return arrays
    except ModelFormatError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise ModelFormatError(f"{name} holds object arrays, which need pickle to load; refused.") from None
        raise ModelFormatError(f"{name} is not a valid .npz model file ({e}).") from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, TypeError, NotImplementedError) as e:
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
        raise ModelFormatError(f"{name}: the card names activation {act!r:.40}; expected 'sigmoid' or 'relu'.")
    try:
        pre = Preprocess.from_card(card.get("preprocess") or {"kind": "unit"}, arrays)
    except ModelFormatError as e:
        raise ModelFormatError(f"{name}: {e}") from None
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
    sidecar = None if "card" in arrays or not side.is_file() else _read(side, limit=MAX_CARD_BYTES)
    card = None if sidecar is None else parse_card(sidecar.decode("utf-8", "replace"), side.name)
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
    # no preprocessing is the input as given, which is 'raw': a card without one would be read back as the book's 'unit'
    model.card["preprocess"] = (model.preprocess or Preprocess("raw")).to_card()
    model.card["activation"], model.card["sizes"] = model.activation, model.sizes
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write({path: model_bytes(model), path.with_suffix(".json"): card_json(model).encode()})
    except OSError as e:
        raise EngineError(f"Cannot write {path} ({e.strerror or e}): choose a writable folder with free space.") from None
    return path
