"""engine.modelstore: shared models by content address. Same model -> same address; a round trip keeps every weight;
the budget evicts the least recently used; tampered, oversized or unknown entries are refused; concurrent writers of one
model leave one whole file."""
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
