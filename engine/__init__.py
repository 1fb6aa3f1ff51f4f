"""MNIST Explorer's engine: pure NumPy, no UI. Data, the book's network, model files, training.

The package imports none of its modules itself: the dashboard's session threads import engine.<module> at the same
time on a cold start, and a package __init__ that imports them too deadlocked them (_DeadlockError, "partially
initialized module"). The names below are still here, loaded on first use (PEP 562).
"""
_ERRORS = ("EngineError", "MnistFormatError", "MnistNotFoundError", "ModelFormatError", "DownloadError", "ImageFormatError",
           "TrainingError", "StatsError")
_STATS = ("mcnemar", "mean_interval", "compare_groups")
__all__ = ["load_mnist", "MLP", "load_model", "save_model", *_STATS, *_ERRORS]


def __getattr__(name):
    """engine.load_mnist and the other exports, imported from their module when first asked for."""
    if name == "load_mnist":
        from .data import load_mnist as value
    elif name == "MLP":
        from .model import MLP as value
    elif name in ("load_model", "save_model"):
        from . import modelfile
        value = getattr(modelfile, name)
    elif name in _STATS:
        from . import stats
        value = getattr(stats, name)
    elif name in _ERRORS:
        from . import errors
        value = getattr(errors, name)
    else:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    return value
