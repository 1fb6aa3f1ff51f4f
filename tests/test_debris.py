"""Temporary files under the cache's tmp/ folder: named after their owner, swept once every owner is dead or too old."""
import errno
import os
import re
import shutil
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


# --- owners, liveness and what a sweep may touch ---------------------------------------------------------------

def test_every_owner_added_to_a_folder_counts(fresh_cache, sleeper):
    folder = debris.tmp_dir() / f"{dead_pid()}.train.aa"
    folder.mkdir(parents=True)
    debris.add_owner(folder, sleeper.pid)
    debris.add_owner(folder, dead_pid())  # a second owner is added, not written over the first
    assert (folder / debris.OWNERS).read_text().split()[0] == str(sleeper.pid)
    assert debris.sweep() == [] and folder.is_dir()


def test_owner_lines_that_are_not_a_positive_pid_are_ignored(fresh_cache):
    folder = debris.tmp_dir() / f"{dead_pid()}.train.bb"
    folder.mkdir(parents=True)
    (folder / debris.OWNERS).write_text("0\n-1\nabc\n\n")  # pid 0 would be "my process group": always alive
    assert debris.sweep() == [folder]


def test_an_unnamed_folder_with_a_dead_owner_inside_is_swept(fresh_cache, sleeper):
    tmp = debris.tmp_dir()
    (tmp / "no-pid-folder").mkdir(parents=True)
    debris.add_owner(tmp / "no-pid-folder", dead_pid())
    (tmp / "no-pid-live").mkdir()
    debris.add_owner(tmp / "no-pid-live", sleeper.pid)
    assert debris.sweep() == [tmp / "no-pid-folder"]


def test_a_symlink_is_removed_never_followed(fresh_cache, tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("not debris")
    (target / debris.OWNERS).write_text(f"{dead_pid()}\n")
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    link = tmp / f"{dead_pid()}.link.aa"
    link.symlink_to(target)
    assert debris.sweep() == [link]
    assert not os.path.lexists(link) and (target / "keep.txt").read_text() == "not debris"


def test_a_young_item_of_a_live_owner_stays_at_any_age_limit_above_its_age(fresh_cache, sleeper):
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    item = tmp / f"{sleeper.pid}.part.aa"
    item.write_text("x")
    t = time.time() - 100
    os.utime(item, (t, t))
    assert debris.sweep(max_age=1000) == []
    assert debris.sweep(max_age=50) == [item]


def test_an_item_that_cannot_be_removed_is_not_reported(fresh_cache, monkeypatch):
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    (tmp / f"{dead_pid()}.cache.aa").write_text("x")

    def refuse(self, missing_ok=False):
        raise PermissionError(errno.EACCES, "read-only cache")
    monkeypatch.setattr(debris.Path, "unlink", refuse)
    assert debris.sweep() == []


def test_alive_tells_live_dead_zombie_and_impossible_pids(sleeper, monkeypatch):
    assert debris.alive(os.getpid()) and debris.alive(sleeper.pid)
    assert not debris.alive(dead_pid())
    assert not debris.alive(2 ** 80)  # too large for the system call
    if not hasattr(os, "waitid") or not os.path.isdir("/proc"):
        pytest.skip("no waitid or /proc to make and see a zombie")
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, zombie.pid, os.WEXITED | os.WNOWAIT)  # wait for its end without reaping it
    assert not debris.alive(zombie.pid)  # ended, not yet reaped: a zombie
    zombie.wait()


def test_alive_trusts_kill_when_it_cannot_look_further(monkeypatch):
    def denied(pid, sig):
        raise PermissionError(errno.EPERM, "another user's process")
    monkeypatch.setattr(debris.os, "kill", denied)
    assert debris.alive(12345)
    monkeypatch.setattr(debris.os, "kill", lambda pid, sig: None)
    monkeypatch.setattr(debris.Path, "read_text", lambda self: (_ for _ in ()).throw(FileNotFoundError()))
    assert debris.alive(12345)  # no /proc (macOS): kill's answer stands


def test_place_passes_on_errors_other_than_another_file_system(fresh_cache, tmp_path, monkeypatch):
    tmp = debris.new_path("write")
    tmp.write_bytes(b"x")

    def denied(src, dst):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(debris.os, "replace", denied)
    with pytest.raises(OSError, match="Permission denied"):
        debris.place(tmp, tmp_path / "dest")


