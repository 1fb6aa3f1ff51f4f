"""Where the engine keeps its files: the user cache directory, never beside a data folder."""
import os
from pathlib import Path


def cache_dir():
    """The user cache root: $MNIST_EXPLORER_CACHE, else $XDG_CACHE_HOME/mnist-explorer, else ~/.cache/mnist-explorer."""
    if os.environ.get("MNIST_EXPLORER_CACHE"):
        return Path(os.environ["MNIST_EXPLORER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mnist-explorer"


def mnist_cache_dir():
    """Folder the downloader and the dashboard's uploader store the four MNIST files in."""
    return cache_dir() / "mnist"


def parsed_cache_dir():
    """Folder for parsed uint8 .npy copies of the IDX files."""
    return cache_dir() / "parsed"


def store_dir():
    """Folder of the shared model store: $MNIST_EXPLORER_STORE, else the cache's store/ (several servers may share it)."""
    if os.environ.get("MNIST_EXPLORER_STORE"):
        return Path(os.environ["MNIST_EXPLORER_STORE"])
    return cache_dir() / "store"
