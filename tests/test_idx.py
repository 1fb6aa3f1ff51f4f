"""IDX parsing: valid files parse to the exact arrays; every kind of broken file is a MnistFormatError naming the file."""
import gzip
import tracemalloc

import numpy as np
import pytest

from engine import idx
from engine.errors import MnistFormatError
from engine.idx import decompress, parse_idx, read_idx
from tests.synth import idx_bytes, synthetic_digits

X, T = synthetic_digits(12, seed=3)  # (12, 28, 28) uint8, (12,) labels 0-9
IMG, LAB = idx_bytes(X, kind="images"), idx_bytes(T, kind="labels")


def header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


def test_header_layout_is_the_idx_standard():
    # magic 0x00000803 (unsigned byte, 3 dims), then n, 28, 28 as big-endian int32: 16 bytes before the pixels
    assert IMG[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 12, 0, 0, 0, 28, 0, 0, 0, 28])
    assert LAB[:8] == bytes([0, 0, 8, 1, 0, 0, 0, 12])


def test_parse_returns_the_exact_arrays():
    x = parse_idx(IMG, "img", kind="images")
    t = parse_idx(LAB, "lab", kind="labels")
    assert x.dtype == np.uint8 and x.shape == (12, 28, 28)
    assert t.dtype == np.uint8 and t.shape == (12,)
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(t, T)


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_from_disk_gz_or_raw(tmp_path, gz):
    path = tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    path.write_bytes(gzip.compress(IMG) if gz else IMG)
    np.testing.assert_array_equal(read_idx(path, kind="images"), X)


def test_decompress_leaves_raw_bytes_alone_and_gunzips_gz():
    assert decompress(IMG, "f") == IMG
    assert decompress(gzip.compress(IMG), "f.gz") == IMG


