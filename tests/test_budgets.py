"""Budgets decided before allocation: hostile model files are refused from their headers, in a few MB and a moment."""
import math
import pickle
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from numpy._core.multiarray import _reconstruct

from engine.bookpickle import MAX_ARRAY_BYTES, MAX_PICKLE_BYTES, safe_unpickle
from engine.errors import ModelFormatError
from engine.model import MAX_LAYERS, MAX_PARAMS, MLP
from engine.modelfile import MAX_MEMBERS, check_params, load_model, save_model
from engine.preprocess import fit
from tests.conftest import ROOT
from tests.synth import synthetic_digits

LOAD_IN_CHILD = """
import resource, sys, time
from engine.errors import ModelFormatError
from engine.modelfile import load_model
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB, after the imports
start = time.perf_counter()
try:
    load_model(sys.argv[1])
    print("loaded")
except ModelFormatError as e:
    print("refused:", e)
print(time.perf_counter() - start)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
"""


def load_in_child(path):
    """load_model(path) in a fresh Python: (what it printed, seconds, MB its peak RSS grew by during the load)."""
    r = subprocess.run([sys.executable, "-c", LOAD_IN_CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    said, seconds, grew = r.stdout.strip().splitlines()
    return said, float(seconds), float(grew)


def peak_bytes(f, *args):
    """(f(*args) or the ModelFormatError it raised, the peak bytes Python and numpy allocated meanwhile)."""
    tracemalloc.start()
    try:
        out = f(*args)
    except ModelFormatError as e:
        out = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, peak


def write_npz(path, members):
    """An .npz streamed member by member from {name: (shape, dtype)} of zeros: the test never holds the arrays."""
    chunk = bytes(2**20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for key, (shape, dtype) in members.items():
            with z.open(f"{key}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array_header_1_0(
                    f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
                left = math.prod(shape) * np.dtype(dtype).itemsize
                while left:
                    f.write(chunk[:min(left, len(chunk))])
                    left -= min(left, len(chunk))
    return path


def net(sizes, dtype):
    """{name: (shape, dtype)} of an MLP with these layer widths."""
    return {k: v for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False), 1)
            for k, v in ((f"W{i}", ((a, b), dtype)), (f"b{i}", ((b,), dtype)))}


# --- row 1: a 199-byte pickle that declares a 1 GiB array ---------------------------------------------------

# {'W1': _reconstruct(ndarray, (2**28,), 'f'), 'b1': _reconstruct(ndarray, (10,), 'f')}: sizes declared, no data carried
DECLARES_1_GIB = (b"\x80\x02}(X\x02\x00\x00\x00W1cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
                  b"J\x00\x00\x00\x10\x85C\x01f\x87RX\x02\x00\x00\x00b1cnumpy.core.multiarray\n_reconstruct\n"
                  b"cnumpy\nndarray\nK\x0a\x85C\x01f\x87Ru.")


def test_a_tiny_pickle_declaring_1_gib_is_refused_quickly_in_little_memory(tmp_path):
    path = tmp_path / "w.pkl"
    path.write_bytes(DECLARES_1_GIB)
    assert len(DECLARES_1_GIB) < 200
    said, seconds, grew = load_in_child(path)
    assert said.startswith("refused: w.pkl: The pickle declares an array of shape (268435456,) (1,073,741,824 bytes)"), said
    assert grew < 50 and seconds < 2, (grew, seconds)


class SharedSwapped:
    """Pickles as a big-endian float64 array whose bytes are one memoized buffer: each copy is byte-swapped on load."""

    def __init__(self, buf):
        self.buf = buf

    def __reduce__(self):
        return (_reconstruct, (np.ndarray, (0,), b"b"), (1, (len(self.buf) // 8,), np.dtype(">f8"), False, self.buf))


class NoState:
    """Pickles as numpy's _reconstruct(ndarray, shape, dtype) alone, with no BUILD state after it."""

    def __init__(self, shape, code):
        self.shape, self.code = shape, code

    def __reduce__(self):
        return (_reconstruct, (np.ndarray, self.shape, self.code))


def test_a_pickle_reusing_one_buffer_for_many_arrays_is_refused_within_the_budget():
    buf = bytes(2**20)
    data = pickle.dumps({f"W{i}": SharedSwapped(buf) for i in range(64)}, protocol=3)  # 1 MB on disk, 64 MB once loaded
    assert len(data) < 2 * len(buf)
    err, peak = peak_bytes(safe_unpickle, data, "w.pkl")
    assert isinstance(err, ModelFormatError) and f"beyond the {MAX_ARRAY_BYTES:,} bytes" in str(err)
    assert peak < 4 * MAX_ARRAY_BYTES


def test_arrays_that_fill_the_budget_exactly_load_and_one_byte_more_is_refused():
    half = bytes(MAX_ARRAY_BYTES // 2)
    data = pickle.dumps({"W1": SharedSwapped(half), "W2": SharedSwapped(half)}, protocol=3)
    loaded = safe_unpickle(data, "w.pkl")
    assert sum(a.nbytes for a in loaded.values()) == MAX_ARRAY_BYTES and not any(a.any() for a in loaded.values())
    data = pickle.dumps({"W1": SharedSwapped(half), "W2": SharedSwapped(half), "b": SharedSwapped(bytes(8))}, protocol=3)
    with pytest.raises(ModelFormatError, match=r"^w.pkl: The pickle declares an array of shape \(1,\) \(8 bytes\), beyond the "):
        safe_unpickle(data, "w.pkl")


def test_an_array_is_allocated_with_the_dtype_its_budget_was_charged_for():
    # _reconstruct with no state: the array numpy's pickles start from, here as large as the budget allows in int8
    data = pickle.dumps(NoState((MAX_ARRAY_BYTES,), b"b"), protocol=3)
    arr, peak = peak_bytes(safe_unpickle, data, "w.pkl")
    assert not isinstance(arr, ModelFormatError), arr
    assert arr.dtype == np.int8 and arr.shape == (MAX_ARRAY_BYTES,)
    assert peak < 1.5 * MAX_ARRAY_BYTES  # 2 MiB, not the 16 MiB of float64
    err, _ = peak_bytes(safe_unpickle, pickle.dumps(NoState((MAX_ARRAY_BYTES + 1,), b"b"), protocol=3), "w.pkl")
    assert isinstance(err, ModelFormatError) and "beyond the" in str(err)


def test_a_pickle_of_exactly_the_size_limit_is_read_and_one_byte_more_is_not():
    overhead = len(pickle.dumps(bytes(1000), protocol=3)) - 1000  # opcode, 4-byte length, memo and stop
    data = pickle.dumps(bytes(MAX_PICKLE_BYTES - overhead), protocol=3)
    assert len(data) == MAX_PICKLE_BYTES
    assert safe_unpickle(data, "w.pkl") == bytes(MAX_PICKLE_BYTES - overhead)
    data = pickle.dumps(bytes(MAX_PICKLE_BYTES - overhead + 1), protocol=3)
    with pytest.raises(ModelFormatError) as e:
        safe_unpickle(data, "w.pkl")
    assert str(e.value) == f"w.pkl is {MAX_PICKLE_BYTES + 1:,} bytes; a weights pickle over {MAX_PICKLE_BYTES:,} bytes is refused."


def test_the_book_pickle_fits_its_budget_tenfold(book_weights):
    assert MAX_ARRAY_BYTES >= 10 * book_weights.stat().st_size
    assert load_model(book_weights).sizes == [784, 50, 100, 10]


# --- row 2: a 248 KB int8 .npz of a 784-320000-10 net ---------------------------------------------------------

def test_a_small_npz_of_a_huge_net_is_refused_from_its_headers(tmp_path):
    path = write_npz(tmp_path / "big.npz", net([784, 320_000, 10], np.int8))
    assert path.stat().st_size < 400_000  # a quarter of a megabyte that unpacks to 254 MB of int8, 1 GB as float32
    said, seconds, grew = load_in_child(path)
    assert said.startswith("refused: big.npz unpacks to 254,400,"), said
    assert grew < 50 and seconds < 2, (grew, seconds)


def test_the_limit_counts_parameters_not_bytes(tmp_path):
    path = write_npz(tmp_path / "wide.npz", net([784, 3000, 10], np.int8))  # 2.4 MB of int8: under any byte cap
    err, peak = peak_bytes(load_model, path)
    assert str(err) == ("wide.npz declares 2,385,010 weights and biases, over the limit of 2,000,000: use a smaller net "
                        "(784-512-512-512-10, twice as wide as the training page's largest, has 932,362).")
    assert peak < 1_000_000  # not one member was unpacked


def test_the_largest_net_the_training_page_makes_loads(tmp_path):
    sizes = [784, 512, 512, 512, 10]  # twice as wide as pages/train.py's largest (3 hidden layers of 256 units)
    params = {k: np.full(shape, 0.01, np.float32) for k, (shape, _) in net(sizes, np.float32).items()}
    assert sum(v.size for v in params.values()) == 932_362 < MAX_PARAMS
    model = load_model(save_model(MLP(params, activation="relu"), tmp_path / "largest"))
    assert model.sizes == sizes


def test_a_net_just_over_the_limit_is_refused(tmp_path):
    path = tmp_path / "over.npz"
    np.savez(path, **{k: np.zeros(shape, np.float32) for k, (shape, _) in net([784, 2600, 10], np.float32).items()})
    with pytest.raises(ModelFormatError, match="^over.npz declares 2,067,010 weights and biases, over the limit of 2,000,000"):
        load_model(path)


# --- row 2: inference folds the weights once, in float32 ----------------------------------------------------

@pytest.fixture(scope="module")
def pixels():
    x, _ = synthetic_digits(50, seed=2)
    return x.reshape(50, 784)


def big_model(activation, preprocess):
    rng = np.random.default_rng(0)
    params = {k: rng.normal(0, 0.05, shape).astype(np.float32) for k, (shape, _) in net([784, 512, 512, 512, 10], None).items()}
    return MLP(params, activation=activation, preprocess=preprocess)


def test_predicting_again_copies_no_weights(pixels):
    model = big_model("sigmoid", fit("unit", pixels))
    first = model.predict_proba(pixels[:1])
    again, peak = peak_bytes(model.predict_proba, pixels[:1])
    np.testing.assert_array_equal(again, first)
    assert peak < 100_000  # the net's folded weights (3.7 MB) are kept, not rebuilt (11 MB in float64) on every call


@pytest.mark.parametrize("activation, kind", [("sigmoid", "unit"), ("sigmoid", "whiten"), ("relu", "standardize"), ("relu", "raw")])
def test_nbytes_is_what_the_model_really_holds_once_used(pixels, activation, kind):
    model = big_model(activation, fit(kind, pixels))
    params = sum(v.nbytes for v in model.params.values())
    fitted = sum(v.nbytes for v in model.preprocess.to_arrays().values())
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    model.predict(pixels[:1])  # the first call folds the weights (and the preprocessing) and keeps them
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert model.nbytes - params - fitted == pytest.approx(kept, abs=20_000)
    assert params <= model.nbytes <= 2 * params + 2 * fitted


# --- the other budgets: file sizes, member counts, depth -------------------------------------------------------

def test_a_zip_declaring_thousands_of_members_is_refused_before_zipfile_lists_them(tmp_path):
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(5000):
            z.writestr(f"x{i}.npy", b"")
    err, peak = peak_bytes(load_model, path)
    assert str(err) == f"many.npz holds 5,000 files, more than the {MAX_MEMBERS} of any model: save it with np.savez."
    assert peak < 2 * path.stat().st_size  # the file's tail is read, not one ZipInfo per entry


def test_a_big_pickle_is_refused_from_its_size_before_it_is_read(tmp_path):
    path = tmp_path / "w.pkl"
    path.write_bytes(pickle.dumps({"W1": np.zeros(MAX_PICKLE_BYTES // 4, np.float32)}, protocol=3))
    err, peak = peak_bytes(load_model, path)
    assert str(err).startswith(f"w.pkl is {path.stat().st_size:,} bytes; files over {MAX_PICKLE_BYTES:,} bytes are refused")
    assert peak < 100_000


def test_a_net_deeper_than_the_limit_is_refused():
    params = {k: np.zeros(shape, np.float32) for k, (shape, _) in net([784] + [10] * (MAX_LAYERS + 1), None).items()}
    with pytest.raises(ModelFormatError, match=f"^m.npz has {MAX_LAYERS + 1} weight layers; at most {MAX_LAYERS}"):
        check_params(params, name="m.npz")
