"""The downloader against a local HTTP server on 127.0.0.1: good, corrupt, truncated, missing, dropped and stalled mirrors."""
import contextlib
import errno
import gzip
import hashlib
import http.server
import os
import re
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

import engine.download
from engine.data import FILES, load_mnist
from engine.download import download_mnist
from engine.errors import DownloadError
from engine.paths import mnist_cache_dir
from tests.conftest import ROOT
from tests.httpserver import Drop, LocalServer, Stall, closed_port_url
from tests.synth import idx_bytes, write_mnist

NAMES = [f"{stem}.gz" for stem, _ in FILES.values()]  # the order the downloader fetches them in
FIRST = NAMES[0]  # train-images-idx3-ubyte.gz: every broken mirror already fails here
TIMEOUT = 2.0  # seconds; everything is on loopback



def one_pixel_changed(gz_bytes):
    """A valid gzip of almost the right content: the last byte (a pixel or label) differs."""
    data = bytearray(gzip.decompress(gz_bytes))
    data[-1] ^= 0x01
    return gzip.compress(bytes(data), compresslevel=1)


def broken_routes(files, first):
    """Routes of the broken mirrors, keyed '/variant/name'; `first` is the name fetched first."""
    routes = {}
    for name, gz in files.items():
        routes[f"/good/{name}"] = gz
        routes[f"/truncated/{name}"] = gz[: len(gz) // 2]
        routes[f"/drop/{name}"] = Drop(gz, sent=len(gz) // 3)
        routes[f"/stall/{name}"] = Stall(1.0)
    routes[f"/corrupt/{first}"] = one_pixel_changed(files[first])
    other = next(n for n in files if n != first)
    routes[f"/wrongfile/{first}"] = files[other]  # a mirror serving another file under this name
    return routes


# what each broken mirror's error says, besides the file name
FAILURES = {
    "corrupt": "SHA-256",
    "wrongfile": "SHA-256",
    "truncated": "truncated gzip",
    "drop": "ended after",
    "missing": "404",
    "stall": "timed out",
}


def assert_empty(dest):
    """Nothing at all in dest: no file, no .part, no hidden temp."""
    assert not dest.exists() or list(dest.iterdir()) == []


def sha(data):
    return hashlib.sha256(data).hexdigest()


# --- real MNIST files served from 127.0.0.1 ----------------------------------------------------------------

@pytest.fixture(scope="module")
def real_gz(mnist_dir):
    return {name: (mnist_dir / name).read_bytes() for name in NAMES}


@pytest.fixture(scope="module")
def server(real_gz):
    with LocalServer(broken_routes(real_gz, FIRST)) as s:
        yield s


@pytest.mark.mnist
def test_good_mirror_downloads_verifies_and_loads(server, real_gz, tmp_path, fresh_cache):
    dest = tmp_path / "dest"
    calls = []
    assert download_mnist(dest, mirrors=[server.url + "good"], timeout=TIMEOUT,
                          progress=lambda stem, done, total: calls.append((stem, done, total))) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)
    for name in NAMES:
        assert (dest / name).read_bytes() == real_gz[name]
    for name in NAMES:  # progress: per file, strictly increasing byte counts that end at the file's size
        stem = name[:-3]
        done = [d for s, d, _ in calls if s == stem]
        assert done == sorted(set(done)) and done[0] > 0
        assert done[-1] == len(real_gz[name])
        assert {t for s, _, t in calls if s == stem} == {len(real_gz[name])}
    (x, t), (xt, tt) = load_mnist(data_dir=dest)
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == np.float32
    assert np.bincount(tt, minlength=10).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.mnist
@pytest.mark.parametrize("variant", list(FAILURES))
def test_a_broken_mirror_leaves_nothing_and_a_retry_succeeds(server, real_gz, tmp_path, variant):
    dest = tmp_path / "dest"
    timeout = 0.3 if variant == "stall" else TIMEOUT
    with pytest.raises(DownloadError) as e:
        download_mnist(dest, mirrors=[server.url + variant], timeout=timeout)
    msg = str(e.value)
    assert msg.startswith(f"Could not download {FIRST} from any mirror")
    assert FAILURES[variant] in msg
    assert "MNIST_DIR" in msg and all(n in msg for n in NAMES)  # the ways to provide the files by hand
    assert_empty(dest)
    download_mnist(dest, mirrors=[server.url + "good"], timeout=TIMEOUT)
    assert {p.name: sha(p.read_bytes()) for p in dest.iterdir()} == {n: sha(real_gz[n]) for n in NAMES}


@pytest.mark.mnist
def test_falls_back_from_bad_mirrors_to_a_good_one(server, real_gz, tmp_path):
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[closed_port_url(), server.url + "corrupt", server.url + "good"], timeout=TIMEOUT)
    assert {p.name: sha(p.read_bytes()) for p in dest.iterdir()} == {n: sha(real_gz[n]) for n in NAMES}
    mine = [r for r in server.requests if r.endswith(FIRST)][-2:]
    assert mine == [f"/corrupt/{FIRST}", f"/good/{FIRST}"]  # tried in the given order


