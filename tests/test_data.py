"""load_mnist: both namings, gz or raw; the 8 flag combinations; the parsed-array cache; where the data comes from."""
import gzip
import os
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import engine.data
import engine.download
from engine.data import FILES, find_files, load_mnist, load_raw
from engine.errors import MnistFormatError, MnistNotFoundError
from engine.paths import mnist_cache_dir, parsed_cache_dir
from tests.synth import STEMS, idx_bytes, write_mnist

# the published per-digit counts of MNIST (LeCun et al.), 0..9
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]



def snapshot(folder):
    """{name: (size, mtime_ns, bytes)} of every file under folder: proves a folder was not written."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def rename_dotted(folder, *, gz):
    """Rename the standard names to the other common naming: train-images.idx3-ubyte[.gz]."""
    for stem, _ in FILES.values():
        src = folder / (stem + (".gz" if gz else ""))
        src.rename(folder / (stem.replace("-idx", ".idx") + (".gz" if gz else "")))


# --- both namings, gz or raw -------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("dotted", [False, True])
def test_both_namings_gz_or_raw_load_the_same_arrays(tmp_path, fresh_cache, gz, dotted):
    folder, arrays = write_mnist(tmp_path / "d", n_train=50, n_test=20, gz=gz)
    if dotted:
        rename_dotted(folder, gz=gz)
    found = find_files(folder)
    assert all(p is not None and p.name.endswith(".gz") == gz and ("-images." in p.name or "-labels." in p.name) == dotted
               for p in found.values())
    (x, t), (xt, tt) = load_mnist(normalize=False, data_dir=folder)
    np.testing.assert_array_equal(x, arrays["train"][0].reshape(50, 784))
    np.testing.assert_array_equal(t, arrays["train"][1])
    np.testing.assert_array_equal(xt, arrays["test"][0].reshape(20, 784))
    np.testing.assert_array_equal(tt, arrays["test"][1])


# --- the 8 flag combinations ------------------------------------------------------------------------------

FLAGS = [(n, f, o) for n in (True, False) for f in (True, False) for o in (True, False)]


def check_split(x, t, img, lab, *, normalize, flatten, one_hot_label):
    """x and t are what the book's load_mnist returns for uint8 images img (n, 28, 28) and labels lab (n,)."""
    n = len(lab)
    assert x.shape == ((n, 784) if flatten else (n, 1, 28, 28))
    assert x.dtype == (np.float32 if normalize else np.uint8)
    expect = img.reshape(x.shape)
    if normalize:
        np.testing.assert_array_equal(x, expect.astype(np.float32) / np.float32(255))
        assert x.min() >= 0.0 and x.max() <= 1.0
    else:
        np.testing.assert_array_equal(x, expect)
    if one_hot_label:
        assert t.shape == (n, 10) and t.dtype == np.float32
        np.testing.assert_array_equal(t, np.eye(10, dtype=t.dtype)[lab])
        assert set(np.unique(t)) <= {0, 1} and (t.sum(axis=1) == 1).all()
    else:
        assert t.shape == (n,) and t.dtype.kind in "iu"
        np.testing.assert_array_equal(t, lab)


@pytest.mark.parametrize("normalize, flatten, one_hot_label", FLAGS)
def test_flags_synthetic(synth_mnist, normalize, flatten, one_hot_label):
    folder, arrays = synth_mnist
    train, test = load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label, data_dir=folder)
    for (x, t), split in ((train, "train"), (test, "test")):
        check_split(x, t, *arrays[split], normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)