BROKEN = {
    # name: (bytes, kind, words the message must contain)
    "labels file read as images": (LAB, "images", ["magic number 0x00000801", "expected 0x00000803"]),
    "random magic": (header(0x12345678, 12, 28, 28) + IMG[16:], "images", ["magic number 0x12345678"]),
    "32x32 images": (header(0x803, 1, 32, 32) + bytes(32 * 32), "images", ["32x32", "28x28"]),
    "30x32 images": (header(0x803, 1, 30, 32) + bytes(30 * 32), "images", ["holds 30x32 images"]),  # rows first
    # 28 + 65,536 columns: the low two bytes alone read 28, so a header read off by a byte would take it for MNIST
    "28x65564 images": (header(0x803, 1, 28, 28 + 2**16) + bytes(784), "images", ["holds 28x65564 images"]),
    "one byte short": (IMG[:-1], "images", ["truncated", "expected 9,424 bytes", "found 9,423"]),
    "cut in the header": (IMG[:10], "images", ["truncated", "16-byte IDX header"]),
    "one byte too many": (IMG + b"\0", "images", ["too long", "expected 9,424 bytes", "found 9,425"]),
    "labels short": (LAB[:-3], "labels", ["truncated", "expected 20 bytes", "found 17"]),
    "label 10": (header(0x801, 3) + bytes([1, 10, 2]), "labels", ["label 10", "0-9"]),
    "label 255": (header(0x801, 2) + bytes([255, 0]), "labels", ["label 255"]),
    "zero images": (header(0x803, 0, 28, 28), "images", ["0 images", "empty"]),
    "huge count, tiny file": (header(0x803, 2**31, 28, 28) + bytes(784), "images", ["truncated"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_idx_is_a_format_error_naming_the_file(case):
    data, kind, words = BROKEN[case]
    with pytest.raises(MnistFormatError) as e:
        parse_idx(data, "t10k-images-idx3-ubyte.gz", kind=kind)
    msg = str(e.value)
    assert msg.startswith("t10k-images-idx3-ubyte.gz ")
    for w in words:
        assert w in msg


def flip(data, at):
    b = bytearray(data)
    b[at] ^= 0xFF
    return bytes(b)


GZ = gzip.compress(IMG, mtime=0)  # a fixed header time: the same bytes, so the same test ids, in every process


@pytest.mark.parametrize("case, data, words", [
    ("corrupt deflate stream", flip(GZ, 20), ["corrupt gzip"]),
    ("corrupt CRC trailer", flip(GZ, len(GZ) - 6), ["corrupt gzip"]),
    ("truncated gzip", GZ[: len(GZ) // 2], ["truncated gzip"]),
    ("gzip header only", GZ[:10], ["truncated gzip"]),
])
def test_broken_gzip_is_a_format_error_naming_the_file(tmp_path, case, data, words):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(MnistFormatError) as e:
        read_idx(path, kind="images")
    assert str(e.value).startswith("train-images-idx3-ubyte.gz ")
    for w in words:
        assert w in str(e.value)


def test_unreadable_path_is_a_format_error_naming_the_file(tmp_path):
    with pytest.raises(MnistFormatError, match="train-labels-idx1-ubyte.gz cannot be read"):
        read_idx(tmp_path / "train-labels-idx1-ubyte.gz", kind="labels")
    (tmp_path / "dir.gz").mkdir()
    with pytest.raises(MnistFormatError, match="dir.gz cannot be read"):
        read_idx(tmp_path / "dir.gz", kind="labels")


def test_a_labels_file_holding_every_digit_0_to_9_parses():
    data = header(0x801, 10) + bytes(range(9, -1, -1))  # 9 first: the largest label MNIST has is allowed
    np.testing.assert_array_equal(parse_idx(data, "lab", kind="labels"), np.arange(9, -1, -1))


@pytest.mark.parametrize("data, what, n", [(IMG[:-1], "truncated", 9_423), (IMG + b"\0", "too long", 9_425)])
def test_a_file_of_the_wrong_size_says_which_way_and_what_to_do(data, what, n):
    expected = 16 + 12 * 28 * 28  # header and 12 images of 784 bytes
    with pytest.raises(MnistFormatError) as e:
        parse_idx(data, "img", kind="images")
    assert str(e.value) == (f"img is {what}: expected {expected:,} bytes for 12 images, found {n:,}. "
                            "Delete it and download it again.")


def test_parse_errors_from_disk_name_the_file(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(LAB[:-1])
    with pytest.raises(MnistFormatError, match=r"^t10k-labels-idx1-ubyte is truncated: expected 20 bytes"):
        read_idx(path, kind="labels")
    with pytest.raises(MnistFormatError, match=r"^my labels is truncated"):
        read_idx(path, kind="labels", name="my labels")


# MAX_BYTES is 64 MB; the limits are checked against a smaller stand-in so the tests need no 64 MB file


def test_a_file_of_exactly_max_bytes_is_read_and_one_byte_more_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(idx, "MAX_BYTES", len(IMG))
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(IMG)
    np.testing.assert_array_equal(read_idx(path, kind="images"), X)
    path.write_bytes(IMG + b"\0")
    with pytest.raises(MnistFormatError) as e:
        read_idx(path, kind="images")
    assert str(e.value) == f"train-images-idx3-ubyte is {len(IMG) + 1:,} bytes, far more than MNIST: it is not an MNIST file."


def test_a_gzip_unpacking_to_exactly_max_bytes_is_read_and_one_byte_more_is_refused(monkeypatch):
    monkeypatch.setattr(idx, "MAX_BYTES", len(IMG))
    assert decompress(GZ, "f.gz") == IMG
    monkeypatch.setattr(idx, "MAX_BYTES", len(IMG) - 1)
    with pytest.raises(MnistFormatError) as e:
        decompress(GZ, "f.gz")
    assert str(e.value) == f"f.gz unpacks to more than {len(IMG) - 1:,} bytes, far more than MNIST: it is not an MNIST file."


def test_a_gzip_bomb_is_refused_without_unpacking_it(monkeypatch):
    bomb = gzip.compress(bytes(4 * 2**20), mtime=0)  # 4 MB of zeros in about 4 KB
    monkeypatch.setattr(idx, "MAX_BYTES", 1000)
    tracemalloc.start()
    try:
        with pytest.raises(MnistFormatError, match="unpacks to more than 1,000 bytes"):
            decompress(bomb, "bomb.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # unpacking stops just past the limit: far less than the 4 MB the whole file holds
