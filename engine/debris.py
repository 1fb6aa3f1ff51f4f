"""Temporary files and folders: kept in the cache's tmp/ folder, named after their owner, swept once the owner is dead.

A process killed with SIGKILL cannot clean up after itself. So every temporary item the engine makes (a training folder,
a cache file or a download being written, an upload being stored) lives in cache_dir()/tmp/ as `{pid}.{label}.{random}`,
and sweep() removes the items whose owners are all dead, or that are older than MAX_AGE (the pid may have been reused).
Several servers may share one cache: the items of a live process stay.
"""
import errno
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path

from .paths import cache_dir, mnist_cache_dir, parsed_cache_dir

MAX_AGE = 7 * 24 * 3600  # seconds; no training run, download or upload lasts a week
OWNERS = "owners"  # a folder may name more owner pids in this file, one a line (a training folder: its child process)
OWNED = re.compile(r"^(\d+)\.")  # tmp_dir() items: the owner's pid first
# temp names of earlier versions, and of writers that keep their temp file beside the target (model saves, uploads):
# hidden '.NAME.PID.ID.part|tmp' beside the data, and 'NAME.KEY.PID.TID.npy|json.tmp' in the parsed cache
BESIDE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]+\.(?:part|tmp)$")
PARSED = re.compile(r"^.+\.(\d+)\.\d+\.(?:npy|json)\.tmp$")


def tmp_dir():
    """The folder of every temporary item: cache_dir()/tmp."""
    return cache_dir() / "tmp"


def new_path(label, suffix=""):
    """A fresh path in tmp_dir() owned by this process (not created yet); makes the folder if needed."""
    folder = tmp_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{os.getpid()}.{label}.{secrets.token_hex(6)}{suffix}"


def make_dir(label):
    """A new private folder (mode 0700) in tmp_dir(), owned by this process."""
    path = new_path(label)
    path.mkdir(mode=0o700)
    return path


def add_owner(folder, pid):
    """Keep folder through sweeps while process pid lives too (a child writing into it outlives a killed parent)."""
    with open(Path(folder) / OWNERS, "a", encoding="utf-8") as f:
        f.write(f"{pid}\n")


def place(tmp, dest):
    """Move a finished temp file onto dest in one step; across file systems, through a hidden temp file beside dest."""
    try:
        os.replace(tmp, dest)
        return dest
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
    near = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # a BESIDE name: swept if we die
    try:
        with open(tmp, "rb") as src, open(near, "wb") as f:
            shutil.copyfileobj(src, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(near, dest)
    finally:
        near.unlink(missing_ok=True)
        Path(tmp).unlink(missing_ok=True)
    return dest


def write_atomic(dest, data):
    """Write bytes so dest holds its old content or all of data, never a part (temp in tmp_dir(), fsync, replace); returns dest."""
    dest = Path(dest)
    tmp = new_path("write", ".part")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        dest.parent.mkdir(parents=True, exist_ok=True)
        return place(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def alive(pid):
    """Whether process pid runs (a zombie, ended but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    except (OverflowError, ValueError):
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill's answer stands


def _owners(item, match):
    pids = {int(match.group(1))} if match else set()
    if item.is_dir() and not item.is_symlink():
        try:
            pids |= {int(line) for line in (item / OWNERS).read_text().split() if line.isdigit()}
        except OSError:
            pass  # no second owner
    return {p for p in pids if p > 0}


def _stale(item, owners, *, exiting, max_age):
    try:
        if time.time() - item.lstat().st_mtime > max_age:
            return True
    except OSError:
        return False  # gone already
    me = os.getpid()
    return bool(owners) and not any(alive(p) if p != me else not exiting for p in owners)


def _remove(item):
    if item.is_dir() and not item.is_symlink():
        shutil.rmtree(item, ignore_errors=True)
    else:
        try:
            item.unlink(missing_ok=True)
        except OSError:
            pass  # another user's file, or a read-only cache: left for its owner
    return not os.path.lexists(item)


def sweep(*, folders=(), exiting=False, max_age=MAX_AGE):
    """Remove the temporary items whose owners are all dead or that are older than max_age seconds; return their paths.

    Looks in tmp_dir(), and for older-style temp names in the MNIST and parsed caches and in `folders` (say, a models
    folder). exiting=True counts this process as dead too: call it so at exit, when its own items are no longer in use.
    """
    removed = []
    places = [(tmp_dir(), OWNED), (mnist_cache_dir(), BESIDE), (parsed_cache_dir(), PARSED), *((Path(f), BESIDE) for f in folders)]
    for folder, pattern in places:
        try:
            items = sorted(folder.iterdir())
        except OSError:
            continue  # no such folder (nothing to sweep), or not a folder
        for item in items:
            match = pattern.match(item.name)
            if (match or pattern is OWNED) and _stale(item, _owners(item, match), exiting=exiting, max_age=max_age) \
                    and _remove(item):
                removed.append(item)
    return removed