def decode_gz_idx(path):
    """Independent decoder (gzip + struct, no engine code): (dims, payload bytes)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return dims, data[4 + 4 * ndim:]


@pytest.fixture(scope="module")
def real_reference(mnist_dir):
    """Labels and test images decoded independently from the real gz files."""
    ref = {}
    for split, (_, lab_stem) in STEMS.items():
        dims, payload = decode_gz_idx(mnist_dir / f"{lab_stem}.gz")
        assert dims == (len(payload),)
        ref[f"{split}_label"] = np.frombuffer(payload, np.uint8)
    dims, payload = decode_gz_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    assert dims == (10000, 28, 28)
    ref["test_img"] = np.frombuffer(payload, np.uint8).reshape(dims)
    return ref


@pytest.mark.mnist
def test_real_label_counts_per_digit(mnist_dir, real_reference):
    (_, t), (_, tt) = load_mnist(data_dir=mnist_dir)
    # decoded by hand from the label bytes, and the published counts: three sources agree
    assert [Counter(real_reference["train_label"].tolist())[d] for d in range(10)] == TRAIN_COUNTS
    assert [Counter(real_reference["test_label"].tolist())[d] for d in range(10)] == TEST_COUNTS
    assert np.bincount(t, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(tt, minlength=10).tolist() == TEST_COUNTS
    np.testing.assert_array_equal(t, real_reference["train_label"])
    np.testing.assert_array_equal(tt, real_reference["test_label"])


@pytest.mark.mnist
@pytest.mark.parametrize("normalize, flatten, one_hot_label", FLAGS)
def test_flags_real_mnist(mnist_dir, real_reference, normalize, flatten, one_hot_label):
    (x, t), (xt, tt) = load_mnist(normalize=normalize, flatten=flatten, one_hot_label=one_hot_label, data_dir=mnist_dir)
    assert len(x) == len(t) == 60000 and len(xt) == len(tt) == 10000
    check_split(xt, tt, real_reference["test_img"], real_reference["test_label"],
                normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)
    assert x.shape[1:] == xt.shape[1:] and x.dtype == xt.dtype and t.shape[1:] == tt.shape[1:]
    if not one_hot_label:
        np.testing.assert_array_equal(t, real_reference["train_label"])


# --- files that do not belong together --------------------------------------------------------------------

def test_mismatched_image_and_label_counts_name_both_files(tmp_path, fresh_cache):
    folder, _ = write_mnist(tmp_path / "d", n_train=30, n_test=10)
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9, np.uint8), kind="labels")))
    with pytest.raises(MnistFormatError) as e:
        load_mnist(data_dir=folder)
    msg = str(e.value)
    assert "t10k-images-idx3-ubyte.gz holds 10 images" in msg and "t10k-labels-idx1-ubyte.gz holds 9 labels" in msg
    assert msg.endswith(" labels: one of the two is the wrong file. Replace them with a matching pair.")


def test_a_broken_file_in_the_folder_names_itself_through_load_mnist(tmp_path, fresh_cache):
    folder, _ = write_mnist(tmp_path / "d", n_train=30, n_test=10, gz=False)
    path = folder / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(MnistFormatError, match="^train-labels-idx1-ubyte is truncated: expected 38 bytes"):
        load_mnist(data_dir=folder)


# --- the parsed-array cache ---------------------------------------------------------------------------------

def cache_files(suffix):
    return sorted(parsed_cache_dir().glob(f"*{suffix}"))


@pytest.fixture
def cached_folder(tmp_path, fresh_cache):
    """A synthetic folder loaded once, so the cache holds its four arrays; (folder, arrays)."""
    folder, arrays = write_mnist(tmp_path / "d", n_train=40, n_test=15)
    load_raw(folder)
    return folder, arrays


def forbid_parsing(monkeypatch):
    def refuse(path, **kw):
        raise AssertionError(f"{path} was parsed again instead of read from the cache")
    monkeypatch.setattr(engine.data, "read_idx", refuse)


def count_parsing(monkeypatch):
    calls = []
    real = engine.data.read_idx

    def counting(path, **kw):
        calls.append(path.name)
        return real(path, **kw)
    monkeypatch.setattr(engine.data, "read_idx", counting)
    return calls


def test_second_load_comes_from_the_private_cache_and_the_data_folder_is_untouched(tmp_path, fresh_cache, monkeypatch):
    folder, arrays = write_mnist(tmp_path / "d", n_train=40, n_test=15)
    before = snapshot(folder)
    calls = count_parsing(monkeypatch)
    load_raw(folder)
    assert sorted(calls) == sorted(p.name for p in find_files(folder).values())
    npys = cache_files(".npy")
    assert len(npys) == 4 and all(p.is_relative_to(fresh_cache) for p in npys)
    assert {p.name.split(".gz.")[0] for p in npys} == {stem for stem, _ in FILES.values()}
    assert snapshot(folder) == before  # nothing written beside the data, not even a temp file
    forbid_parsing(monkeypatch)
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])
    np.testing.assert_array_equal(raw["test_label"], arrays["test"][1])
    assert snapshot(folder) == before
    assert not list(parsed_cache_dir().glob("*.tmp"))


def test_cache_is_rebuilt_when_the_source_changes(cached_folder, monkeypatch):
    folder, arrays = cached_folder
    calls = count_parsing(monkeypatch)
    path = folder / "t10k-labels-idx1-ubyte.gz"
    new_labels = (arrays["test"][1] + 1) % 10
    path.write_bytes(gzip.compress(idx_bytes(new_labels, kind="labels")))
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["test_label"], new_labels)
    assert calls == ["t10k-labels-idx1-ubyte.gz"]
    # a touch alone (same bytes, new mtime) also counts as a change
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_raw(folder)
    assert calls == ["t10k-labels-idx1-ubyte.gz"] * 2


def truncate(p):
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def flip_last_byte(p):
    b = bytearray(p.read_bytes())
    b[-1] ^= 0x01  # one pixel of the last image changes by one grey level
    p.write_bytes(bytes(b))


CORRUPTIONS = {
    "truncated npy": (".npy", truncate),
    "empty npy": (".npy", lambda p: p.write_bytes(b"")),
    "flipped byte in npy": (".npy", flip_last_byte),
    "npy of the wrong dtype": (".npy", lambda p: np.save(p, np.zeros((15, 28, 28), np.int16))),
    "garbage json": (".json", lambda p: p.write_text("{not json")),
    "json list": (".json", lambda p: p.write_text("[1, 2]")),
    "json without checksum": (".json", lambda p: p.write_text(p.read_text().replace('"checksum"', '"x"'))),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_a_corrupt_cache_is_detected_and_rebuilt(cached_folder, monkeypatch, case):
    folder, arrays = cached_folder
    suffix, corrupt = CORRUPTIONS[case]
    [target] = [p for p in cache_files(suffix) if p.name.startswith("t10k-images")]
    corrupt(target)
    calls = count_parsing(monkeypatch)
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["test_img"], arrays["test"][0])  # the data stays right
    assert calls == ["t10k-images-idx3-ubyte.gz"]  # only the broken entry was parsed again
    forbid_parsing(monkeypatch)  # and it was rebuilt: the next load trusts it again
    np.testing.assert_array_equal(load_raw(folder)["test_img"], arrays["test"][0])


def reference_checksum(data):
    """The cache checksum by hand: the 64-bit little-endian words summed modulo 2**64, XOR the leftover bytes' sum doubled."""
    n8 = len(data) // 8 * 8
    words = sum(int.from_bytes(data[i:i + 8], "little") for i in range(0, n8, 8)) % 2**64
    return words ^ (sum(data[n8:]) << 1)


