"""Faults (issue 9, section 4): a full disk, a process killed with SIGKILL, corrupt files. Nothing partial is ever used,
the message says what happened, and a retry works.

Proven elsewhere and not repeated here:
- tests/test_download.py: a download interrupted midway (dropped connection, truncated body, stalled mirror) and a mirror
  serving corrupt or wrong bytes leave nothing in the destination, fail with one clear error, and a retry succeeds.
- tests/test_data.py: a corrupt .npy cache (truncated, empty, a flipped byte, wrong dtype, broken card) is rebuilt.
- tests/test_modelfile.py: random, empty, wrong-key, object-array and zip-bomb .npz files raise ModelFormatError, and a
  save failing at fsync leaves the old files byte for byte.
"""
import builtins
import errno
import gzip
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import engine.data
import engine.download
import engine.modelfile
import ui.mnist_upload
from engine import debris
from engine.data import FILES, find_files, load_raw
from engine.download import download_mnist
from engine.errors import DownloadError, EngineError, MnistFormatError, ModelFormatError
from engine.model import MLP
from engine.modelfile import load_model, read_npz, save_model
from engine.paths import cache_dir, parsed_cache_dir
from engine.preprocess import Preprocess
from engine.trainproc import TrainProcess
from tests.conftest import ROOT
from tests.httpserver import Handler, LocalServer
from tests.synth import idx_bytes, synthetic_digits, write_mnist

NAMES = [f"{stem}.gz" for stem, _ in FILES.values()]
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))



def everything_in(folder):
    """Every file under folder, hidden ones included, as relative names."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def everything_in_tmp():
    """Every file and folder under the cache's temporary folder (debris.tmp_dir()), hidden ones included."""
    folder = cache_dir() / "tmp"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


# --- a full disk -----------------------------------------------------------------------------------------------

