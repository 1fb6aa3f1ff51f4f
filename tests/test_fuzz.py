"""Hostile input, fuzzed: the IDX parser and the model loaders give one clear error, never a crash, a hang or code execution."""
import gzip
import io
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bookpickle import safe_unpickle
from engine.errors import EngineError, MnistFormatError, ModelFormatError
from engine.idx import decompress, parse_idx
from engine.modelfile import model_from_arrays, read_npz

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


@FAST
@given(st.binary(max_size=2048))
def test_pickle_random_bytes_give_model_format_error(data):
    with pytest.raises(ModelFormatError):
        obj = safe_unpickle(data, "w.pkl")
        if not isinstance(obj, dict):  # plain values may unpickle; the loader then refuses them as weights
            raise ModelFormatError("not a dict")
        raise ModelFormatError("dict without arrays")


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
    st.builds(lambda s: np.full(s, np.nan, np.float32), st.tuples(st.integers(1, 5))),
    st.builds(lambda s: np.full(s, np.inf, np.float64), st.tuples(st.integers(1, 5))),
    st.builds(lambda s: np.zeros(s, np.int8), st.tuples(st.integers(1, 5), st.integers(1, 5))),
    st.builds(lambda s: np.zeros(s, np.complex64), st.tuples(st.integers(1, 5))),
    st.builds(lambda: np.array(["x"])),
)


@FAST
@given(st.dictionaries(st.sampled_from(["W1", "b1", "W2", "b2", "W3", "b3", "x", "card"]), array_strategy, max_size=7))
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
        z.writestr("W1.npy", bytes(300 * 2**20))
    buf.seek(0)
    with pytest.raises(ModelFormatError, match="refused"):
        read_npz(buf, "bomb.npz")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_weights_are_refused(bad):
    rng = np.random.default_rng(0)
    arrays = {"W1": rng.normal(size=(784, 10)).astype(np.float32), "b1": np.zeros(10, np.float32)}
    arrays["W1"][3, 4] = bad
    with pytest.raises(ModelFormatError, match="NaN or infinite"):
        model_from_arrays(arrays, None, "m.npz")


def test_every_engine_error_is_an_engine_error():
    assert issubclass(MnistFormatError, EngineError) and issubclass(ModelFormatError, EngineError)