def test_the_cache_checksum_is_the_wrapping_word_sum_and_changes_with_any_byte():
    rng = np.random.default_rng(3)
    arr = rng.integers(200, 256, (9, 11), dtype=np.uint8)  # 99 bytes: 12 words that overflow 2**64 when summed, 3 left over
    assert engine.data.checksum(arr) == reference_checksum(arr.tobytes())
    strided = arr[:, ::2]  # not contiguous: its bytes in C order are what is checked
    assert engine.data.checksum(strided) == reference_checksum(strided.tobytes())
    for i in (0, 50, 97, 98):  # a flip in a word and in the leftover bytes
        flipped = arr.copy().reshape(-1)
        flipped[i] ^= 1
        assert engine.data.checksum(flipped) != engine.data.checksum(arr)


def test_two_folders_with_the_same_file_names_keep_separate_cache_entries(tmp_path, fresh_cache, monkeypatch):
    a, arrays_a = write_mnist(tmp_path / "a", n_train=30, n_test=10, seed=1)
    b, arrays_b = write_mnist(tmp_path / "b", n_train=30, n_test=10, seed=2)
    load_raw(a)
    load_raw(b)
    assert len(cache_files(".npy")) == 8
    forbid_parsing(monkeypatch)  # switching back and forth reads both from the cache
    np.testing.assert_array_equal(load_raw(a)["train_img"], arrays_a["train"][0])
    np.testing.assert_array_equal(load_raw(b)["train_img"], arrays_b["train"][0])
    np.testing.assert_array_equal(load_raw(a)["test_label"], arrays_a["test"][1])


def test_a_file_that_vanishes_while_loading_is_named(tmp_path, fresh_cache, monkeypatch):
    folder, _ = write_mnist(tmp_path / "d", n_train=20, n_test=5)
    real = engine.data.locate

    def racing(data_dir):
        found = real(data_dir)
        found[1]["test_label"].unlink()  # deleted by someone else between finding and reading
        return found
    monkeypatch.setattr(engine.data, "locate", racing)
    with pytest.raises(MnistFormatError, match=r"^t10k-labels-idx1-ubyte\.gz cannot be read \(No such file"):
        load_raw(folder)


