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


class ImageFormatError(EngineError):
    """An uploaded or drawn picture cannot be turned into an MNIST digit (not an image, no ink, too large...)."""


class TrainingError(EngineError):
    """Training settings are nonsense (zero-width layer, learning rate <= 0) or the loss became NaN."""


class StatsError(EngineError, ValueError):
    """Arguments to a statistic are of the wrong shape or out of range (lengths differ, no values, level outside (0, 1))."""
