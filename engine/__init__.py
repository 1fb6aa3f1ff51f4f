"""MNIST Explorer's engine: pure NumPy, no UI. Data, the book's network, model files, training."""
from .data import load_mnist
from .errors import DownloadError, EngineError, ImageFormatError, MnistFormatError, MnistNotFoundError, ModelFormatError, TrainingError
from .model import MLP
from .modelfile import load_model, save_model

__all__ = ["load_mnist", "MLP", "load_model", "save_model", "EngineError", "MnistFormatError",
           "MnistNotFoundError", "ModelFormatError", "DownloadError", "ImageFormatError", "TrainingError"]
