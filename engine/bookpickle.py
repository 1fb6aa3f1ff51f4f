"""Import the book's sample_weight.pkl without running pickle code: numpy arrays in a dict, nothing else."""
import io
import pickle

import numpy as np

from .errors import ModelFormatError

MAX_PICKLE_BYTES = 64 * 2**20
SAFE_DTYPE_KINDS = "fiub"  # float, int, unsigned, bool: never object ('O') or void records


def _dtype(obj, *args):
    """numpy.dtype for plain numeric types only; an object dtype would let a pickle smuggle objects in."""
    dt = np.dtype(obj)
    if dt.kind not in SAFE_DTYPE_KINDS or dt.fields is not None:
        raise ModelFormatError(f"The pickle asks for numpy dtype {dt!s}; only plain numeric arrays are allowed, so it was refused.")
    return dt


def _reconstruct(cls, shape, dtype_code):
    """numpy's array-unpickling entry point, limited to building an empty ndarray."""
    if cls is not np.ndarray:
        raise ModelFormatError("The pickle tries to build something other than a numpy array.")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
}


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the few numpy names an array needs; any other global is refused."""

    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return ALLOWED[(module, name)]
        raise ModelFormatError(
            f"The pickle asks to load {module}.{name}, which could run code; only numpy arrays are allowed, so it was refused.")

    def persistent_load(self, pid):
        raise ModelFormatError("The pickle uses persistent references, which a weights file never needs; refused.")


def safe_unpickle(data, name="the pickle"):
    """Unpickle bytes allowing only dicts, lists, numbers, strings and numeric numpy arrays."""
    if len(data) > MAX_PICKLE_BYTES:
        raise ModelFormatError(f"{name} is {len(data):,} bytes; a weights pickle over {MAX_PICKLE_BYTES:,} bytes is refused.")
    try:
        return SafeUnpickler(io.BytesIO(data)).load()
    except ModelFormatError as e:
        raise ModelFormatError(f"{name}: {e}") from None
    except Exception as e:  # any malformed stream: one clear message, never a traceback
        raise ModelFormatError(f"{name} is not a readable weights pickle ({type(e).__name__}: {e}).") from None