class FullDisk:
    """A writable file that takes `room` bytes, writes part of the chunk that overflows, then raises ENOSPC."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def write(self, data):
        data = memoryview(data).cast("B")
        if len(data) > self.room:
            self.f.write(data[:self.room])  # a real full disk accepts what fits: a partial file is on disk
            self.room = 0
            raise ENOSPC
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def fill_disk(monkeypatch, module, *, room):
    """Make `open(..., 'wb')` in module return files that run out of space after `room` bytes."""
    def full_open(file, mode="r", *args, **kw):
        f = builtins.open(file, mode, *args, **kw)
        return FullDisk(f, room) if "w" in mode else f
    monkeypatch.setattr(module, "open", full_open, raising=False)


@pytest.fixture(scope="module")
def synth_mirror(tmp_path_factory):
    """(server, folder, checksums): small synthetic MNIST on 127.0.0.1 under /good/ and, for a kill test, /hang/."""
    folder, _ = write_mnist(tmp_path_factory.mktemp("served"), n_train=3000, n_test=16, seed=7)  # train images ~1.4 MB gz
    files = {name: (folder / name).read_bytes() for name in NAMES}
    import hashlib
    checksums = {name[:-3]: hashlib.sha256(gzip.decompress(data)).hexdigest() for name, data in files.items()}
    routes = {f"/good/{n}": d for n, d in files.items()} | {f"/hang/{n}": Hang(d) for n, d in files.items()}
    with LocalServer(routes) as server:
        server.httpd.RequestHandlerClass = HangingHandler
        yield server, folder, checksums
        Hang.release.set()


@pytest.mark.parametrize("room", [0, 1000, 30_000])
def test_a_full_disk_during_a_download_leaves_nothing_and_a_retry_succeeds(synth_mirror, tmp_path, monkeypatch, room):
    server, folder, checksums = synth_mirror
    dest = tmp_path / "dest"
    fill_disk(monkeypatch, engine.download, room=room)
    with pytest.raises(DownloadError) as e:
        download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    assert str(e.value).startswith(f"Could not download {NAMES[0]}") and "No space left on device" in str(e.value)
    assert everything_in(dest) == [] and everything_in_tmp() == []  # not even the hidden .part file
    monkeypatch.undo()
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    assert everything_in(dest) == sorted(NAMES)
    assert all((dest / n).read_bytes() == (folder / n).read_bytes() for n in NAMES)


def test_a_failing_rename_at_the_end_of_a_download_leaves_nothing(synth_mirror, tmp_path, monkeypatch):
    server, _, checksums = synth_mirror
    dest = tmp_path / "dest"

    def failing_replace(src, dst):
        raise OSError(errno.EIO, os.strerror(errno.EIO))
    monkeypatch.setattr(engine.download.os, "replace", failing_replace)
    with pytest.raises(DownloadError, match="Input/output error"):
        download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    assert everything_in(dest) == [] and everything_in_tmp() == []


def uploads(n_train=20, n_test=6):
    """The four MNIST files of a small synthetic set, as Parts ready to install."""
    parts = []
    for i, n in enumerate((n_train, n_test)):
        x, labels = synthetic_digits(n, seed=3 + i)
        for kind, arr in (("images", x), ("labels", labels)):
            parts.append(ui.mnist_upload.identify(f"f{i}{kind}", gzip.compress(idx_bytes(arr, kind=kind))))
    return parts


@pytest.mark.parametrize("room", [0, 5000])
def test_a_full_disk_while_installing_uploaded_mnist_stores_nothing(tmp_path, monkeypatch, room):
    folder = tmp_path / "mnist"
    fill_disk(monkeypatch, ui.mnist_upload, room=room)
    with pytest.raises(MnistFormatError, match=r"Cannot write into .*mnist \(No space left on device\)"):
        ui.mnist_upload.install(uploads(), dataset_present=lambda: False, folder=folder)
    assert everything_in(folder) == [] and everything_in_tmp() == []
    monkeypatch.undo()
    ui.mnist_upload.install(uploads(), dataset_present=lambda: False, folder=folder)
    assert everything_in(folder) == sorted(NAMES)


def test_a_full_disk_while_caching_parsed_arrays_is_harmless_and_the_cache_is_written_later(tmp_path, fresh_cache, monkeypatch):
    folder, arrays = write_mnist(tmp_path / "d", n_train=40, n_test=10)
    with pytest.MonkeyPatch.context() as full:  # undone on its own, so fresh_cache's private cache stays in place
        fill_disk(full, engine.data, room=100)  # every .npy write fails partway (its header alone is 128 bytes)
        raw = load_raw(folder)
        np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])
        assert everything_in(parsed_cache_dir()) == [] and everything_in_tmp() == []  # no half-written .npy, no temp file
    load_raw(folder)  # the disk has room again: the cache is written now
    assert len(list(parsed_cache_dir().glob("*.npy"))) == 4
    monkeypatch.setattr(engine.data, "read_idx", lambda *a, **k: pytest.fail("parsed again instead of read from the cache"))
    np.testing.assert_array_equal(load_raw(folder)["test_label"], arrays["test"][1])


# --- corrupt files ---------------------------------------------------------------------------------------------

class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_cache_npy_holding_a_pickle_is_never_unpickled_and_is_rebuilt(tmp_path, fresh_cache, monkeypatch):
    folder, arrays = write_mnist(tmp_path / "d", n_train=40, n_test=10)
    load_raw(folder)
    [npy] = [p for p in parsed_cache_dir().glob("*.npy") if p.name.startswith("train-images")]
    marker = tmp_path / "pwned"
    np.save(npy, np.array([Payload(marker)], dtype=object), allow_pickle=True)  # what an attacker with disk access writes
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])
    assert not marker.exists()
    assert np.load(npy, allow_pickle=False).shape == (40, 28, 28)  # rebuilt as plain uint8


def tagged_model(k, *, kind="unit", sizes=(784, 32, 10)):
    """A model whose every weight equals k (version k) with a card titled vK."""
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"], params[f"b{i}"] = np.full((m, n), k, np.float32), np.full(n, k, np.float32)
    x = np.random.default_rng(k).integers(0, 256, (30, 784)).astype(np.float32)
    return MLP(params, preprocess=Preprocess(kind).fit(x), card={"title": f"v{k}"})


def test_a_truncated_model_file_is_refused(tmp_path):
    good = save_model(tagged_model(3), tmp_path / "good").read_bytes()
    path = tmp_path / "m.npz"
    for cut in sorted({*range(0, len(good), max(1, len(good) // 40)), len(good) - 1, len(good) - 22, len(good) - 100}):
        path.write_bytes(good[:cut])  # what a copy interrupted at byte `cut` leaves
        with pytest.raises(ModelFormatError, match="m.npz"):
            load_model(path)


def test_a_flipped_byte_in_a_model_file_is_refused_or_changes_nothing(tmp_path):
    src = save_model(tagged_model(3, kind="center"), tmp_path / "good")
    good = src.read_bytes()
    path = tmp_path / "m.npz"
    refused = 0
    for at in range(0, len(good), max(1, len(good) // 150)):
        bad = bytearray(good)
        bad[at] ^= 0x10
        path.write_bytes(bytes(bad))
        try:
            m = load_model(path)
        except ModelFormatError:
            refused += 1
            continue
        # a flip the zip's CRC-32 does not cover (a header's timestamp): the model must be exactly the saved one
        assert all(np.array_equal(v, np.full_like(v, 3)) for v in m.params.values()), at
        assert m.preprocess.kind == "center" and m.card["title"] == "v3", at
    assert refused > 100  # nearly every byte is covered by a check


# --- atomic saves ----------------------------------------------------------------------------------------------

def fail_replace_on_call(monkeypatch, n):
    calls, real = [], os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == n:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(src, dst)
    monkeypatch.setattr(engine.modelfile.os, "replace", replace)
    return calls


def test_a_save_failing_at_the_first_rename_leaves_the_old_model(tmp_path, monkeypatch):
    path = save_model(tagged_model(1), tmp_path / "m")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fail_replace_on_call(monkeypatch, 1)
    with pytest.raises(EngineError, match="Cannot write .*m.npz .Input/output error"):
        save_model(tagged_model(2, kind="center"), path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # old bytes, no temp file


def test_a_save_failing_between_the_two_renames_never_loads_a_mixed_model(tmp_path, monkeypatch):
    # save_model replaces m.npz, then m.json: a failure (or a kill) between the two leaves new weights beside the
    # old sidecar card, so load_model must take the card embedded in the .npz, written with those very weights
    path = save_model(tagged_model(1, kind="unit"), tmp_path / "m")
    fail_replace_on_call(monkeypatch, 2)
    with pytest.raises(EngineError):
        save_model(tagged_model(2, kind="center"), path)
    monkeypatch.undo()
    try:
        m = load_model(path)
    except ModelFormatError:
        return  # refusing the mixed pair is fine too
    version = int(m.params["W1"][0, 0])
    assert m.card["title"] == f"v{version}" and m.preprocess.kind == {1: "unit", 2: "center"}[version]


# --- a process killed with SIGKILL midway -----------------------------------------------------------------------

class Hang:
    """A route that sends the headers and the first half of the body, then hangs until `release` (or 30 s)."""

    release = threading.Event()
    sent = threading.Event()

    def __init__(self, body):
        self.body = body


class HangingHandler(Handler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        route = self.server.routes.get(self.path)
        if not isinstance(route, Hang):
            return super().do_GET()
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body[:len(route.body) // 2])
        self.wfile.flush()
        Hang.sent.set()
        Hang.release.wait(30)


def start_child(code, *args, env=None):
    """A Python child running code (argv = args) from the repo root, its stdout a pipe."""
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, **(env or {})}, text=True)


def kill_after_lines(proc, n, *, pause, timeout=30):
    """SIGKILL proc `pause` seconds after it printed its n-th line; returns every line it printed."""
    lines, buf, deadline = [], "", time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while len(lines) < n:
        assert time.monotonic() < deadline and proc.poll() is None, f"child stalled or died: {proc.poll()}"
        if select.select([fd], [], [], 0.5)[0]:
            buf += os.read(fd, 4096).decode()
            *done, buf = buf.split("\n")
            lines += done
    time.sleep(pause)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return lines + (buf + proc.stdout.read()).split()


SAVE_LOOP = """
import sys
import numpy as np
from engine.model import MLP
from engine.modelfile import save_model
from engine.preprocess import Preprocess
x = np.random.default_rng(0).integers(0, 256, (30, 784)).astype(np.float32)
k = int(sys.argv[2])
while True:  # version k: every weight equals k, the card says vK (as tagged_model)
    k += 1
    params = {"W1": np.full((784, 100), k, np.float32), "b1": np.full(100, k, np.float32),
              "W2": np.full((100, 10), k, np.float32), "b2": np.full(10, k, np.float32)}
    save_model(MLP(params, preprocess=Preprocess(("unit", "center")[k % 2]).fit(x), card={"title": f"v{k}"}), sys.argv[1])
    print(k, flush=True)
