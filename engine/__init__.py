"""MNIST Explorer's engine: pure NumPy, no UI. Data, the book's network, model files, training.

The package imports none of its modules itself: the dashboard's session threads import engine.<module> at the same
time on a cold start, and a package __init__ that imports them too deadlocked them (_DeadlockError, "partially
initialized module"). The names below are still here, loaded on first use (PEP 562).
"""
import importlib

_EXPORTS = {"load_mnist": "data", "MLP": "model", "load_model": "modelfile", "save_model": "modelfile",
            **{name: "errors" for name in ("EngineError", "MnistFormatError", "MnistNotFoundError", "ModelFormatError",
                                           "DownloadError", "ImageFormatError", "TrainingError")}}
__all__ = list(_EXPORTS)


def __getattr__(name):
    """engine.load_mnist and the other exports, imported from their module when first asked for."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