def test_new_path_makes_the_cache_folders_it_needs(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "a" / "b"))
    path = debris.new_path("x")
    assert path.parent == tmp_path / "a" / "b" / "tmp" and path.parent.is_dir()


def test_temp_names_are_pid_label_and_twelve_hex_digits(fresh_cache, monkeypatch):
    pid = os.getpid()
    assert re.fullmatch(rf"{pid}\.train\.[0-9a-f]{{12}}", debris.make_dir("train").name)
    assert re.fullmatch(rf"{pid}\.cache\.[0-9a-f]{{12}}\.npy", debris.new_path("cache", ".npy").name)
    seen = []
    real_fsync = os.fsync

    def look(fd):  # mid-write: the temp file is in tmp/ under this process's name
        seen.extend(p.name for p in debris.tmp_dir().iterdir())
        real_fsync(fd)
    monkeypatch.setattr(debris.os, "fsync", look)
    debris.write_atomic(fresh_cache / "out.bin", b"x")
    assert len([n for n in seen if re.fullmatch(rf"{pid}\.write\.[0-9a-f]{{12}}\.part", n)]) == 1, seen


def test_write_atomic_makes_missing_parent_folders(fresh_cache, tmp_path):
    dest = tmp_path / "a" / "b" / "c" / "m.json"
    debris.write_atomic(dest, b"{}")
    assert dest.read_bytes() == b"{}"


def test_a_live_process_whose_name_holds_a_parenthesis_and_z_is_alive():
    # /proc/PID/stat is "PID (NAME) STATE ...": a name may itself hold ") Z", so the state is read after the last ")"
    code = "open('/proc/self/comm', 'w').write(') Z Z'); print('ready', flush=True); import sys; sys.stdin.read()"
    if not os.path.isdir("/proc"):
        pytest.skip("no /proc")
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        assert ") Z Z)" in open(f"/proc/{p.pid}/stat").read()
        assert debris.alive(p.pid)
    finally:
        p.stdin.close()
        p.wait()


@pytest.mark.parametrize("state, alive", [("S", True), ("R", True), ("Z", False), ("X", False)])
def test_the_kernels_process_state_decides(monkeypatch, state, alive):
    monkeypatch.setattr(debris.os, "kill", lambda pid, sig: None)
    monkeypatch.setattr(debris.Path, "read_text", lambda self: f"4242 (worker) {state} 1 4242 4242 0 -1")
    assert debris.alive(4242) is alive


def test_a_symlink_never_lends_its_target_s_owners(fresh_cache, tmp_path, sleeper):
    target = tmp_path / "somewhere"
    target.mkdir()
    (target / debris.OWNERS).write_text(f"{sleeper.pid}\n")  # alive: would keep the link if the target were read
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    link = tmp / f"{dead_pid()}.link.bb"
    link.symlink_to(target)
    assert debris.sweep() == [link] and target.is_dir()


def test_pid_1_is_an_owner_like_any_other(fresh_cache):
    folder = debris.tmp_dir() / f"{dead_pid()}.train.cc"
    folder.mkdir(parents=True)
    debris.add_owner(folder, 1)  # init: always alive
    assert debris.sweep() == [] and folder.is_dir()


def test_an_item_gone_before_it_is_looked_at_is_not_reported(fresh_cache, monkeypatch):
    tmp = debris.tmp_dir()
    tmp.mkdir(parents=True)
    item = tmp / f"{dead_pid()}.cache.dd"
    item.write_text("x")
    real = debris.Path.lstat

    def vanished(self, *a, **k):  # another server swept it between our listing and our look
        if self.name == item.name:
            raise FileNotFoundError(errno.ENOENT, "gone")
        return real(self, *a, **k)
    monkeypatch.setattr(debris.Path, "lstat", vanished)
    assert debris.sweep() == []


def test_a_folder_another_server_removes_first_is_no_error(fresh_cache, monkeypatch):
    folder = debris.tmp_dir() / f"{dead_pid()}.train.ee"
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text("{}")
    real = shutil.rmtree

    def raced(path, **kw):  # the other server's rmtree ran first
        real(path)
        real(path, **kw)
    monkeypatch.setattr(debris.shutil, "rmtree", raced)
    assert debris.sweep() == [folder] and not folder.exists()