@pytest.mark.mnist
def test_mirrors_come_from_the_environment(server, real_gz, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_MIRRORS", f"{server.url}truncated {server.url}good/")
    dest = tmp_path / "dest"
    download_mnist(dest, timeout=TIMEOUT)
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)
    mine = [r for r in server.requests if r.endswith(NAMES[-1])][-2:]
    assert mine == [f"/truncated/{NAMES[-1]}", f"/good/{NAMES[-1]}"]


@pytest.mark.mnist
def test_load_mnist_downloads_into_the_cache_when_nothing_else_has_the_data(server, fresh_cache, monkeypatch):
    monkeypatch.setenv("MNIST_MIRRORS", f"{server.url}drop {server.url}good")
    (_, t), (xt, _) = load_mnist()
    assert len(t) == 60000 and xt.shape == (10000, 784)
    assert sorted(p.name for p in mnist_cache_dir().iterdir()) == sorted(NAMES)


def cli(args, env_extra, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "MNIST_MIRRORS")}
    env.update(MNIST_EXPLORER_CACHE=str(tmp_path / "cli-cache"), **env_extra)
    return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.mnist
def test_cli_download_prints_progress_and_succeeds(server, real_gz, tmp_path):
    dest = tmp_path / "dest"
    r = cli(["download", "--data-dir", str(dest)], {"MNIST_MIRRORS": server.url + "good"}, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"MNIST is ready in {dest}"
    lines = r.stderr.splitlines()
    for name in NAMES:  # each file's bar reaches 100% and ends its line
        assert any(line.rstrip().endswith("100.0%") and name[:-3] in line.split("\r")[-1] for line in lines)
    assert "Traceback" not in r.stderr
    assert {p.name: sha(p.read_bytes()) for p in dest.iterdir()} == {n: sha(real_gz[n]) for n in NAMES}


@pytest.mark.mnist
def test_cli_download_failure_is_one_error_line_and_no_file(server, tmp_path):
    dest = tmp_path / "dest"
    r = cli(["download", "--data-dir", str(dest)], {"MNIST_MIRRORS": server.url + "drop"}, tmp_path)
    assert r.returncode == 1
    errors = [line for line in r.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith(f"error: Could not download {FIRST}")
    assert r.stderr.splitlines()[-1] == errors[0]
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert_empty(dest)


# --- synthetic files: the same checks without MNIST, through the checksums= parameter ------------------------

@pytest.fixture(scope="module")
def synth_server(tmp_path_factory):
    """(server, folder, arrays, checksums) for small synthetic MNIST files."""
    folder, arrays = write_mnist(tmp_path_factory.mktemp("served"), n_train=64, n_test=16, seed=5)
    files = {name: (folder / name).read_bytes() for name in NAMES}
    # SHA-256 of the decompressed content, computed from the arrays (not from the served bytes)
    checksums = {}
    for split, (x, t) in arrays.items():
        img, lab = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte") if split == "train" else \
            ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
        checksums[img], checksums[lab] = sha(idx_bytes(x, kind="images")), sha(idx_bytes(t, kind="labels"))
    with LocalServer(broken_routes(files, FIRST)) as s:
        yield s, arrays, checksums


def test_synthetic_good_download_loads_the_served_arrays(synth_server, tmp_path, fresh_cache):
    server, arrays, checksums = synth_server
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    (x, t), (xt, tt) = load_mnist(normalize=False, data_dir=dest)
    np.testing.assert_array_equal(x, arrays["train"][0].reshape(64, 784))
    np.testing.assert_array_equal(tt, arrays["test"][1])


@pytest.mark.parametrize("variant", ["corrupt", "truncated", "drop", "missing"])
def test_synthetic_broken_mirror_leaves_nothing_then_falls_back(synth_server, tmp_path, fresh_cache, variant):
    server, _, checksums = synth_server
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match=f"^Could not download {FIRST}.*{FAILURES[variant]}"):
        download_mnist(dest, mirrors=[server.url + variant], checksums=checksums, timeout=TIMEOUT)
    assert_empty(dest)
    assert_empty(fresh_cache / "tmp")  # nor a partial file in the cache
    download_mnist(dest, mirrors=[server.url + variant, server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)


def test_synthetic_files_fail_the_real_mnist_checksums(synth_server, tmp_path):
    server, _, _ = synth_server
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="SHA-256"):
        download_mnist(dest, mirrors=[server.url + "good"], timeout=TIMEOUT)  # default: the published SHA-256 values
    assert_empty(dest)


def test_unreachable_mirrors_fail_fast_with_one_error(tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match=f"^Could not download {FIRST} from any mirror .*refused"):
        download_mnist(dest, mirrors=[closed_port_url(), closed_port_url()], timeout=TIMEOUT)
    assert_empty(dest)


def test_server_binds_loopback_only(synth_server):
    server, _, _ = synth_server
    assert server.url.startswith("http://127.0.0.1:")


# --- MNIST_DIR set: the cache is never read, so nothing is downloaded into it (issue 13, row 11) ----------------

def test_a_download_into_the_cache_is_refused_while_mnist_dir_is_set(synth_server, tmp_path, fresh_cache, monkeypatch):
    server, arrays, checksums = synth_server
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nowhere"))
    before = len(server.requests)
    with pytest.raises(DownloadError) as e:
        download_mnist(mnist_cache_dir(), mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert str(e.value) == (
        f"MNIST_DIR is set to {tmp_path / 'nowhere'}, so MNIST is read from there and never from the cache "
        f"({mnist_cache_dir()}): put the files in MNIST_DIR, or unset it and download or upload again.")
    assert len(server.requests) == before and not mnist_cache_dir().exists()  # nothing fetched, nothing written
    dest = tmp_path / "explicit"  # a folder named on purpose is still fine
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)


def test_a_download_leaves_no_temp_file_beside_the_data_or_in_the_cache(synth_server, tmp_path, fresh_cache, monkeypatch):
    server, _, checksums = synth_server
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append(Path(src))
        return real(src, dst)
    monkeypatch.setattr(os, "replace", spy)
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert len(seen) == 4 and all(p.parent == fresh_cache / "tmp" for p in seen)  # partial files live in the cache
    for p, name in zip(seen, NAMES, strict=True):  # named after this process and the file: the sweep and a reader know whose
        assert re.fullmatch(rf"{os.getpid()}\.download-{name[:-3]}\.[0-9a-f]{{12}}\.part", p.name), p.name
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)
    assert list((fresh_cache / "tmp").iterdir()) == []


