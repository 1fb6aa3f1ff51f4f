"""IDX parsing: the four MNIST files, gzipped or raw, validated before any array is made."""
import gzip
import zlib
from pathlib import Path

import numpy as np

from .errors import MnistFormatError

# magic = 0x0000 0x08 (unsigned byte) ndim; images are 3-D, labels 1-D
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
MAX_BYTES = 64 * 2**20  # the real train images are 47 MB; anything far larger is not MNIST


def decompress(raw, name):
    """Gunzip raw bytes if they carry the gzip magic; a corrupt or truncated gzip raises MnistFormatError."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(raw, MAX_BYTES + 1)
        if len(out) > MAX_BYTES:
            raise MnistFormatError(f"{name} unpacks to more than {MAX_BYTES:,} bytes, far more than MNIST: it is not an MNIST file.")
        if not d.eof:
            raise MnistFormatError(f"{name} is a truncated gzip file: delete it and download it again.")
        return out
    except (zlib.error, gzip.BadGzipFile, EOFError) as e:
        raise MnistFormatError(f"{name} is a corrupt gzip file ({e}): delete it and download it again.") from None


def parse_idx(data, name, *, kind):
    """Parse IDX bytes into uint8 images (n, 28, 28) or labels (n,); kind is 'images' or 'labels'."""
    magic, ndim = (IMAGE_MAGIC, 3) if kind == "images" else (LABEL_MAGIC, 1)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistFormatError(f"{name} is truncated: {len(data):,} bytes is shorter than the {header}-byte IDX header.")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise MnistFormatError(
            f"{name} has magic number 0x{found:08X}, expected 0x{magic:08X} for MNIST {kind}: it is the wrong file or corrupt.")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    if kind == "images" and dims[1:] != [28, 28]:
        raise MnistFormatError(f"{name} holds {dims[1]}x{dims[2]} images, expected 28x28 MNIST digits.")
    if dims[0] == 0:
        raise MnistFormatError(f"{name} declares 0 {kind}: it is empty.")
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "too long"
        raise MnistFormatError(
            f"{name} is {what}: expected {expected:,} bytes for {dims[0]:,} {kind}, found {len(data):,}. "
            "Delete it and download it again.")
    arr = np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)
    if kind == "labels" and arr.size and arr.max() > 9:
        raise MnistFormatError(f"{name} holds label {int(arr.max())}, but MNIST labels are 0-9: the file is corrupt.")
    return arr


def read_idx(path, *, kind, name=None):
    """Read and parse one IDX file (gz or raw) from disk; errors name the file."""
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise MnistFormatError(f"{name} is {size:,} bytes, far more than MNIST: it is not an MNIST file.")
        raw = path.read_bytes()
    except OSError as e:
        raise MnistFormatError(f"{name} cannot be read ({e.strerror}): check the file and its permissions.") from None
    return parse_idx(decompress(raw, name), name, kind=kind)
