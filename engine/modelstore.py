"""Shared models by content address: one folder of ADDRESS.npz (+ ADDRESS.json, a readable copy of the card).

The address is the first 16 hex digits of the SHA-256 of the .npz bytes, and the bytes are canonical (sorted members,
a fixed zip timestamp, a sorted card), so the same model always gets the same address. Every write is atomic and every
writer of one address writes the same bytes, so several processes may share the folder. The folder is kept within a
size budget by removing the least recently used models first; a file's mtime is its clock, set on every write and
open. Every read is checked against its address, then parsed by the safe .npz reader (engine.modelfile).
"""
import hashlib
import io
import json
import os
import re
import zipfile

import numpy as np

from . import debris
from .errors import EngineError, ModelFormatError
from .modelfile import MAX_NPZ_BYTES, model_from_arrays, read_npz
from .paths import store_dir
from .preprocess import Preprocess

ADDRESS_CHARS = 16  # 64 bits of SHA-256: a class's few hundred models never collide by chance
BUDGET_MB = 200  # the store's default size budget; $MNIST_EXPLORER_STORE_MB changes it
_ADDRESS = re.compile(rf"[0-9a-f]{{{ADDRESS_CHARS}}}")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: no clock in the bytes


class NotInStore(EngineError):
    """No model of that address is in the store (never shared here, or removed to keep within the budget)."""


def budget_bytes():
    """The store's size budget in bytes: $MNIST_EXPLORER_STORE_MB megabytes (a positive number), else BUDGET_MB."""
    text = os.environ.get("MNIST_EXPLORER_STORE_MB", "")
    try:
        mb = float(text) if text else BUDGET_MB
    except ValueError:
        mb = BUDGET_MB
    return int((mb if mb > 0 else BUDGET_MB) * 2**20)


def is_address(text):
    """True for 16 lowercase hex digits, the only text ever turned into a store path."""
    return isinstance(text, str) and _ADDRESS.fullmatch(text) is not None


def address(data):
    """The content address of .npz bytes: the first 16 hex digits of their SHA-256."""
    return hashlib.sha256(data).hexdigest()[:ADDRESS_CHARS]


def full_card(model):
    """A copy of the model's card with its activation, sizes and preprocessing written in (the model is not changed)."""
    card = dict(model.card)
    card.setdefault("name", "shared")  # else loading would name it after its file, and a second share change its address
    card["preprocess"] = (model.preprocess or Preprocess("raw")).to_card()  # None: pixels used as given, as "raw"
    card["activation"], card["sizes"] = model.activation, model.sizes
    return card


def canonical_bytes(model):
    """The model as .npz bytes that depend on its content only: members sorted, fixed timestamps, the card sorted."""
    card = json.dumps(full_card(model), ensure_ascii=False, sort_keys=True, default=str).encode()
    arrays = {**model.params, **(model.preprocess.to_arrays() if model.preprocess else {}),
              "card": np.frombuffer(card, np.uint8)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_TIME)
            info.external_attr = 0o600 << 16
            with z.open(info, "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arrays[name]), allow_pickle=False)
    return buf.getvalue()


def _paths(addr, folder):
    folder = store_dir() if folder is None else folder
    return folder / f"{addr}.npz", folder / f"{addr}.json"


def put(model, *, folder=None, budget=None):
    """Write the model under its address (a no-op but for its clock if it is there); evict to the budget; return the address."""
    budget = budget_bytes() if budget is None else budget
    data = canonical_bytes(model)
    if len(data) > budget:
        raise EngineError(f"This model's file is {len(data) / 2**20:.1f} MB, more than the shared store's budget of "
                          f"{budget / 2**20:.0f} MB: share a smaller network, or raise MNIST_EXPLORER_STORE_MB.")
    addr = address(data)
    npz, card = _paths(addr, folder)
    try:
        if not _touch(npz):
            # the card first: an .npz present means its model is complete; the card is a readable copy, never read back
            debris.write_atomic(card, (json.dumps(full_card(model), ensure_ascii=False, indent=2, sort_keys=True,
                                                  default=str) + "\n").encode())
            debris.write_atomic(npz, data)
    except OSError as e:
        raise EngineError(f"Cannot write to the shared model store {npz.parent} ({e.strerror or e}): "
                          "make it writable, or set MNIST_EXPLORER_STORE to a writable folder.") from None
    evict(folder=npz.parent, budget=budget, keep={addr})
    return addr


def _touch(path):
    """Set path's mtime to now (the LRU clock); False if it does not exist."""
    try:
        os.utime(path)
        return True
    except FileNotFoundError:
        return False
    except OSError:
        return path.is_file()  # a read-only store: readable, just no clock


def contains(addr, *, folder=None):
    """True if a model of this address is in the store; opening a link to it counts as a use (its clock is set)."""
    return is_address(addr) and _touch(_paths(addr, folder)[0])


def load(addr, *, folder=None):
    """The MLP stored under addr, its bytes checked against the address and read by the safe .npz reader."""
    if not is_address(addr):
        raise NotInStore(f"{str(addr)[:40]!r} is not a model address (16 hex digits): copy the whole link again.")
    npz, _ = _paths(addr, folder)
    try:
        if (size := npz.stat().st_size) > MAX_NPZ_BYTES:
            raise ModelFormatError(f"The shared model {addr} is {size:,} bytes, over the {MAX_NPZ_BYTES:,} of any model: "
                                   "remove it from the store.")
        data = npz.read_bytes()
    except FileNotFoundError:
        raise NotInStore(f"No shared model {addr} is in the store: it was removed to keep within the size budget, or "
                         "never shared on this server; share it again.") from None
    except OSError as e:
        raise NotInStore(f"The shared model {addr} cannot be read ({e.strerror or e}): check the store's folder.") from None
    if address(data) != addr:
        raise ModelFormatError(f"The shared model {addr} was changed on disk (its content no longer has that address): "
                               "share it again.")
    _touch(npz)
    return model_from_arrays(read_npz(io.BytesIO(data), npz.name), None, npz.name)


def entries(folder=None):
    """[(mtime, bytes, address)] of the stored models, least recently used first (temp files and strangers left out)."""
    folder = store_dir() if folder is None else folder
    out = []
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        addr, dot, ext = name.partition(".")
        if ext != "npz" or not is_address(addr):
            continue
        try:
            st = os.stat(folder / name)
            size = st.st_size + _size(folder / f"{addr}.json")
        except FileNotFoundError:
            continue  # evicted by another process meanwhile
        out.append((st.st_mtime, size, addr))
    return sorted(out)


def _size(path):
    try:
        return path.stat().st_size
    except OSError:
        return 0


def evict(*, folder=None, budget=None, keep=()):
    """Remove least recently used models until the store fits budget bytes (models in keep stay); return their addresses."""
    folder = store_dir() if folder is None else folder
    budget = budget_bytes() if budget is None else budget
    debris.sweep(folders=(folder,))  # the hidden temp file of a cross-device write whose writer was killed
    items = entries(folder)
    total = sum(size for _, size, _ in items)
    removed = []
    for _, size, addr in items:
        if total <= budget:
            break
        if addr in keep:
            continue
        for path in _paths(addr, folder):
            path.unlink(missing_ok=True)  # the .npz first: from then on a reader finds no model, not half of one
        total -= size
        removed.append(addr)
    return removed
