"""The dataset and model files, loaded once per process behind st.cache_resource and shared by every session.

The MNIST arrays are made read-only, so a page that tries to change them fails loudly instead of
changing them for everyone. Models are shared too: copy one before changing it.
"""
import os
import threading
from dataclasses import dataclass

# Imported whole before any page runs (dashboard.py imports this module first): plotly looks pandas up with
# sys.modules.get() and does not wait for an import in progress, so on a cold start a chart drawn while another
# session's thread was still importing pandas raised "partially initialized module 'pandas' has no attribute 'Series'"
import pandas  # noqa: F401
import streamlit as st

from engine.data import load_raw, locate
from engine.errors import EngineError
from engine.modelfile import load_model
from ui.i18n import t

SPLITS = ("train", "test")
# st.cache_resource already computes each key once; this lock also keeps two *different* keys (say a data
# folder that changed mid-load) from parsing into the engine's .npy cache at the same time, whose temp
# file names are per process, not per thread, and makes "one load at a time" explicit for model files too
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Dataset:
    """The four MNIST arrays (uint8, read-only) and where they came from; key identifies this exact copy."""

    key: str
    origin: str  # "MNIST_DIR" or "cache"
    folder: str
    arrays: dict  # {'train_img': (60000, 28, 28), 'train_label': (60000,), 'test_img': ..., 'test_label': ...}

    def images(self, split):
        """uint8 (n, 28, 28) images of 'train' or 'test'."""
        return self.arrays[f"{split}_img"]

    def labels(self, split):
        """uint8 (n,) labels of 'train' or 'test'."""
        return self.arrays[f"{split}_label"]

    def size(self, split):
        """Number of images in the split."""
        return len(self.arrays[f"{split}_label"])


def source_key():
    """(key, origin, folder) of the MNIST files the engine would load now; raises MnistNotFoundError if there are none."""
    folder, found = locate()
    origin = "MNIST_DIR" if os.environ.get("MNIST_DIR") else "cache"
    # size and mtime make a replaced file a new key, so an upload or download is picked up without a restart
    stamps = ";".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in found.values())
    return f"{folder.resolve()}|{stamps}", origin, str(folder)


_DATASETS = {}  # key -> Dataset: module state, not st.cache_resource, which any client can clear with one message
KEEP = 2  # datasets kept: the current one and, for a moment after an upload, the one before


def _load(key, origin, folder):
    """The Dataset of these files, parsed once per process; at most KEEP are held."""
    with _LOAD_LOCK:
        if key not in _DATASETS:
            arrays = load_raw(folder, download=False)
            for a in arrays.values():
                a.flags.writeable = False  # shared by every session: a write anywhere would be a bug, so make it raise
            _DATASETS[key] = Dataset(key=key, origin=origin, folder=folder, arrays=arrays)
            while len(_DATASETS) > KEEP:
                del _DATASETS[next(iter(_DATASETS))]
        return _DATASETS[key]


def dataset():
    """The cached Dataset; raises MnistNotFoundError / MnistFormatError (one clear sentence) when it cannot load."""
    return _load(*source_key())


def try_dataset():
    """(Dataset, None) when MNIST loads, else (None, the EngineError saying why in one sentence)."""
    try:
        with st.spinner(t("shell.loading_mnist")):  # only drawn if the load takes a while (the first visit)
            return dataset(), None
    except EngineError as e:
        return None, e


def forget():
    """Drop the loaded datasets and derived results, e.g. after new files were installed."""
    with _LOAD_LOCK:
        _DATASETS.clear()
    st.cache_data.clear()


@st.cache_resource(show_spinner=False, max_entries=32)
def _model_file(path, size, mtime_ns):
    """A model file loaded once per process per version (size and mtime are part of the key)."""
    with _LOAD_LOCK:
        return load_model(path)


def model_file(path):
    """The cached MLP in an .npz (or the book's .pkl) file; raises ModelFormatError with one clear sentence."""
    st_ = os.stat(path)
    return _model_file(str(path), st_.st_size, st_.st_mtime_ns)