def test_cache_writes_go_through_temp_files_named_after_this_process(tmp_path, fresh_cache, monkeypatch):
    import re
    folder, arrays = write_mnist(tmp_path / "d", n_train=20, n_test=5)
    moved = []
    real = os.replace

    def spy(src, dst):
        moved.append((Path(src), Path(dst)))
        return real(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    load_raw(folder)
    assert len(moved) == 8
    for src, dst in moved:  # {pid}.parsed.{random}.npy|json in the cache's tmp/: the sweep and a reader can tell whose it is
        assert src.parent == fresh_cache / "tmp" and dst.parent == parsed_cache_dir()
        assert re.fullmatch(rf"{os.getpid()}\.parsed\.[0-9a-f]{{12}}\{dst.suffix}", src.name), src.name
    assert sorted(dst.suffix for _, dst in moved) == [".json"] * 4 + [".npy"] * 4
    assert list((fresh_cache / "tmp").iterdir()) == []


def test_an_unwritable_cache_is_skipped_not_fatal(tmp_path, monkeypatch):
    folder, arrays = write_mnist(tmp_path / "d", n_train=20, n_test=5)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(blocker))
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])


# --- where the data comes from: data_dir > MNIST_DIR > cache > download ---------------------------------------

@pytest.fixture
def sources(tmp_path, fresh_cache, monkeypatch):
    """Three folders of different synthetic data, and a fake downloader writing a fourth; returns what each holds."""
    made = {name: write_mnist(tmp_path / name, n_train=20 + i, n_test=5, seed=10 * i)
            for i, name in enumerate(["data_dir", "MNIST_DIR", "cache"])}
    downloads = []

    def fake_download(dest, **kw):
        downloads.append(dest)
        write_mnist(dest, n_train=42, n_test=5, seed=99)
        return dest
    monkeypatch.setattr(engine.download, "download_mnist", fake_download)
    return made, downloads


def n_train(**kw):
    return len(load_mnist(**kw)[0][1])


def test_data_dir_wins_over_mnist_dir(sources, monkeypatch):
    made, downloads = sources
    monkeypatch.setenv("MNIST_DIR", str(made["MNIST_DIR"][0]))
    assert n_train(data_dir=made["data_dir"][0]) == 20
    assert downloads == []


def test_mnist_dir_wins_over_the_cache(sources, monkeypatch):
    made, downloads = sources
    write_mnist(mnist_cache_dir(), n_train=22, n_test=5)
    monkeypatch.setenv("MNIST_DIR", str(made["MNIST_DIR"][0]))
    assert n_train() == 21
    assert downloads == []


def test_the_cache_wins_over_a_download(sources):
    made, downloads = sources
    write_mnist(mnist_cache_dir(), n_train=22, n_test=5)
    assert n_train() == 22
    assert downloads == []


def test_download_is_the_last_resort_and_lands_in_the_cache(sources):
    made, downloads = sources
    assert n_train() == 42
    assert downloads == [mnist_cache_dir()]
    assert n_train() == 42 and len(downloads) == 1  # the next load finds the cache


def test_load_raw_does_not_download_unless_asked(sources):
    _, downloads = sources
    with pytest.raises(MnistNotFoundError):
        load_raw()
    assert downloads == []
    assert len(load_raw(download=True)["train_label"]) == 42 and downloads == [mnist_cache_dir()]


def test_load_mnist_hands_its_progress_callback_to_the_download(sources, monkeypatch):
    seen = []

    def fake_download(dest, **kw):
        seen.append(kw.get("progress"))
        write_mnist(dest, n_train=42, n_test=5, seed=99)
        return dest
    monkeypatch.setattr(engine.download, "download_mnist", fake_download)

    def progress(stem, done, total):
        pass
    assert n_train(progress=progress) == 42
    assert seen == [progress]


def test_no_source_and_no_download_names_the_files_and_the_ways(sources):
    _, downloads = sources
    with pytest.raises(MnistNotFoundError) as e:
        load_mnist(download=False)
    msg = str(e.value)
    for stem, _ in FILES.values():
        assert f"{stem}.gz" in msg
    assert "MNIST_DIR" in msg and "python -m engine download" in msg
    assert downloads == []


