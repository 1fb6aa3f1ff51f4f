"""engine.modelstore: shared models by content address. Same model -> same address; a round trip keeps every weight;
the budget evicts the least recently used; tampered, oversized or unknown entries are refused; concurrent writers of one
model leave one whole file."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from engine import modelstore, paths
from engine.errors import EngineError, ModelFormatError
from engine.model import MLP
from engine.modelfile import load_model
from engine.preprocess import Preprocess
from tests.conftest import ROOT


def net(seed, sizes=(784, 20, 10), act="sigmoid", pre="unit"):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = rng.normal(0, 0.1, (m, n)).astype(np.float32)
        params[f"b{i}"] = rng.normal(0, 0.1, n).astype(np.float32)
    return MLP(params, activation=act, preprocess=None if pre is None else Preprocess(pre), card={"title": f"net {seed}"})


def pixels():
    return np.random.default_rng(9).integers(0, 256, (7, 784)).astype(np.uint8)


def test_the_store_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_EXPLORER_STORE", raising=False)
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "c"))
    assert paths.store_dir() == tmp_path / "c" / "store"
    monkeypatch.setenv("MNIST_EXPLORER_STORE", str(tmp_path / "shared"))
    assert paths.store_dir() == tmp_path / "shared"


@pytest.mark.parametrize(("act", "pre"), [("sigmoid", "unit"), ("relu", None), ("relu", "raw")])
def test_a_model_round_trips_under_its_content_address(tmp_path, act, pre):
    m = net(1, act=act, pre=pre)
    addr = modelstore.put(m, folder=tmp_path)
    assert modelstore.is_address(addr)
    data = (tmp_path / f"{addr}.npz").read_bytes()
    import hashlib
    assert addr == hashlib.sha256(data).hexdigest()[:16]
    back = modelstore.load(addr, folder=tmp_path)
    for k, v in m.params.items():
        np.testing.assert_array_equal(back.params[k], v)
    np.testing.assert_array_equal(back.predict_proba(pixels()), m.predict_proba(pixels()))
    assert back.activation == act and back.card["title"] == "net 1"
    assert (tmp_path / f"{addr}.json").is_file()  # the card, readable beside it
    # the same model again (or the loaded copy) is the same address: nothing new is written
    assert modelstore.put(back, folder=tmp_path) == addr == modelstore.address(modelstore.canonical_bytes(m))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{addr}.json", f"{addr}.npz"]
    assert load_model(tmp_path / f"{addr}.npz").card["title"] == "net 1"  # a plain model file too


def test_a_different_model_gets_a_different_address(tmp_path):
    assert modelstore.put(net(1), folder=tmp_path) != modelstore.put(net(2), folder=tmp_path)


def test_the_budget_evicts_the_least_recently_used(tmp_path):
    size = len(modelstore.canonical_bytes(net(0)))
    budget = int(size * 3.5)  # three models and their cards fit, four do not
    a = [modelstore.put(net(i), folder=tmp_path, budget=budget) for i in range(3)]
    for i, addr in enumerate(a):  # make the clock unambiguous: a[0] oldest
        os.utime(tmp_path / f"{addr}.npz", (1000 + i, 1000 + i))
    assert modelstore.contains(a[0], folder=tmp_path)  # opening a link to a[0] makes it the most recent
    d = modelstore.put(net(3), folder=tmp_path, budget=budget)
    assert [addr for _, _, addr in modelstore.entries(tmp_path)][-1] == d
    assert not (tmp_path / f"{a[1]}.npz").exists() and not (tmp_path / f"{a[1]}.json").exists()  # the LRU went
    assert {a[0], a[2], d} == {addr for _, _, addr in modelstore.entries(tmp_path)}
    assert sum(s for _, s, _ in modelstore.entries(tmp_path)) <= budget
    with pytest.raises(modelstore.NotInStore, match="removed to keep within the size budget"):
        modelstore.load(a[1], folder=tmp_path)


def test_a_model_over_the_whole_budget_is_refused(tmp_path):
    with pytest.raises(EngineError, match="more than the shared store's budget"):
        modelstore.put(net(0), folder=tmp_path, budget=1000)
    assert list(tmp_path.iterdir()) == []


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_STORE_MB", "5")
    assert modelstore.budget_bytes() == 5 * 2**20
    for bad in ("-1", "lots", "0", "nan"):
        monkeypatch.setenv("MNIST_EXPLORER_STORE_MB", bad)
        assert modelstore.budget_bytes() in (200 * 2**20,)  # a bad value reads as the stated default


@pytest.mark.parametrize("addr", ["", "abc", "../../etc/passwd", "0" * 15, "0" * 17, "ABCDEF0123456789", None, "0" * 10**6])
def test_only_an_address_becomes_a_path(tmp_path, addr):
    with pytest.raises(modelstore.NotInStore):
        modelstore.load(addr, folder=tmp_path)
    assert not modelstore.contains(addr, folder=tmp_path)


def test_an_unknown_address_is_not_in_the_store(tmp_path):
    with pytest.raises(modelstore.NotInStore, match="No shared model 0123456789abcdef"):
        modelstore.load("0123456789abcdef", folder=tmp_path)


def test_a_file_changed_on_disk_is_refused(tmp_path):
    addr = modelstore.put(net(0), folder=tmp_path)
    path = tmp_path / f"{addr}.npz"
    data = bytearray(path.read_bytes())
    data[-200] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match="changed on disk"):
        modelstore.load(addr, folder=tmp_path)


def test_a_hostile_file_under_a_matching_name_goes_through_the_safe_reader(tmp_path):
    bad = b"PK\x05\x06" + b"\xff" * 18  # a zip end record declaring 65,535 members
    addr = modelstore.address(bad)
    (tmp_path / f"{addr}.npz").write_bytes(bad)
    with pytest.raises(ModelFormatError, match="65,535 files"):
        modelstore.load(addr, folder=tmp_path)
    huge = tmp_path / "0123456789abcdef.npz"
    with open(huge, "wb") as f:
        f.truncate(40 * 2**20)  # sparse: over the size of any model, refused from its size
    with pytest.raises(ModelFormatError, match="over the 33,554,432 of any model"):
        modelstore.load("0123456789abcdef", folder=tmp_path)


def test_strangers_and_temp_files_are_not_models(tmp_path):
    addr = modelstore.put(net(0), folder=tmp_path)
    for name in ("notes.txt", f".{addr}.npz.123.456.tmp", "ABCDEF0123456789.npz", "x.npz"):
        (tmp_path / name).write_bytes(b"x")
    assert [a for _, _, a in modelstore.entries(tmp_path)] == [addr]


WRITER = """
import sys
from engine import modelstore
from tests.test_modelstore import net
print(modelstore.put(net(5, sizes=(784, 256, 10)), folder=__import__('pathlib').Path(sys.argv[1])))
"""


def test_concurrent_writers_of_one_model_leave_one_whole_file(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    [addr] = outs
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{addr}.json", f"{addr}.npz"]
    back = modelstore.load(addr, folder=tmp_path)
    np.testing.assert_array_equal(back.params["W1"], net(5, sizes=(784, 256, 10)).params["W1"])


def test_a_load_is_a_use(tmp_path):
    addr = modelstore.put(net(0), folder=tmp_path)
    path = tmp_path / f"{addr}.npz"
    os.utime(path, (1000, 1000))
    modelstore.load(addr, folder=tmp_path)
    assert path.stat().st_mtime > time.time() - 60


def test_the_budget_in_megabytes_may_be_a_fraction(monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_STORE_MB", "0.5")
    assert modelstore.budget_bytes() == 2**19
    monkeypatch.delenv("MNIST_EXPLORER_STORE_MB")
    assert modelstore.budget_bytes() == 200 * 2**20


def test_a_model_without_a_name_comes_back_named_shared_and_a_named_one_keeps_its_name(tmp_path):
    back = modelstore.load(modelstore.put(net(0), folder=tmp_path), folder=tmp_path)
    assert back.card["name"] == "shared"
    named = net(1)
    named.card["name"] = "mine"
    assert modelstore.load(modelstore.put(named, folder=tmp_path), folder=tmp_path).card["name"] == "mine"


def test_the_address_does_not_depend_on_the_order_of_the_cards_keys(tmp_path):
    a, b = net(0), net(0)
    a.card = {"title": "t", "note": "n", "epochs": 3}
    b.card = {"epochs": 3, "note": "n", "title": "t"}
    assert modelstore.put(a, folder=tmp_path) == modelstore.put(b, folder=tmp_path)
    assert len(modelstore.entries(tmp_path)) == 1


@pytest.mark.parametrize("kind", ["center", "standardize", "whiten"])
def test_a_fitted_preprocessing_round_trips_with_its_arrays(tmp_path, kind):
    from threadpoolctl import threadpool_limits
    x = np.random.default_rng(4).integers(0, 256, (50, 784)).astype(np.uint8)
    m = net(3, pre=None)
    with threadpool_limits(limits=1, user_api="blas"):  # whitening's 784 x 784 eigh: one thread is fastest on a busy machine
        m.preprocess = Preprocess(kind).fit(x)
    back = modelstore.load(modelstore.put(m, folder=tmp_path), folder=tmp_path)
    assert back.preprocess.kind == kind
    np.testing.assert_array_equal(back.preprocess.mean_, m.preprocess.mean_)
    np.testing.assert_array_equal(back.predict_proba(pixels()), m.predict_proba(pixels()))


def test_the_members_are_what_np_savez_writes_but_with_no_clock(tmp_path):
    import io
    import zipfile
    m = net(0)
    ref = io.BytesIO()
    np.savez(ref, **m.params)
    with zipfile.ZipFile(ref) as z:
        want = {(i.compress_type, i.external_attr) for i in z.infolist()}
    with zipfile.ZipFile(io.BytesIO(modelstore.canonical_bytes(m))) as z:
        infos = z.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)  # sorted members
    assert {(i.compress_type, i.external_attr) for i in infos} == want
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_the_readable_card_beside_the_model_is_indented_sorted_utf8_json(tmp_path):
    from pathlib import PurePosixPath
    m = net(0)
    m.card = {"title": "Zahl 7 – 数字", "source": PurePosixPath("data/mnist"), "epochs": 2}
    addr = modelstore.put(m, folder=tmp_path)
    text = (tmp_path / f"{addr}.json").read_text(encoding="utf-8")
    card = json.loads(text)
    assert card["title"] == "Zahl 7 – 数字" and "Zahl 7 – 数字" in text  # as written, not \u escapes
    assert card["source"] == "data/mnist"  # a value JSON has no type for is written as its text
    assert (card["activation"], card["sizes"], card["preprocess"]["kind"]) == ("sigmoid", [784, 20, 10], "unit")
    assert list(card) == sorted(card) and text.endswith("}\n")
    assert text.splitlines()[1].startswith('  "') and not text.splitlines()[1].startswith('   ')  # two-space indent
    assert modelstore.load(addr, folder=tmp_path).card["source"] == "data/mnist"


def test_the_refusal_of_a_model_over_the_budget_gives_both_sizes_in_megabytes(tmp_path):
    m = net(0, sizes=(784, 1100, 10))
    size = len(modelstore.canonical_bytes(m))
    assert 3 * 2**20 < size < 3.5 * 2**20
    with pytest.raises(EngineError, match=rf"is {size / 2**20:.1f} MB, more than the shared store's budget of 3 MB"):
        modelstore.put(m, folder=tmp_path, budget=3 * 2**20)


def test_a_model_exactly_the_budget_is_stored_and_not_evicted_by_its_own_card(tmp_path):
    m = net(0)
    size = len(modelstore.canonical_bytes(m))
    addr = modelstore.put(m, folder=tmp_path, budget=size)  # the .npz fits; with its card it is over, but it stays
    assert modelstore.contains(addr, folder=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{addr}.json", f"{addr}.npz"]


def test_an_unwritable_store_is_one_sentence_naming_the_folder_and_the_fix(tmp_path):
    blocker = tmp_path / "store"
    blocker.write_bytes(b"a file where the folder should be")
    with pytest.raises(EngineError) as e:
        modelstore.put(net(0), folder=blocker)
    assert str(e.value).startswith(f"Cannot write to the shared model store {blocker} (")
    assert "[Errno" not in str(e.value)  # the system's words, not the exception's repr
    assert str(e.value).endswith("): make it writable, or set MNIST_EXPLORER_STORE to a writable folder.")


def test_a_bad_address_is_quoted_in_its_first_40_characters(tmp_path):
    with pytest.raises(modelstore.NotInStore) as e:
        modelstore.load("x" * 100, folder=tmp_path)
    assert str(e.value) == f"{'x' * 40!r} is not a model address (16 hex digits): copy the whole link again."


def test_the_refusals_of_load_say_what_to_do(tmp_path):
    with pytest.raises(modelstore.NotInStore, match="never shared on this server; share it again.$"):
        modelstore.load("0123456789abcdef", folder=tmp_path)
    (tmp_path / "00000000000000aa.npz").mkdir()  # there, but not a readable file
    with pytest.raises(modelstore.NotInStore) as e:
        modelstore.load("00000000000000aa", folder=tmp_path)
    assert str(e.value).startswith("The shared model 00000000000000aa cannot be read (")
    assert "[Errno" not in str(e.value) and str(e.value).endswith("): check the store's folder.")
    addr = modelstore.put(net(0), folder=tmp_path)
    path = tmp_path / f"{addr}.npz"
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    with pytest.raises(ModelFormatError, match="changed on disk .*: share it again.$"):
        modelstore.load(addr, folder=tmp_path)


def test_a_file_of_exactly_the_largest_model_size_is_read_not_refused_for_size(tmp_path):
    from engine.modelfile import MAX_NPZ_BYTES
    with open(tmp_path / "0123456789abcdef.npz", "wb") as f:
        f.truncate(MAX_NPZ_BYTES)
    with pytest.raises(ModelFormatError, match="changed on disk"):  # read and hashed: the limit itself is allowed
        modelstore.load("0123456789abcdef", folder=tmp_path)
    with open(tmp_path / "0123456789abcdef.npz", "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelFormatError, match=r"over the .* of any model: remove it from the store.$"):
        modelstore.load("0123456789abcdef", folder=tmp_path)


def test_a_hostile_file_is_named_in_the_refusal(tmp_path):
    bad = b"PK\x05\x06" + b"\xff" * 18
    addr = modelstore.address(bad)
    (tmp_path / f"{addr}.npz").write_bytes(bad)
    with pytest.raises(ModelFormatError, match=f"^{addr}.npz holds 65,535 files"):
        modelstore.load(addr, folder=tmp_path)


def test_without_a_folder_the_store_is_the_configured_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_STORE", str(tmp_path))
    monkeypatch.delenv("MNIST_EXPLORER_STORE_MB", raising=False)
    addr = modelstore.put(net(0))
    assert (tmp_path / f"{addr}.npz").is_file() and modelstore.contains(addr)
    assert [a for _, _, a in modelstore.entries()] == [addr]
    assert modelstore.load(addr).card["title"] == "net 0"
    monkeypatch.setenv("MNIST_EXPLORER_STORE_MB", str(1000 / 2**20))  # 1,000 bytes: the model must go
    assert modelstore.evict() == [addr] and modelstore.entries() == []


def test_an_entry_counts_the_bytes_of_the_model_and_its_card(tmp_path):
    a, b = modelstore.put(net(0), folder=tmp_path), modelstore.put(net(1), folder=tmp_path)
    (tmp_path / f"{b}.json").unlink()  # a model whose readable card is gone counts as its .npz alone
    sizes = {addr: size for _, size, addr in modelstore.entries(tmp_path)}
    assert sizes == {a: (tmp_path / f"{a}.npz").stat().st_size + (tmp_path / f"{a}.json").stat().st_size,
                     b: (tmp_path / f"{b}.npz").stat().st_size}


def test_a_model_removed_while_listing_is_skipped_not_the_end_of_the_list(tmp_path, monkeypatch):
    addr = modelstore.put(net(0), folder=tmp_path)
    listed = ["0000000000000000.npz", f"{addr}.npz"]  # the first was evicted by another process after listdir
    real = os.listdir
    monkeypatch.setattr(modelstore.os, "listdir", lambda folder: listed if folder == tmp_path else real(folder))
    assert [a for _, _, a in modelstore.entries(tmp_path)] == [addr]


def models_aged(folder, n):
    """n models put into folder, their clocks set so that the first is the least recently used; (addresses, entry size)."""
    a = [modelstore.put(net(i), folder=folder) for i in range(n)]
    for i, addr in enumerate(a):
        os.utime(folder / f"{addr}.npz", (1000 + i, 1000 + i))
    sizes = {s for _, s, _ in modelstore.entries(folder)}
    assert len(sizes) == 1  # the same shapes: the same size each
    return a, sizes.pop()


def test_evict_removes_the_oldest_until_the_store_fits(tmp_path):
    a, size = models_aged(tmp_path, 4)
    assert modelstore.evict(folder=tmp_path, budget=4 * size) == []  # exactly the budget fits
    assert modelstore.evict(folder=tmp_path, budget=int(2.5 * size)) == a[:2]
    assert [addr for _, _, addr in modelstore.entries(tmp_path)] == a[2:]


def test_evict_passes_over_a_kept_model_and_goes_on_with_the_next(tmp_path):
    a, size = models_aged(tmp_path, 4)
    (tmp_path / f"{a[1]}.json").unlink()  # a card already gone is no error
    assert modelstore.evict(folder=tmp_path, budget=2 * size, keep={a[0]}) == a[1:3]
    assert [addr for _, _, addr in modelstore.entries(tmp_path)] == [a[0], a[3]]
    assert not (tmp_path / f"{a[2]}.json").exists()
