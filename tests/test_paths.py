"""Where the engine keeps its files: the cache root from the environment, and the folders under it."""
from pathlib import Path

import pytest

from engine import paths


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No cache variable set and HOME in a temp folder; returns the fake home."""
    for name in ("MNIST_EXPLORER_CACHE", "XDG_CACHE_HOME", "MNIST_EXPLORER_STORE"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    return home


def test_the_cache_root_is_mnist_explorer_cache_then_xdg_then_the_home_cache(env, tmp_path, monkeypatch):
    assert paths.cache_dir() == env / ".cache" / "mnist-explorer"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "mnist-explorer"
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "mine"))
    assert paths.cache_dir() == tmp_path / "mine"  # taken as it is, without a mnist-explorer folder under it
    assert isinstance(paths.cache_dir(), Path)


def test_an_empty_variable_counts_as_unset(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert paths.cache_dir() == env / ".cache" / "mnist-explorer"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "mnist-explorer"
    monkeypatch.setenv("MNIST_EXPLORER_STORE", "")
    assert paths.store_dir() == tmp_path / "xdg" / "mnist-explorer" / "store"


def test_the_folders_under_the_cache_root_are_distinct(env, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "c"))
    root = tmp_path / "c"
    assert paths.mnist_cache_dir() == root / "mnist"
    assert paths.parsed_cache_dir() == root / "parsed"
    assert paths.store_dir() == root / "store"
    monkeypatch.setenv("MNIST_EXPLORER_STORE", str(tmp_path / "shared"))
    assert paths.store_dir() == tmp_path / "shared"  # the store alone may live elsewhere, shared by several servers
    assert paths.mnist_cache_dir() == root / "mnist"
