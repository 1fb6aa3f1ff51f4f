"""Hostile uploads, fuzzed: uploaded MNIST files are validated and told apart by their headers before anything is
stored, installed only as a whole set and never over a dataset, and an uploaded file's name never becomes a path
(ui/mnist_upload.py for the four MNIST files, ui/models.py for model files)."""
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


def four(gz=False, n_train=12, n_test=7):
    """Four valid uploads (name, bytes) of n_train and n_test synthetic digits, named uselessly."""
    out = []
    for i, n in enumerate((n_train, n_test)):
        x, t = synthetic_digits(n, seed=10 + i)
        for kind, arr in (("images", x), ("labels", t)):
            data = idx_bytes(arr, kind=kind)
            out.append((f"upload-{i}-{kind}", gzip.compress(data) if gz else data))
    return out


def install_in_sandbox(files):
    """Identify files and install them into a cache folder inside a fresh sandbox; (folder or the error, every path)."""
    with tempfile.TemporaryDirectory() as box:
        folder = Path(box) / "cache" / "mnist"
        try:
            parts = [mnist_upload.identify(name, data) for name, data in files]
            result = mnist_upload.install(parts, dataset_present=lambda: False, folder=folder)
        except MnistFormatError as e:
            result = e
        return result, [p for p in files_under(box) if not p.endswith(".install.lock")]


@FAST
@given(names, st.binary(max_size=3000), st.booleans())
def test_random_bytes_are_never_stored(name, data, gz):
    files = four()
    files[0] = (name, gzip.compress(data) if gz else data)  # one random file among three valid ones
    result, left = install_in_sandbox(files)
    if isinstance(result, MnistFormatError):
        assert left in ([], ["cache"]), left  # refused before any MNIST file was written
        assert str(result).count("\n") == name.count("\n")  # one sentence (the name itself is shown as it came)
    else:  # random bytes that happen to be a valid IDX file with 12 images: installed under the standard names
        assert left == ["cache", "cache/mnist"] + [f"cache/mnist/{FILES[k][0]}" for k in sorted(FILES, key=lambda k: FILES[k][0])]


@FAST
@given(st.lists(names, min_size=4, max_size=4), st.booleans(), st.permutations(range(4)))
def test_uploaded_names_are_never_read_nor_paths(hostile, gz, order):
    files = [(hostile[i], data) for i, (_, data) in enumerate(four(gz=gz))]
    result, left = install_in_sandbox([files[i] for i in order])  # any order, any names: headers tell them apart
    assert not isinstance(result, MnistFormatError), result
    suffix = ".gz" if gz else ""
    assert left == ["cache", "cache/mnist"] + sorted(f"cache/mnist/{stem}{suffix}" for stem, *_ in FILES.values())


def test_files_are_told_apart_by_header_not_name():
    # a training file named like a test file ("latest" contains "test") is filed by its count, the larger set
    files = four(n_train=30, n_test=5)
    named = [("latest-train-images-idx3-ubyte.gz", files[0][1]), ("t10k-labels-idx1-ubyte", files[1][1]),
             ("train-images-idx3-ubyte", files[2][1]), ("train-labels-idx1-ubyte.gz", files[3][1])]
    found = mnist_upload.sort_out([mnist_upload.identify(n, d) for n, d in named])
    assert {k: (p.name, p.count) for k, p in found.items()} == {
        "train_img": ("latest-train-images-idx3-ubyte.gz", 30), "train_label": ("t10k-labels-idx1-ubyte", 30),
        "test_img": ("train-images-idx3-ubyte", 5), "test_label": ("train-labels-idx1-ubyte.gz", 5)}


def test_mismatched_counts_and_ties_are_one_clear_error():
    a, b, c = four(n_train=9, n_test=9), four(n_train=9, n_test=4), four(n_train=5, n_test=4)
    with pytest.raises(MnistFormatError, match="both hold 9 images"):
        mnist_upload.sort_out([mnist_upload.identify(n, d) for n, d in a])
    with pytest.raises(MnistFormatError, match="holds 9 images but upload-0-labels holds 5 labels"):
        mnist_upload.sort_out([mnist_upload.identify(n, d) for n, d in (b[0], b[2], c[1], c[3])])


def test_an_installed_dataset_is_never_replaced(tmp_path):
    folder = tmp_path / "mnist"
    parts = [mnist_upload.identify(n, d) for n, d in four()]
    mnist_upload.install(parts, dataset_present=lambda: False, folder=folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    other = [mnist_upload.identify(n, d) for n, d in four(n_train=20, n_test=3)]
    with pytest.raises(mnist_upload.AlreadyInstalled):
        mnist_upload.install(other, dataset_present=lambda: False, folder=folder)  # the folder holds a set already
    with pytest.raises(mnist_upload.AlreadyInstalled):
        mnist_upload.install(other, dataset_present=lambda: True, folder=tmp_path / "elsewhere")  # one is loaded
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_three_files_install_nothing(tmp_path):
    parts = [mnist_upload.identify(n, d) for n, d in four()[:3]]
    with pytest.raises(MnistFormatError, match="still missing: train-labels-idx1-ubyte, t10k-labels-idx1-ubyte"):
        mnist_upload.install(parts, dataset_present=lambda: False, folder=tmp_path / "m")
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_writes_nothing_outside_the_cache(tmp_path, name):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = str(outside / "x.gz") if name == "/tmp/x" else name  # an absolute name pointing at a folder we watch
    folder = tmp_path / "cache" / "mnist"
    files = [(target + str(i), data) for i, (_, data) in enumerate(four(gz=True))]
    mnist_upload.install([mnist_upload.identify(n, d) for n, d in files], dataset_present=lambda: False, folder=folder)
    assert files_under(outside) == []
    assert files_under(folder) == sorted(f"{stem}.gz" for stem, *_ in FILES.values())


def header(magic, *dims):
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)


@FAST
@given(st.sampled_from([0x803, 0x801]), st.integers(0, 2**32 - 1), st.integers(0, 64), st.integers(0, 64), st.binary(max_size=2000))
def test_a_header_that_lies_about_its_size_is_refused(magic, n, h, w, body):
    data = header(magic, n, h, w) + body if magic == 0x803 else header(magic, n) + body
    try:
        part = mnist_upload.identify("train-images-idx3-ubyte.gz", data)
    except MnistFormatError:
        return
    # a consistent file after all: n images of 28x28 or n labels 0-9, exactly, and the Part says so
    assert (magic == 0x803 and (h, w) == (28, 28) and len(body) == n * 784) or (magic == 0x801 and len(data) == 8 + n)
    assert part.count == n and part.kind == ("images" if magic == 0x803 else "labels")


def test_labels_out_of_range_are_refused():
    bad = idx_bytes(np.array([1, 2, 10], np.uint8), kind="labels")
    with pytest.raises(MnistFormatError, match="label 10"):
        mnist_upload.identify("train-labels-idx1-ubyte", bad)


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
