"""load_mnist with the book's semantics: find the four files, parse them once, cache the arrays.

Which files and from which folder is engine/mnistfiles.py (shared with the downloader); its names are re-exported here.
"""
import contextlib
import hashlib
import json
import os

import numpy as np

from . import debris
from . import download as downloader
from .errors import MnistFormatError, MnistNotFoundError
from .idx import read_idx
from .mnistfiles import FILES, cache_refusal, candidates, find_files, locate, source_problem, writable_cache  # noqa: F401 (ui/)
from .paths import mnist_cache_dir, parsed_cache_dir


def checksum(arr):
    """Fast corruption check of an array's bytes: wrapping sum of its 64-bit words (~3 ms for 47 MB)."""
    b = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
    n8 = len(b) // 8 * 8
    return int(b[:n8].view(np.uint64).sum(dtype=np.uint64)) ^ int(b[n8:].sum(dtype=np.uint64)) << 1


def _stamp(path):
    """What identifies a source file's version: its resolved path, size and modification time."""
    st = path.stat()
    return {"source": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _cached_read(path, kind):
    """Parse an IDX file through a uint8 .npy cache keyed by its stamp; a broken cache is rebuilt, never trusted."""
    try:
        stamp = _stamp(path)
    except OSError:
        return read_idx(path, kind=kind)  # vanished or unreadable: read_idx says so in one clear sentence
    key = hashlib.sha256(stamp["source"].encode()).hexdigest()[:16]
    folder = parsed_cache_dir()
    npy, meta = folder / f"{path.name}.{key}.npy", folder / f"{path.name}.{key}.json"
    try:
        card = json.loads(meta.read_text())
        if card["stamp"] == stamp:
            arr = np.load(npy, allow_pickle=False)
            if (arr.dtype == np.uint8 and list(arr.shape) == card["shape"]
                    and checksum(arr) == card["checksum"]):
                return arr
    except Exception:  # whatever is wrong with the cache (missing, truncated, garbage), it is never trusted
        pass  # parse the source again below
    arr = read_idx(path, kind=kind)
    _write_cache(arr, npy, meta, {"stamp": stamp, "shape": list(arr.shape), "checksum": checksum(arr)})
    return arr


def _write_cache(arr, npy, meta, card):
    """Write the .npy and its card atomically; a cache that cannot be written is simply skipped."""
    tmps = []  # in the cache's tmp folder, named after this process: a kill midway leaves them to debris.sweep()
    try:
        tmps = [debris.new_path("parsed", ".npy"), debris.new_path("parsed", ".json")]
        npy.parent.mkdir(parents=True, exist_ok=True)
        with open(tmps[0], "wb") as f:
            np.save(f, arr, allow_pickle=False)
        tmps[1].write_text(json.dumps(card))
        debris.place(tmps[0], npy)  # a crash between the two leaves a stamp or checksum mismatch: rebuilt
        debris.place(tmps[1], meta)
    except OSError:
        pass
    finally:
        for tmp in tmps:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def load_raw(data_dir=None, *, download=False, progress=None):
    """The four arrays as uint8: {'train_img': (60000, 28, 28), 'train_label': (60000,), ...}."""
    try:
        _, found = locate(data_dir)
    except MnistNotFoundError:
        if not download or data_dir or os.environ.get("MNIST_DIR"):
            raise
        downloader.download_mnist(mnist_cache_dir(), progress=progress)
        _, found = locate()
    raw = {key: _cached_read(path, FILES[key][1]) for key, path in found.items()}
    for split in ("train", "test"):
        n_img, n_lab = len(raw[f"{split}_img"]), len(raw[f"{split}_label"])
        if n_img != n_lab:
            raise MnistFormatError(
                f"{found[split + '_img'].name} holds {n_img:,} images but {found[split + '_label'].name} holds {n_lab:,} labels: "
                "one of the two is the wrong file. Replace them with a matching pair.")
    return raw


def shape_images(img, *, normalize, flatten):
    """uint8 (n, 28, 28) -> (n, 784) or (n, 1, 28, 28); float32 in [0, 1] if normalize."""
    x = img.reshape(len(img), 784) if flatten else img.reshape(len(img), 1, 28, 28)
    if not normalize:
        return x
    # one pass into one float32 array (no float copy divided afterwards): the same numbers as the book's astype + /= 255
    return np.divide(x, np.float32(255.0), dtype=np.float32)


def one_hot(t, k=10):
    """Integer labels (n,) -> one-hot float32 (n, k)."""
    out = np.zeros((len(t), k), dtype=np.float32)
    out[np.arange(len(t)), t] = 1
    return out


def load_mnist(normalize=True, flatten=True, one_hot_label=False, *, data_dir=None, download=True, progress=None):
    """The book's load_mnist: ((x_train, t_train), (x_test, t_test)), from data_dir, $MNIST_DIR, the cache or a download."""
    raw = load_raw(data_dir, download=download, progress=progress)
    out = []
    for split in ("train", "test"):
        x = shape_images(raw[f"{split}_img"], normalize=normalize, flatten=flatten)
        t = raw[f"{split}_label"]
        out.append((x, one_hot(t) if one_hot_label else t.copy()))
    return tuple(out)
