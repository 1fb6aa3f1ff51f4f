"""Import the book's sample_weight.pkl without running pickle code: numpy arrays in a dict, nothing else."""
import io
import math
import pickle

import numpy as np

from .errors import ModelFormatError

MAX_PICKLE_BYTES = 2 * 2**20  # the book's sample_weight.pkl is 181,853 bytes; ten times that is still no weights pickle
# array data sits inline in a pickle, so its arrays can never rightly hold more bytes than the file: a pickle that declares
# more either names sizes it does not carry or reuses one memoized buffer for many byte-swapped (copied) arrays
MAX_ARRAY_BYTES = MAX_PICKLE_BYTES
SAFE_DTYPE_KINDS = "fiub"  # float, int, unsigned, bool: never object ('O') or void records


def _dtype(obj, *args):
    """numpy.dtype for plain numeric types only, always a fresh copy so a later BUILD cannot touch numpy's own."""
    return _checked_dtype(np.dtype(obj, align=False, copy=True))


def _checked_dtype(dt):
    """dt itself if it is a plain numeric dtype; an object, record or sub-array dtype could smuggle objects or sizes in."""
    if not isinstance(dt, np.dtype) or dt.kind not in SAFE_DTYPE_KINDS or dt.fields is not None or dt.subdtype is not None:
        raise ModelFormatError(f"The pickle asks for numpy dtype {dt!s}; only plain numeric arrays are allowed, so it was refused.")
    return dt


class _NdarrayName:
    """Stands for numpy.ndarray inside a pickle: _reconstruct accepts it, but calling it cannot allocate an array."""

    def __new__(cls, *args, **kwargs):
        raise ModelFormatError("The pickle calls numpy.ndarray directly, which numpy's own pickles never do; refused.")


class _Budget:
    """Bytes of array data a pickle may still build, charged before each array is allocated."""

    def __init__(self, nbytes):
        self.left = nbytes

    def charge(self, shape, dt):
        """Bytes of an array of this shape and dtype, taken from what is left; refused if they do not fit."""
        if not isinstance(shape, tuple) or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
            raise ModelFormatError(f"The pickle declares an array of shape {shape!r}, which is not a shape; refused.")
        nbytes = math.prod(shape) * dt.itemsize
        if nbytes > self.left:
            raise ModelFormatError(f"The pickle declares an array of shape {shape} ({nbytes:,} bytes), beyond the "
                                   f"{MAX_ARRAY_BYTES:,} bytes of arrays a weights pickle may hold; refused.")
        self.left -= nbytes
        return nbytes


class _Array(np.ndarray):
    """An ndarray under construction by the unpickler: its __setstate__ (pickle's BUILD) is charged to the budget first."""

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise ModelFormatError("The pickle sets an array's state to something numpy never writes; refused.")
        shape, dt, rawdata = state[-4], _checked_dtype(state[-3]), state[-1]
        nbytes = self._budget.charge(shape, dt)
        if not isinstance(rawdata, (bytes, str)) or len(rawdata) != nbytes:
            raise ModelFormatError(f"The pickle declares an array of shape {shape} without carrying its {nbytes:,} bytes; refused.")
        super().__setstate__(state)


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the few numpy names an array needs, within a byte budget; any other global is refused."""

    def __init__(self, file):
        super().__init__(file)
        self.budget = _Budget(MAX_ARRAY_BYTES)

    def reconstruct(self, cls, shape, dtype_code):
        """numpy's array-unpickling entry point, limited to an ndarray whose declared size fits the budget."""
        if cls is not _NdarrayName:
            raise ModelFormatError("The pickle tries to build something other than a numpy array.")
        dt = _dtype(dtype_code)
        self.budget.charge(shape, dt)
        arr = np.ndarray.__new__(_Array, shape, dt)
        arr._budget = self.budget
        return arr

    def find_class(self, module, name):
        if (module, name) in (("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")):
            return self.reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName
        if (module, name) == ("numpy", "dtype"):
            return _dtype
        raise ModelFormatError(
            f"The pickle asks to load {module}.{name}, which could run code; only numpy arrays are allowed, so it was refused.")

    def persistent_load(self, pid):
        raise ModelFormatError("The pickle uses persistent references, which a weights file never needs; refused.")


def _plain(obj):
    """The unpickled object with its top-level arrays (or a dict's values) as plain ndarrays, not the checked subclass."""
    if isinstance(obj, _Array):
        return obj.view(np.ndarray)
    if isinstance(obj, dict):
        return {k: v.view(np.ndarray) if isinstance(v, _Array) else v for k, v in obj.items()}
    return obj


def safe_unpickle(data, name="the pickle"):
    """Unpickle bytes allowing only dicts, lists, numbers, strings and numeric numpy arrays within MAX_ARRAY_BYTES."""
    if len(data) > MAX_PICKLE_BYTES:
        raise ModelFormatError(f"{name} is {len(data):,} bytes; a weights pickle over {MAX_PICKLE_BYTES:,} bytes is refused.")
    try:
        return _plain(SafeUnpickler(io.BytesIO(data)).load())
    except ModelFormatError as e:
        raise ModelFormatError(f"{name}: {e}") from None
    except Exception as e:  # any malformed stream: one clear message, never a traceback
        raise ModelFormatError(f"{name} is not a readable weights pickle ({type(e).__name__}: {e}).") from None
