"""Hostile uploads, fuzzed: an uploaded MNIST file is validated before anything is stored, and an uploaded file's name
never becomes a path (ui/mnist_upload.py for the four MNIST files, ui/models.py for model files)."""
import gzip
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import FILES
from engine.errors import MnistFormatError, ModelFormatError
from engine.modelfile import model_bytes
from tests.apptest_helpers import random_model
from tests.synth import idx_bytes, synthetic_digits
from ui import mnist_upload
from ui.models import clean_name, load_upload

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE_NAMES = ["../../etc/passwd", "/tmp/x", "..", ".", "", "~/.bashrc", "C:\\Windows\\evil.gz", "a/../../b.gz",
                 "train-images-idx3-ubyte.gz/../../../x", "train\x00images.gz", "ｔｒａｉｎ.gz", "train-" + "a" * 5000,
                 "\\\\server\\share\\train.gz", "train-images-idx3-ubyte.gz\n.sh", "%2e%2e%2ftrain.gz"]
X, T = synthetic_digits(12, seed=4)
VALID = {"images": idx_bytes(X, kind="images"), "labels": idx_bytes(T, kind="labels")}
names = st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=80),
                  st.builds(lambda a, b: a + b, st.sampled_from(["../", "/", "..\\", "train/../", "t10k-"]), st.text(max_size=30)))


def files_under(root):
    """Every file and folder under root, hidden ones included, relative."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


def store_in_sandbox(name, data):
    """Call store() with the cache folder inside a fresh sandbox; (key or the error, every path then in the sandbox)."""
    with tempfile.TemporaryDirectory() as box:
        folder = Path(box) / "cache" / "mnist"
        try:
            result = mnist_upload.store(name, data, folder=folder)
        except MnistFormatError as e:
            result = e
        return result, files_under(box)


@FAST
@given(names, st.binary(max_size=3000), st.booleans())
def test_random_bytes_are_never_stored(name, data, gz):
    result, left = store_in_sandbox(name, gzip.compress(data) if gz else data)
    if not isinstance(result, MnistFormatError):  # random bytes that happen to be a valid IDX file: stored properly
        assert left == ["cache", "cache/mnist", f"cache/mnist/{FILES[result][0]}{'.gz' if gz else ''}"]
    else:
        assert left == [], left  # refused before anything, even the cache folder, was created
        assert str(result).count("\n") == name.count("\n")  # one sentence (the name itself is shown as it came)


@FAST
@given(names, st.sampled_from(["images", "labels"]), st.booleans())
def test_an_uploaded_name_never_becomes_a_path(name, kind, gz):
    data = gzip.compress(VALID[kind]) if gz else VALID[kind]
    result, left = store_in_sandbox(name, data)
    if isinstance(result, MnistFormatError):  # 12 images: the split must come from the name, and this one says none
        assert "Cannot tell whether" in str(result) and left == []
        return
    standard = FILES[result][0] + (".gz" if gz else "")
    assert result.endswith("_img" if kind == "images" else "_label")
    assert left == ["cache", "cache/mnist", f"cache/mnist/{standard}"]  # only the standard name, inside the cache


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_writes_nothing_outside_the_cache(tmp_path, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = str(outside / "x.gz") if name == "/tmp/x" else name  # an absolute name pointing at a folder we watch
    folder = tmp_path / "cache" / "mnist"
    try:
        key = mnist_upload.store(target + ("train" if "train" not in target else ""), gzip.compress(VALID["images"]), folder=folder)
    except MnistFormatError:
        key = None
    assert files_under(outside) == []
    assert files_under(folder) == ([FILES[key][0] + ".gz"] if key else [])


def header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


@FAST
@given(st.sampled_from([0x803, 0x801]), st.integers(0, 2**32 - 1), st.integers(0, 64), st.integers(0, 64), st.binary(max_size=2000))
def test_a_header_that_lies_about_its_size_is_never_stored(magic, n, h, w, body):
    data = header(magic, n, h, w) + body if magic == 0x803 else header(magic, n) + body
    result, left = store_in_sandbox("train-images-idx3-ubyte.gz", data)
    if isinstance(result, MnistFormatError):
        assert left == []
    else:  # a consistent file after all (n images of 28x28 or n labels 0-9, exactly): stored under its standard name
        assert (magic == 0x803 and (h, w) == (28, 28) and len(body) == n * 784) or (magic == 0x801 and len(data) == 8 + n)


def test_labels_out_of_range_are_never_stored(tmp_path):
    bad = idx_bytes(np.array([1, 2, 10], np.uint8), kind="labels")
    with pytest.raises(MnistFormatError, match="label 10"):
        mnist_upload.store("train-labels-idx1-ubyte", bad, folder=tmp_path / "m")
    assert not (tmp_path / "m").exists()


# --- model uploads ---------------------------------------------------------------------------------------------

MODEL = model_bytes(random_model([784, 6, 10], seed=2, title="Fuzzed"))
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@FAST
@given(names)
def test_a_model_upload_name_only_picks_the_format_and_a_clean_title(name):
    with tempfile.TemporaryDirectory() as box:
        for suffix in (".npz", ".pkl", ".txt", ""):
            try:
                m = load_upload(name + suffix, MODEL)
            except ModelFormatError as e:  # only a name ending in .npz loads .npz bytes (".npz" alone is a hidden file)
                assert Path(name + suffix).suffix.lower() != ".npz", e
                continue
            assert suffix == ".npz"
            assert m.card["title"] == "Fuzzed" and m.card["name"] == clean_name(name + suffix)
            assert set(m.card["name"]) <= SAFE and "/" not in m.card["name"] and not m.card["name"].startswith(".")
        assert files_under(box) == []


@FAST
@given(st.binary(max_size=3000), st.sampled_from([".npz", ".pkl"]))
def test_random_model_uploads_give_one_clear_error(data, suffix):
    with pytest.raises(ModelFormatError) as e:
        load_upload("upload" + suffix, data)
    assert "\n" not in str(e.value)
