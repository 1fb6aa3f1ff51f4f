"""Uploaded MNIST files: told apart by their headers (magic number and count), installed only as a whole set, once.

The dataset is the server's, not a session's: a browser upload may install MNIST only while none is present. The
uploaded names are never read, neither to tell the files apart nor as paths.
"""
import fcntl
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.data import FILES, candidates, find_files
from engine.debris import new_path, place
from engine.errors import MnistFormatError
from engine.idx import IMAGE_MAGIC, LABEL_MAGIC, decompress, parse_idx
from engine.mnistfiles import writable_cache

STANDARD = {60_000: "train", 10_000: "test"}  # MNIST's own counts name a split from one file alone
_INSTALL = threading.Lock()  # one install at a time in this process; the lock file covers other processes


@dataclass(frozen=True)
class Part:
    """One validated upload: 'images' or 'labels', how many, and its bytes as uploaded (gzipped or not)."""
    name: str
    kind: str
    count: int
    data: bytes


class AlreadyInstalled(MnistFormatError):
    """MNIST is present on this server; replacing it is the operator's act, not a visitor's."""


def identify(name, data):
    """The Part of one uploaded file, fully validated from its bytes; raises MnistFormatError in one sentence."""
    raw = decompress(bytes(data), name)
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    kind = {IMAGE_MAGIC: "images", LABEL_MAGIC: "labels"}.get(magic)
    if kind is None:
        found = f"0x{magic:08X}" if magic is not None else "nothing"
        raise MnistFormatError(
            f"{name} is not an MNIST file: it starts with {found}, not the IDX magic number of images (0x00000803) "
            "or labels (0x00000801).")
    return Part(name, kind, len(parse_idx(raw, name, kind=kind)), bytes(data))


def sort_out(parts):
    """{key: Part} for the files whose split the headers tell: of two image (or label) files the larger is training."""
    out = {}
    for kind, suffix in (("images", "img"), ("labels", "label")):
        same = sorted((p for p in parts if p.kind == kind), key=lambda p: -p.count)
        if len(same) > 2:
            raise MnistFormatError(f"{len(same)} {kind} files were uploaded; MNIST has two (training and test): "
                                   "remove the extra ones.")
        if len(same) == 2 and same[0].count == same[1].count:
            raise MnistFormatError(f"{same[0].name} and {same[1].name} both hold {same[0].count:,} {kind}: the training "
                                   "set is the larger one, so one of them is the wrong file.")
        splits = ["train", "test"] if len(same) == 2 else [STANDARD.get(p.count) for p in same]
        out.update({f"{s}_{suffix}": p for s, p in zip(splits, same, strict=True) if s})
    for split in ("train", "test"):
        img, lab = out.get(f"{split}_img"), out.get(f"{split}_label")
        if img and lab and img.count != lab.count:
            raise MnistFormatError(f"{img.name} holds {img.count:,} images but {lab.name} holds {lab.count:,} labels: "
                                   "upload the labels that belong to these images.")
    return out


def install(parts, *, dataset_present, folder=None):
    """Write the four sorted-out files into the MNIST cache under their standard names, once; returns the folder.

    Refused (AlreadyInstalled) when dataset_present() or the folder already holds all four: a loaded dataset is never
    replaced from a page. The four are staged and synced, then moved in; the lock keeps two installs apart.
    """
    found = sort_out(parts)
    missing = [FILES[k][0] for k in FILES if k not in found]
    if missing:
        raise MnistFormatError(f"Upload all four files together; still missing: {', '.join(missing)}.")
    folder = Path(folder or writable_cache())
    folder.mkdir(parents=True, exist_ok=True)
    with _INSTALL, open(folder.parent / f".{folder.name}.install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dataset_present() or all(p is not None for p in find_files(folder).values()):
            raise AlreadyInstalled("MNIST is already installed on this server; replacing it is the operator's job "
                                   "(python -m engine download, or MNIST_DIR).")
        staged = []
        try:  # all four written and synced first, then moved in: a full disk leaves no partial set behind
            for key, part in found.items():
                gz = part.data[:2] == b"\x1f\x8b"
                dest = folder / (FILES[key][0] + (".gz" if gz else ""))  # the standard name: the upload's is never used
                tmp = new_path("upload", ".part")
                staged.append((tmp, dest))
                with open(tmp, "wb") as f:
                    f.write(part.data)
                    f.flush()
                    os.fsync(f.fileno())
            for tmp, dest in staged:
                place(tmp, dest)
                for other in candidates(dest.name.removesuffix(".gz")):  # an older copy under another spelling
                    if folder / other != dest:
                        (folder / other).unlink(missing_ok=True)
        except OSError as e:
            raise MnistFormatError(f"Cannot write into {folder} ({e.strerror}): make the cache folder writable or "
                                   "set MNIST_DIR.") from None
        finally:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
    return folder


def present(folder=None):
    """{key: True/False} for the four files in the MNIST cache folder."""
    return {k: p is not None for k, p in find_files(folder or writable_cache()).items()}
