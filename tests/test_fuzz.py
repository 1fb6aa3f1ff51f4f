"""Hostile input, fuzzed: the IDX parser and the model loaders give one clear error, never a crash, a hang or code execution."""
import gzip
import io
import pickle
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bookpickle import safe_unpickle
from engine.errors import EngineError, MnistFormatError, ModelFormatError
from engine.idx import decompress, parse_idx
from engine.model import MAX_PARAMS
from engine.modelfile import BOOK_SIZES, MAX_NPZ_BYTES, check_params, model_from_arrays, read_npz

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


@FAST
@given(st.binary(max_size=4096), st.sampled_from(["images", "labels"]))
def test_idx_random_bytes_raise_format_error_or_parse(data, kind):
    try:
        arr = parse_idx(decompress(data, "f.gz"), "f.gz", kind=kind)
    except MnistFormatError as e:
        assert "f.gz" in str(e)
    else:
        assert arr.dtype == np.uint8 and arr.size * 1 + (16 if kind == "images" else 8) == len(data)


@FAST
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.binary(max_size=64))
def test_idx_wrong_magic_or_huge_counts_refused_quickly(magic, count, tail):
    data = header(magic, count, 28, 28) + tail
    with pytest.raises(MnistFormatError, match="x.idx"):
        parse_idx(data, "x.idx", kind="images")


@FAST
@given(st.integers(1, 50), st.integers(-3, 3).filter(lambda d: d != 0))
def test_idx_size_mismatch_names_both_sizes(n, delta):
    data = header(0x803, n, 28, 28) + bytes(max(0, n * 784 + delta))
    with pytest.raises(MnistFormatError, match="expected"):
        parse_idx(data, "img", kind="images")


@FAST
@given(st.integers(1, 40), st.integers(1, 40))
def test_idx_wrong_image_dims_refused(h, w):
    if (h, w) == (28, 28):
        return
    with pytest.raises(MnistFormatError, match="28x28"):
        parse_idx(header(0x803, 1, h, w) + bytes(h * w), "img", kind="images")


def test_gzip_bomb_is_refused_without_unpacking_it_all():
    bomb = gzip.compress(bytes(80 * 2**20), compresslevel=9)  # 80 MiB of zeros in ~80 KB
    with pytest.raises(MnistFormatError, match="far more than MNIST"):
        decompress(bomb, "bomb.gz")


def plain(obj):
    """True if obj is built only of what safe_unpickle may return: containers, scalars and numeric ndarrays."""
    if isinstance(obj, np.ndarray):
        return obj.dtype.kind in "fiub"
    if isinstance(obj, dict):
        return all(plain(k) and plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return all(plain(v) for v in obj)
    return obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, bytearray))


@FAST
@given(st.binary(max_size=2048))
def test_pickle_random_bytes_give_model_format_error(data):
    try:
        obj = safe_unpickle(data, "w.pkl")
    except ModelFormatError as e:
        assert str(e).startswith("w.pkl")
        return
    assert plain(obj)  # plain values may unpickle; the loader then refuses them as weights
    with pytest.raises(ModelFormatError, match="^w.pkl"):
        check_params(obj, name="w.pkl", expect_sizes=BOOK_SIZES)


small_arrays = st.builds(lambda shape, dtype: (np.arange(np.prod(shape)) % 3).astype(dtype).reshape(shape),
                         st.lists(st.integers(0, 4), max_size=3).map(tuple),
                         st.sampled_from([np.float16, np.float32, np.float64, np.int8, np.uint16, np.int64, np.bool_, ">f8"]))
plain_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8), small_arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)),
    max_leaves=12)


@FAST
@given(plain_values, st.sampled_from([3, 4]))  # the book's file is protocol 3; 0-2 need _codecs and 5 numpy's _frombuffer
def test_pickles_of_plain_weights_round_trip(obj, protocol):
    def same(a, b):  # numpy unpickles big-endian arrays in native order: same kind, size and values
        if isinstance(a, np.ndarray):
            return (isinstance(b, np.ndarray) and (a.dtype.kind, a.dtype.itemsize, a.shape) == (b.dtype.kind, b.dtype.itemsize, b.shape)
                    and np.array_equal(a, b))
        if isinstance(a, (list, dict)):
            return type(a) is type(b) and len(a) == len(b) and all(
                same(x, y) for x, y in (zip(a.values(), b.values(), strict=True) if isinstance(a, dict) else zip(a, b, strict=True)))
        return type(a) is type(b) and a == b
    back = safe_unpickle(pickle.dumps(obj, protocol=protocol), "w.pkl")
    assert same(obj, back)
    if isinstance(back, dict):  # the weights a loader reads are plain ndarrays, not the unpickler's checked subclass
        assert all(type(v) is np.ndarray for v in back.values() if isinstance(v, np.ndarray))