"""


def test_a_process_killed_while_saving_models_leaves_a_whole_model(tmp_path):
    path, version = tmp_path / "m.npz", 0
    pauses = np.random.default_rng(0).uniform(0, 0.03, 8)  # kill at a random moment of a save (one takes ~5-20 ms)
    for pause in pauses:
        lines = kill_after_lines(start_child(SAVE_LOOP, path, version), 2, pause=pause)
        done = int(lines[-1])
        # the .npz is whole: the last model saved, or the one in progress if its rename happened; weights, fitted
        # preprocessing and embedded card all of one version (its sidecar .json may lag one version behind)
        arrays = read_npz(path, "m.npz")
        card = json.loads(arrays.pop("card").tobytes())
        v = int(arrays["W1"][0, 0])
        assert v in (done, done + 1), (v, done)
        assert card["title"] == f"v{v}" and card["preprocess"]["kind"] == ("unit", "center")[v % 2]
        assert all(np.array_equal(arrays[k], np.full_like(arrays[k], v)) for k in ("W1", "b1", "W2", "b2"))
        assert ("pre_mean" in arrays) == (v % 2 == 1)
        m = load_model(path)  # and it loads as that version, whatever the sidecar says
        assert m.card["title"] == f"v{v}" and m.preprocess.kind == ("unit", "center")[v % 2]
        version = done + 1
    # a killed save cannot remove its own temp file: each leftover is a hidden temp of a dead process, and the sweep
    # at the next start takes them all, leaving exactly the model and its card
    leftovers = [n for n in everything_in(tmp_path) if n not in ("m.npz", "m.json")]
    assert all(n.startswith(".m.") and n.endswith(".tmp") for n in leftovers), leftovers
    debris.sweep(folders=[tmp_path])
    assert everything_in(tmp_path) == ["m.json", "m.npz"]


CACHE_LOOP = """
import shutil, sys
from engine.data import load_raw
from engine.paths import cache_dir, parsed_cache_dir
n = 0
while True:
    shutil.rmtree(parsed_cache_dir(), ignore_errors=True)
    load_raw(sys.argv[1])  # parses the files and writes the .npy cache
    n += 1
    print(n, flush=True)