# --- mirror settings, odd servers and local faults: each failure is one sentence naming the URL and the cause -------

def served_files(arrays):
    """{name.gz: gzip bytes} of the synthetic arrays, in the downloader's order."""
    stems = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"), "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    files = {}
    for split, (x, t) in arrays.items():
        files[f"{stems[split][0]}.gz"] = gzip.compress(idx_bytes(x, kind="images"))
        files[f"{stems[split][1]}.gz"] = gzip.compress(idx_bytes(t, kind="labels"))
    return {name: files[name] for name in NAMES}


class HeaderHandler(http.server.BaseHTTPRequestHandler):
    """Serves server.files by name with the Content-Length header server.length: None leaves it out, a string goes as is."""

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        body = self.server.files[self.path.rsplit("/", 1)[-1]]
        self.send_response(200)
        if self.server.length is not None:
            self.send_header("Content-Length", self.server.length)
        self.end_headers()
        self.wfile.write(body)  # HTTP/1.0: the connection closes after the body, which is how its end is known

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def header_server(files, length):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HeaderHandler)
    httpd.daemon_threads, httpd.files, httpd.length = True, files, length
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_mirrors_from_the_environment_get_a_trailing_slash_and_an_empty_list_means_the_public_ones(monkeypatch):
    monkeypatch.delenv("MNIST_MIRRORS", raising=False)
    assert engine.download.mirrors_from_env() == engine.download.MIRRORS
    monkeypatch.setenv("MNIST_MIRRORS", "  ")
    assert engine.download.mirrors_from_env() == engine.download.MIRRORS
    monkeypatch.setenv("MNIST_MIRRORS", " http://a/x  http://b/y/ ")
    assert engine.download.mirrors_from_env() == ("http://a/x/", "http://b/y/")


def test_a_mirror_given_with_its_trailing_slash_works(synth_server, tmp_path):
    server, _, checksums = synth_server
    dest = tmp_path / "dest"
    download_mnist(dest, mirrors=[server.url + "good/"], checksums=checksums, timeout=TIMEOUT)
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)


def test_a_mirror_that_sends_no_content_length_still_downloads_with_an_unknown_total(synth_server, tmp_path):
    _, arrays, checksums = synth_server
    files = served_files(arrays)
    calls = []
    with header_server(files, None) as url:
        download_mnist(tmp_path, mirrors=[url], checksums=checksums, timeout=TIMEOUT, progress=lambda *c: calls.append(c))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == files
    assert {total for _, _, total in calls} == {0}  # 0: the size is unknown, not a wrong size
    assert [max(d for s, d, _ in calls if s == name[:-3]) for name in NAMES] == [len(files[name]) for name in NAMES]