@pytest.mark.parametrize("how", ["data_dir", "MNIST_DIR"])
def test_an_incomplete_named_folder_is_an_error_not_a_fallback(sources, tmp_path, monkeypatch, how):
    made, downloads = sources
    folder = made[how][0]
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    write_mnist(mnist_cache_dir(), n_train=22, n_test=5)  # a complete cache must not be used silently instead
    kw = {"data_dir": folder} if how == "data_dir" else {}
    if how == "MNIST_DIR":
        monkeypatch.setenv("MNIST_DIR", str(folder))
    with pytest.raises(MnistNotFoundError) as e:
        load_mnist(**kw)
    assert str(folder) in str(e.value) and "missing t10k-labels-idx1-ubyte.gz" in str(e.value) and how in str(e.value)
    assert downloads == []


# --- a wrong MNIST_DIR is named, never worked around (issue 13, row 11) ---------------------------------------

def wrong_mnist_dirs(tmp_path):
    """{case: (folder, what the message says about it)} for MNIST_DIR values that cannot work."""
    not_a_folder = tmp_path / "mnist.tar"
    not_a_folder.write_bytes(b"an archive, not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    partial, _ = write_mnist(tmp_path / "partial", n_train=20, n_test=5)
    (partial / "train-labels-idx1-ubyte.gz").unlink()
    return {
        "missing": (tmp_path / "nowhere", "which does not exist"),
        "a file": (not_a_folder, "which is a file, not a folder"),
        "empty": (empty, "which is missing " + ", ".join(f"{stem}.gz" for stem, _ in FILES.values())),
        "incomplete": (partial, "which is missing train-labels-idx1-ubyte.gz"),
    }


@pytest.mark.parametrize("case", ["missing", "a file", "empty", "incomplete"])
def test_a_wrong_mnist_dir_is_one_sentence_naming_it_and_the_fix(tmp_path, fresh_cache, monkeypatch, case):
    folder, what = wrong_mnist_dirs(tmp_path)[case]
    write_mnist(mnist_cache_dir(), n_train=22, n_test=5)  # a complete cache is never used instead
    monkeypatch.setenv("MNIST_DIR", str(folder))
    with pytest.raises(MnistNotFoundError) as e:
        load_mnist()  # download=True: nothing may be fetched into a cache that MNIST_DIR hides
    msg = str(e.value)
    assert msg.startswith(f"MNIST_DIR points to {folder}, {what}: ")
    assert msg.endswith(f"fix MNIST_DIR or unset it to use the cache ({mnist_cache_dir()}).")
    assert engine.data.source_problem() == msg  # what the dashboard shows instead of offering a download or upload
    assert engine.data.cache_refusal() is not None


def test_source_problem_and_cache_refusal_are_none_when_mnist_dir_works_or_is_unset(tmp_path, fresh_cache, monkeypatch):
    assert engine.data.source_problem() is None and engine.data.cache_refusal() is None  # unset: the cache is read
    folder, _ = write_mnist(tmp_path / "d", n_train=20, n_test=5)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    assert engine.data.source_problem() is None
    assert engine.data.cache_refusal() == (
        f"MNIST_DIR is set to {folder}, so MNIST is read from there and never from the cache ({mnist_cache_dir()}): "
        "put the files in MNIST_DIR, or unset it and download or upload again.")
    monkeypatch.setenv("MNIST_DIR", str(mnist_cache_dir()))  # MNIST_DIR naming the cache itself: writes there are read
    assert engine.data.cache_refusal() is None


def test_writable_cache_refuses_while_mnist_dir_hides_the_cache(tmp_path, fresh_cache, monkeypatch):
    assert engine.data.writable_cache() == mnist_cache_dir()
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(MnistNotFoundError, match=r"^MNIST_DIR is set to .*nowhere, so MNIST is read from there"):
        engine.data.writable_cache()
    assert not fresh_cache.exists()  # nothing created


def test_data_and_download_share_one_file_table_without_importing_each_other():
    import engine.mnistfiles
    assert engine.data.FILES is engine.mnistfiles.FILES is engine.download.FILES
    assert engine.data.find_files is engine.mnistfiles.find_files


def test_normalising_makes_one_float_copy_and_no_temporary():
    import tracemalloc

    from engine.data import shape_images
    img = np.random.default_rng(0).integers(0, 256, (20_000, 28, 28), dtype=np.uint8)
    tracemalloc.start()
    x = shape_images(img, normalize=True, flatten=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert x.dtype == np.float32 and x.shape == (20_000, 784)
    assert np.array_equal(x, img.reshape(-1, 784).astype(np.float32) / np.float32(255))  # the same numbers as before
    assert peak < 1.2 * x.nbytes, (peak, x.nbytes)  # astype() / 255 held two float32 copies at once
