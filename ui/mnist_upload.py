"""Uploaded MNIST files: identify and validate each one from its bytes, then store it under its standard name."""
import os
from pathlib import Path

from engine.data import FILES, candidates, find_files
from engine.errors import MnistFormatError
from engine.idx import IMAGE_MAGIC, LABEL_MAGIC, decompress, parse_idx
from engine.paths import mnist_cache_dir

SPLIT_SIZES = {60_000: "train", 10_000: "test"}  # the real sets' sizes, used only when the name does not say


def _split_from_name(name):
    low = name.lower()
    if "t10k" in low or "test" in low:
        return "test"
    return "train" if "train" in low else None


def identify(name, data):
    """(key, array) of an uploaded MNIST file: key is one of FILES ('train_img', ...); raises MnistFormatError."""
    raw = decompress(bytes(data), name)
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    kind = {IMAGE_MAGIC: "images", LABEL_MAGIC: "labels"}.get(magic)
    if kind is None:
        found = f"0x{magic:08X}" if magic is not None else "nothing"
        raise MnistFormatError(
            f"{name} is not an MNIST file: it starts with {found}, not the IDX magic number of images (0x00000803) "
            "or labels (0x00000801).")
    arr = parse_idx(raw, name, kind=kind)  # full validation before anything is written
    split = _split_from_name(name) or SPLIT_SIZES.get(len(arr))
    if split is None:
        raise MnistFormatError(
            f"Cannot tell whether {name} belongs to the training or the test set: rename it to its standard "
            "name (train-… or t10k-…) and upload it again.")
    return f"{split}_{'img' if kind == 'images' else 'label'}", arr


def _atomic_write(path, data):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(data):x}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def store(name, data, *, folder=None):
    """Validate an uploaded file and write it atomically into the MNIST cache as e.g. train-images-idx3-ubyte.gz; returns its key."""
    key, _ = identify(name, data)
    folder = Path(folder or mnist_cache_dir())
    stem = FILES[key][0]
    gz = bytes(data[:2]) == b"\x1f\x8b"
    dest = folder / (stem + ".gz" if gz else stem)  # the standard name: the uploaded name never becomes a path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(dest, bytes(data))
        for other in candidates(stem):  # an older copy under another spelling would shadow or contradict this one
            if folder / other != dest:
                (folder / other).unlink(missing_ok=True)
    except OSError as e:
        raise MnistFormatError(f"Cannot write {dest} ({e.strerror}): make the cache folder writable or set MNIST_DIR.") from None
    return key


def present(folder=None):
    """{key: True/False} for the four files in the MNIST cache folder."""
    return {k: p is not None for k, p in find_files(folder or mnist_cache_dir()).items()}