"""


def test_a_process_killed_while_writing_the_cache_never_corrupts_the_data(tmp_path, fresh_cache):
    folder, arrays = write_mnist(tmp_path / "d", n_train=3000, n_test=500)
    for pause in np.random.default_rng(1).uniform(0, 0.05, 6):
        kill_after_lines(start_child(CACHE_LOOP, folder, env={"MNIST_EXPLORER_CACHE": str(fresh_cache)}), 1, pause=pause)
        raw = load_raw(folder)  # whatever the kill left in the cache is checked, and rebuilt if broken
        np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])
        np.testing.assert_array_equal(raw["test_label"], arrays["test"][1])


INSTALL = """
import gzip, sys
from ui.mnist_upload import identify, install
parts = [identify(p, open(p, "rb").read()) for p in sys.argv[2:]]
print("ready", flush=True)
install(parts, dataset_present=lambda: False, folder=sys.argv[1])
print("installed", flush=True)
"""


def test_a_process_killed_while_installing_uploads_leaves_whole_files_or_none(tmp_path, fresh_cache):
    sources = []
    for i, n in enumerate((3000, 500)):
        x, labels = synthetic_digits(n, seed=i)
        for kind, arr in (("images", x), ("labels", labels)):
            p = tmp_path / f"src{i}{kind}.gz"
            p.write_bytes(gzip.compress(idx_bytes(arr, kind=kind), compresslevel=1))
            sources.append(p)
    whole = {p.read_bytes() for p in sources}
    for k, pause in enumerate(np.random.default_rng(2).uniform(0, 0.05, 6)):
        folder = tmp_path / f"mnist{k}"
        kill_after_lines(start_child(INSTALL, folder, *sources), 1, pause=pause)
        for f in everything_in(folder):
            assert (folder / f).read_bytes() in whole, f  # a file is one whole upload, never a stub
    debris.sweep()  # what the next start does: the killed installers' staged files go
    assert everything_in_tmp() == []


DOWNLOAD = """
import json, sys
from engine.download import download_mnist
download_mnist(sys.argv[1], mirrors=[sys.argv[2]], checksums=json.loads(sys.argv[3]), timeout=60)
"""


def killed_download(server, checksums, dest):
    """Start a download from the hanging mirror and SIGKILL it once half of the first file is on disk (anywhere)."""
    Hang.sent.clear()
    proc = start_child(DOWNLOAD, dest, server.url + "hang", json.dumps(checksums))

    def partial():  # the temp file may sit beside the destination or in the cache: look at every file of both
        return [p for folder in (dest, cache_dir()) if folder.exists() for p in folder.rglob("*") if p.is_file() and p.stat().st_size]
    try:
        assert Hang.sent.wait(30), "the download never started"
        deadline = time.monotonic() + 10
        while not partial() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partial(), "no partial download on disk to kill"
    finally:
        proc.kill()
        proc.wait()


def test_a_download_killed_midway_leaves_no_file_that_loads_and_a_retry_succeeds(synth_mirror, tmp_path, fresh_cache):
    server, folder, checksums = synth_mirror
    dest = tmp_path / "dest"
    killed_download(server, checksums, dest)
    assert set(find_files(dest).values()) == {None}  # nothing under a name the loader reads
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    assert all((dest / n).read_bytes() == (folder / n).read_bytes() for n in NAMES)


def test_a_retry_after_a_killed_download_leaves_no_partial_file(synth_mirror, tmp_path, fresh_cache):
    # a SIGKILLed downloader cannot remove its own partial file: the next download clears those of dead processes
    server, _, checksums = synth_mirror
    dest = tmp_path / "dest"
    killed_download(server, checksums, dest)
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    assert everything_in(dest) == sorted(NAMES) and everything_in_tmp() == []


# --- a restart after a kill leaves no debris (issue 13, row 10) ---------------------------------------------------

def test_a_restart_after_a_download_killed_midway_leaves_nothing_and_loading_works(synth_mirror, tmp_path, fresh_cache):
    server, folder, checksums = synth_mirror
    dest = tmp_path / "dest"
    killed_download(server, checksums, dest)
    removed = debris.sweep()  # what the dashboard does at start-up
    assert everything_in(dest) == [] and everything_in(fresh_cache) == []  # no hidden .part anywhere
    assert len(removed) == 1
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=5)
    np.testing.assert_array_equal(load_raw(dest)["train_label"], load_raw(folder)["train_label"])


CACHE_WRITE = """
import io, sys, time
import numpy as np
from engine.data import load_raw
real_save = np.save

