"""Errors the engine raises: each message names the thing and the fix in one sentence."""


class EngineError(Exception):
    """Base class for every error the engine raises on purpose."""


class MnistFormatError(EngineError):
    """An MNIST file (IDX, gzip or cache) is truncated, corrupt or of the wrong kind."""


class MnistNotFoundError(EngineError):
    """The four MNIST files are not in any of the places the engine looks."""


class DownloadError(EngineError):
    """Every mirror failed to deliver a verified MNIST file."""


class ModelFormatError(EngineError):
    """A model file (.npz, .json card or the book's .pkl) is unsafe, corrupt or of the wrong shape."""
