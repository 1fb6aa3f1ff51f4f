"""Temporary files under the cache's tmp/ folder: named after their owner, swept once every owner is dead or too old."""
import errno
import os
import subprocess
import sys
import time

import pytest

from engine import debris
from engine.paths import cache_dir, mnist_cache_dir, parsed_cache_dir


def dead_pid():
    """The pid of a process that has ended and been reaped."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def sleeper():
    """A live process of ours, killed afterwards."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield p
    p.kill()
    p.wait()


def names(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_temp_items_live_in_the_cache_tmp_folder_under_their_owner_pid(fresh_cache):
    path = debris.new_path("cache", ".npy")
    assert debris.tmp_dir() == fresh_cache / "tmp" and path.parent == debris.tmp_dir()
    assert path.name.startswith(f"{os.getpid()}.cache.") and path.name.endswith(".npy") and not path.exists()
    assert debris.new_path("cache", ".npy") != path  # unique per call: threads of one process never share one
    folder = debris.make_dir("train")
    assert folder.is_dir() and folder.name.startswith(f"{os.getpid()}.train.") and folder.stat().st_mode & 0o777 == 0o700


def test_sweep_removes_the_items_of_dead_processes_and_keeps_those_of_live_ones(fresh_cache, sleeper):
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    dead = dead_pid()
    (tmp / f"{dead}.cache.ab12.npy").write_bytes(b"x" * 1000)
    (tmp / f"{dead}.train.cd34").mkdir()
    (tmp / f"{dead}.train.cd34" / "spec.json").write_text("{}")
    (tmp / f"{sleeper.pid}.part.ef56").write_bytes(b"in progress")
    mine = debris.new_path("upload", ".part")
    mine.write_bytes(b"mine")
    (tmp / "no-pid-here").write_text("unknown owner, young")
    removed = debris.sweep()
    assert sorted(p.name for p in removed) == sorted([f"{dead}.cache.ab12.npy", f"{dead}.train.cd34"])
    assert names(tmp) == sorted([f"{sleeper.pid}.part.ef56", mine.name, "no-pid-here"])
    assert debris.sweep() == []  # nothing more to do


def test_sweep_removes_items_older_than_max_age_whoever_owns_them(fresh_cache, sleeper):
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    old = time.time() - debris.MAX_AGE - 60
    for name in (f"{sleeper.pid}.part.aa", "no-pid-here"):  # a live pid may be an unrelated process that reused it
        (tmp / name).write_text("old")
        os.utime(tmp / name, (old, old))
    (tmp / f"{sleeper.pid}.part.bb").write_text("young")
    assert sorted(p.name for p in debris.sweep()) == sorted([f"{sleeper.pid}.part.aa", "no-pid-here"])
    assert names(tmp) == [f"{sleeper.pid}.part.bb"]


def test_a_folder_stays_while_any_owner_listed_inside_it_lives(fresh_cache, sleeper):
    # a training folder: made by the server, written by its child, which outlives a killed server by a batch
    folder = debris.tmp_dir() / f"{dead_pid()}.train.aa"
    folder.mkdir(parents=True)
    debris.add_owner(folder, sleeper.pid)
    assert debris.sweep() == [] and folder.is_dir()
    sleeper.kill()
    sleeper.wait()
    assert debris.sweep() == [folder] and not folder.exists()


def test_sweep_when_exiting_also_removes_this_process_items(fresh_cache, sleeper):
    mine, theirs = debris.new_path("cache"), debris.tmp_dir() / f"{sleeper.pid}.cache.aa"
    mine.write_text("mine")
    theirs.write_text("theirs")
    assert debris.sweep() == []
    assert debris.sweep(exiting=True) == [mine]
    assert names(debris.tmp_dir()) == [theirs.name]


def test_sweep_removes_old_style_temp_files_of_dead_processes_beside_the_data(fresh_cache, tmp_path, sleeper):
    dead = dead_pid()
    models = tmp_path / "models"
    legacy = {  # folder -> (debris the old code left, files that must stay)
        mnist_cache_dir(): ([f".train-images-idx3-ubyte.gz.{dead}.139872.part", f".t10k-labels-idx1-ubyte.gz.{dead}.7f3a2b.part"],
                            ["train-images-idx3-ubyte.gz", f".t10k-images-idx3-ubyte.gz.{sleeper.pid}.1.part", ".hidden"]),
        parsed_cache_dir(): ([f"t10k-images-idx3-ubyte.gz.0123abcd4567ef89.{dead}.140.npy.tmp",
                              f"t10k-images-idx3-ubyte.gz.0123abcd4567ef89.{dead}.140.json.tmp"],
                             ["t10k-images-idx3-ubyte.gz.0123abcd4567ef89.npy"]),
        models: ([f".m.npz.{dead}.140.tmp", f".m.json.{dead}.140.tmp"], ["m.npz", "m.json", f"notes.{dead}.2.tmp"]),
    }
    for folder, (junk, keep) in legacy.items():
        folder.mkdir(parents=True, exist_ok=True)
        for name in junk + keep:
            (folder / name).write_bytes(b"x")
    removed = debris.sweep(folders=[models])
    assert sorted(removed) == sorted(folder / n for folder, (junk, _) in legacy.items() for n in junk)
    for folder, (_, keep) in legacy.items():
        assert names(folder) == sorted(keep)


def test_sweep_of_a_missing_or_unusable_cache_is_harmless(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "nowhere"))
    assert debris.sweep(folders=[tmp_path / "also-nowhere"]) == []
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(blocker))
    assert debris.sweep() == []
    assert not (tmp_path / "nowhere").exists()


# --- atomic writes (uploads) ----------------------------------------------------------------------------------

def test_write_atomic_writes_the_bytes_and_leaves_no_temp_file(fresh_cache, tmp_path):
    dest = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    assert debris.write_atomic(dest, b"new bytes") == dest
    assert dest.read_bytes() == b"new bytes"
    assert names(dest.parent) == [dest.name] and names(debris.tmp_dir()) == []


def test_write_atomic_failing_midway_keeps_the_old_file_and_leaves_no_temp(fresh_cache, tmp_path, monkeypatch):
    dest = tmp_path / "train-labels-idx1-ubyte.gz"
    dest.write_bytes(b"old bytes")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(debris.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        debris.write_atomic(dest, b"new bytes")
    assert dest.read_bytes() == b"old bytes"
    assert names(tmp_path) == sorted([dest.name, "cache"]) and names(debris.tmp_dir()) == []


def test_write_atomic_into_another_file_system_still_replaces_in_one_step(fresh_cache, tmp_path, monkeypatch):
    dest = tmp_path / "elsewhere" / "m.npz"
    dest.parent.mkdir()
    dest.write_bytes(b"old")
    real, calls = os.replace, []

    def replace(src, dst):  # a rename out of the cache's file system fails with EXDEV, as on a real mount
        calls.append(os.fspath(src))
        if os.fspath(src).startswith(str(cache_dir())):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real(src, dst)
    monkeypatch.setattr(debris.os, "replace", replace)
    debris.write_atomic(dest, b"new")
    assert dest.read_bytes() == b"new" and names(dest.parent) == ["m.npz"] and names(debris.tmp_dir()) == []
    assert len(calls) == 2 and calls[1].startswith(str(dest.parent / ".m.npz."))  # a hidden temp beside it, renamed