def stalling_save(f, arr, **kw):  # write half of the .npy, then stall: the kill lands in the middle of a cache write
    buf = io.BytesIO()
    real_save(buf, arr, **kw)
    f.write(buf.getvalue()[:len(buf.getvalue()) // 2])
    f.flush()
    print("half written", flush=True)
    time.sleep(60)
np.save = stalling_save
load_raw(sys.argv[1])
"""


def test_a_restart_after_a_cache_write_killed_midway_leaves_only_whole_cache_entries(tmp_path, fresh_cache):
    folder, arrays = write_mnist(tmp_path / "d", n_train=3000, n_test=500)
    kill_after_lines(start_child(CACHE_WRITE, folder), 1, pause=0)
    assert sum(p.stat().st_size for p in fresh_cache.rglob("*") if p.is_file()) > 1_000_000  # half an .npy on disk
    removed = debris.sweep()  # what the dashboard does at start-up
    assert everything_in(fresh_cache) == []  # the half-written temp file is gone, and nothing else was there
    assert len(removed) == 1
    raw = load_raw(folder)
    np.testing.assert_array_equal(raw["train_img"], arrays["train"][0])
    np.testing.assert_array_equal(raw["test_label"], arrays["test"][1])
    names = everything_in(fresh_cache)
    entries = {n.rsplit(".", 1)[0] for n in names}  # each parsed file once: its .npy and its card, nothing else
    assert len(entries) == 4 and names == sorted(f"{e}.{ext}" for e in entries for ext in ("json", "npy"))
    assert everything_in_tmp() == []


TRAIN = """
import sys
from engine.trainproc import TrainProcess
spec = {"names": ["unit"], "comparison": False, "n_train": 600, "data_dir": sys.argv[1], "every": 1,
        "config": {"hidden": [8], "epochs": 10000, "batch_size": 10, "val_size": 100}}
job = TrainProcess(spec, on_info=lambda name, info: print(info["phase"], flush=True), nice=0)
print("child", job.proc.pid, flush=True)
job.wait()
"""


def wait_until_gone(pid, timeout=30):
    """Wait for a process that is not our child (a grandchild) to end; a zombie not yet reaped counts as ended."""
    stat, deadline = Path(f"/proc/{pid}/stat"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid} still runs after {timeout} s")


def test_a_restart_after_a_server_killed_during_training_leaves_nothing_and_training_works(tmp_path, fresh_cache):
    folder, _ = write_mnist(tmp_path / "d", n_train=600, n_test=50)
    system_tmp = tmp_path / "systmp"  # where tempfile.mkdtemp would put folders
    system_tmp.mkdir()
    lines = kill_after_lines(start_child(TRAIN, folder, env={"TMPDIR": str(system_tmp)}), 4, pause=0.05)
    trainer = int(next(line for line in lines if line.startswith("child")).split()[1])
    wait_until_gone(trainer)  # the training process sees its input end, stops after its batch and exits
    debris.sweep()
    assert everything_in(system_tmp) == [] and everything_in_tmp() == []
    assert all(n.startswith("parsed/") for n in everything_in(fresh_cache))  # the parsed cache may stay, it is reused
    # the restarted server trains as before, and cleans up after itself
    spec = {"names": ["unit"], "comparison": False, "n_train": 600, "data_dir": str(folder),
            "config": {"hidden": [8], "epochs": 1, "val_size": 100}}
    job = TrainProcess(spec, on_info=lambda name, info: None, nice=0)
    models, stopped = job.wait()
    assert list(models) == ["unit"] and not stopped and models["unit"].params["W1"].shape == (784, 8)
    assert everything_in_tmp() == [] and everything_in(system_tmp) == []
