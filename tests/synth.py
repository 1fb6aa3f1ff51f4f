"""Small synthetic MNIST files for tests: valid IDX bytes, gz or raw, with digit-like blobs."""
import gzip
from pathlib import Path

import numpy as np

STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def idx_bytes(arr, *, kind):
    """Encode uint8 images (n, 28, 28) or labels (n,) as IDX bytes."""
    magic = 0x803 if kind == "images" else 0x801
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def synthetic_digits(n, *, seed=0):
    """(images (n, 28, 28) uint8, labels (n,)): label k draws a bright bar whose position and angle depend on k."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 10, n).astype(np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    x = np.zeros((n, 28, 28), np.float32)
    for i, k in enumerate(t):
        ang = np.pi * k / 10
        d = np.abs((xx - 14) * np.sin(ang) - (yy - 14) * np.cos(ang))
        x[i] = np.clip(255 * (1.5 - d / 1.5), 0, 255) * (np.hypot(xx - 14, yy - 14) < 10)
        x[i] += rng.normal(0, 8, (28, 28))
    return np.clip(x, 0, 255).astype(np.uint8), t


def write_mnist(folder, *, n_train=600, n_test=100, gz=True, seed=0):
    """Write the four files into folder and return (folder, {'train': (x, t), 'test': (x, t)})."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x, t = synthetic_digits(n, seed=seed + (split == "test"))
        for stem, arr, kind in ((STEMS[split][0], x, "images"), (STEMS[split][1], t, "labels")):
            data = idx_bytes(arr, kind=kind)
            if gz:
                (folder / f"{stem}.gz").write_bytes(gzip.compress(data, compresslevel=1))
            else:
                (folder / stem).write_bytes(data)
        out[split] = (x, t)
    return folder, out