class Payload:
    """Would run a shell command on unpickling with the standard pickle module."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_reduce_payload_is_refused_and_never_runs(tmp_path, protocol):
    marker = tmp_path / "pwned"
    data = pickle.dumps({"W1": Payload(marker)}, protocol=protocol)
    with pytest.raises(ModelFormatError, match="refused"):
        safe_unpickle(data, "evil.pkl")
    assert not marker.exists()


def test_object_dtype_pickle_is_refused():
    data = pickle.dumps({"W1": np.array([object()], dtype=object)})
    with pytest.raises(ModelFormatError):
        safe_unpickle(data, "obj.pkl")


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    return buf


array_strategy = st.one_of(
    st.builds(lambda s: np.zeros(s, np.float32), st.tuples(st.integers(0, 12), st.integers(0, 12))),
    st.builds(lambda s, bad, dtype: np.full(s, bad, dtype), st.tuples(st.integers(1, 5)), st.sampled_from([np.nan, np.inf, -np.inf]),
              st.sampled_from([np.float16, np.float32, np.float64])),
    st.builds(lambda s, big: np.full(s, big, np.float64), st.tuples(st.integers(1, 5)), st.sampled_from([1e300, -1e39, 3.5e38])),
    st.builds(lambda s: np.zeros(s, np.int8), st.tuples(st.integers(1, 5), st.integers(1, 5))),
    st.builds(lambda s: np.zeros(s, np.complex64), st.tuples(st.integers(1, 5))),
    st.builds(lambda: np.array(["x"])),
)


@FAST
@given(st.dictionaries(st.sampled_from(["W1", "b1", "W2", "b2", "W3", "b3", "x", "card", "pre_mean", "pre_std", "pre_zca"]),
                       array_strategy, max_size=7))
def test_random_npz_content_gives_one_clear_error(arrays):
    with pytest.raises(ModelFormatError):
        model_from_arrays(read_npz(npz_bytes(**arrays), "m.npz"), None, "m.npz")


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_npz_give_model_format_error(data):
    with pytest.raises(ModelFormatError):
        read_npz(io.BytesIO(data), "m.npz")


def test_npz_with_object_arrays_is_refused():
    buf = npz_bytes(W1=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFormatError, match="object arrays"):
        read_npz(buf, "m.npz")


def test_npz_zip_bomb_declared_size_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("W1.npy", bytes(MAX_NPZ_BYTES + 2**20))  # just over the cap: the test need not hold 300 MB
    buf.seek(0)
    with pytest.raises(ModelFormatError, match="refused"):
        read_npz(buf, "bomb.npz")


def npy(shape, dtype, *, trailing=0):
    """A .npy member of zeros, with `trailing` extra zero bytes after the data its header declares."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return out.getvalue() + bytes(int(np.prod(shape)) * np.dtype(dtype).itemsize + trailing)


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


BELOW_THE_CAP = {  # small files whose members unpack to far more than a model may hold, each under MAX_NPZ_BYTES
    "a header declaring twice the parameter budget": (
        {"W1.npy": npy((784, 5000), np.float32), "b1.npy": npy((5000,), np.float32),
         "W2.npy": npy((5000, 10), np.float32), "b2.npy": npy((10,), np.float32)},
        f"3,975,010 weights and biases, over the limit of {MAX_PARAMS:,}"),
    "30 MB of zeros trailing a small array": ({"W1.npy": npy((784, 10), np.float32, trailing=30 * 2**20),
                                              "b1.npy": npy((10,), np.float32)}, "not what its header declares"),
    "a card of 8 MB": ({"W1.npy": npy((784, 10), np.float32), "b1.npy": npy((10,), np.float32),
                        "card.npy": npy((8 * 2**20,), np.uint8)}, "card declares 8,388,608 values"),
    "a whitening matrix of 4 million values": ({"W1.npy": npy((784, 10), np.float32), "b1.npy": npy((10,), np.float32),
                                               "pre_zca.npy": npy((2000, 2000), np.float32)}, "pre_zca declares 4,000,000 values"),
    "a member that is not an array": ({"W1.npy": npy((784, 10), np.float32), "notes.txt": bytes(30 * 2**20)}, "not a .npy array"),
}


@pytest.mark.parametrize("case", list(BELOW_THE_CAP))
def test_small_npz_unpacking_beyond_the_budget_is_refused_without_unpacking(case):
    members, words = BELOW_THE_CAP[case]
    data = zipped(members)
    assert len(data) < 200_000 and sum(map(len, members.values())) <= MAX_NPZ_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match=words):
            read_npz(io.BytesIO(data), "bomb.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(data) + 2**20  # the file and a few buffers: no member was unpacked


def test_a_member_whose_zip_entry_hides_its_size_is_refused():
    data = bytearray(zipped({"W1.npy": npy((784, 10), np.float32, trailing=30 * 2**20), "b1.npy": npy((10,), np.float32)}))
    at = data.find(b"PK\x01\x02")  # W1.npy in the central directory: claim only the size its header needs
    data[at + 24:at + 28] = len(npy((784, 10), np.float32)).to_bytes(4, "little")
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match="bomb.npz is not a valid .npz model file .BadZipFile: Bad CRC-32"):
            read_npz(io.BytesIO(bytes(data)), "bomb.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # reading stops at the declared size, then the checksum gives the lie away


@pytest.mark.parametrize("dtype, bad", [(dtype, bad) for dtype in (np.float16, np.float32, np.float64) for bad in (np.nan, np.inf, -np.inf)]
                         + [(np.float64, 1e300), (np.float64, -1e39)])  # finite in float64, infinite once stored as float32
def test_nan_inf_and_float32_overflow_weights_are_refused(dtype, bad):
    rng = np.random.default_rng(0)
    arrays = {"W1": rng.normal(size=(784, 10)).astype(dtype), "b1": np.zeros(10, dtype)}
    arrays["W1"][3, 4] = bad
    with pytest.raises(ModelFormatError, match="^m.npz: W1 contains NaN or infinite values as float32"):
        model_from_arrays(arrays, None, "m.npz")
    arrays["W1"][3, 4] = 3e38 if dtype == np.float64 else 60000.0  # finite as float32 (and float16): accepted
    assert np.isfinite(model_from_arrays(arrays, None, "m.npz").params["W1"]).all()


def test_every_engine_error_is_an_engine_error():
    assert issubclass(MnistFormatError, EngineError) and issubclass(ModelFormatError, EngineError)