def test_a_garbled_content_length_fails_with_the_mirrors_url_and_the_cause(synth_server, tmp_path, fresh_cache):
    _, arrays, checksums = synth_server
    try:
        int("abc")
    except ValueError as e:
        cause = str(e)
    with header_server(served_files(arrays), "abc") as url, pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "dest", mirrors=[url], checksums=checksums, timeout=TIMEOUT)
    assert f"from any mirror ({url}{FIRST} failed: {cause}). Get the four files" in str(e.value)
    assert_empty(tmp_path / "dest")
    assert_empty(fresh_cache / "tmp")


def test_every_mirrors_failure_is_listed_in_one_sentence_with_the_way_out(synth_server, tmp_path):
    server, _, checksums = synth_server
    refused = closed_port_url()
    with pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "dest", mirrors=[server.url + "missing", refused], checksums=checksums, timeout=TIMEOUT)
    why = str(ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED)))  # "[Errno 111] Connection refused"
    assert str(e.value) == (
        f"Could not download {FIRST} from any mirror ({server.url}missing/{FIRST} failed: HTTP 404 Not Found | "
        f"{refused}{FIRST} failed: {why}). Get the four files ({', '.join(NAMES)}) another way, put them in a folder "
        "and set MNIST_DIR to it, then try again.")


def test_a_full_disk_names_the_cause_without_its_error_number(synth_server, tmp_path, fresh_cache, monkeypatch):
    server, _, checksums = synth_server

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(engine.download, "open", full, raising=False)  # the .part file cannot be written
    with pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "dest", mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert f"({server.url}good/{FIRST} failed: {os.strerror(errno.ENOSPC)}). Get" in str(e.value)


def test_a_mirror_serving_zlib_instead_of_gzip_is_refused(synth_server, tmp_path, fresh_cache):
    _, arrays, checksums = synth_server
    files = {name: zlib.compress(gzip.decompress(gz)) for name, gz in served_files(arrays).items()}  # the right content
    with LocalServer({f"/z/{name}": data for name, data in files.items()}) as s, pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "dest", mirrors=[s.url + "z"], checksums=checksums, timeout=TIMEOUT)
    assert f"({s.url}z/{FIRST} is not a valid gzip file). Get" in str(e.value)
    assert_empty(tmp_path / "dest")


def test_a_file_that_unpacks_beyond_the_limit_is_refused_and_one_at_the_limit_is_not(synth_server, tmp_path, monkeypatch):
    server, arrays, checksums = synth_server
    largest = len(idx_bytes(arrays["train"][0], kind="images"))  # train-images, the first and largest file
    monkeypatch.setattr(engine.download, "MAX_BYTES", largest - 1)
    with pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "a", mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert f"({server.url}good/{FIRST} unpacks to more than {largest - 1:,} bytes, far more than MNIST). Get" in str(e.value)
    assert_empty(tmp_path / "a")
    monkeypatch.setattr(engine.download, "MAX_BYTES", largest)
    download_mnist(tmp_path / "b", mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(NAMES)


def test_files_already_there_are_kept_and_only_the_missing_ones_fetched(synth_server, tmp_path):
    server, arrays, checksums = synth_server
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / FIRST).write_bytes(served_files(arrays)[FIRST])
    before = len(server.requests)
    download_mnist(dest, mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert server.requests[before:] == [f"/good/{name}" for name in NAMES[1:]]
    assert sorted(p.name for p in dest.iterdir()) == sorted(NAMES)


def test_folders_that_cannot_be_made_name_themselves_and_the_fix(synth_server, tmp_path, fresh_cache, monkeypatch):
    server, _, checksums = synth_server
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    why = os.strerror(errno.ENOTDIR)
    with pytest.raises(DownloadError) as e:
        download_mnist(blocker / "dest", mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert str(e.value) == f"Cannot create {blocker / 'dest'} ({why}): choose a writable folder with --data-dir."
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(blocker))
    with pytest.raises(DownloadError) as e:
        download_mnist(tmp_path / "dest", mirrors=[server.url + "good"], checksums=checksums, timeout=TIMEOUT)
    assert str(e.value) == f"Cannot create {blocker / 'tmp'} ({why}): point MNIST_EXPLORER_CACHE at a writable folder."


def test_fetch_with_no_room_for_its_temp_file_raises_one_download_error(synth_server, tmp_path, monkeypatch):
    server, _, checksums = synth_server
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(blocker))
    url = f"{server.url}good/{FIRST}"
    with pytest.raises(DownloadError, match=f"^{url} failed: "):
        engine.download.fetch(url, tmp_path / FIRST, FIRST[:-3], checksums=checksums, timeout=TIMEOUT, progress=None)
    assert not (tmp_path / FIRST).exists()
