"""Download the four MNIST files from public mirrors: checksummed, atomic, with a progress callback."""
import hashlib
import http.client
import os
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from . import debris
from .errors import DownloadError
from .idx import MAX_BYTES
from .mnistfiles import FILES, cache_refusal
from .paths import mnist_cache_dir

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# SHA-256 of the decompressed IDX content: a mirror that re-compresses still verifies
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
CHUNK = 64 * 1024


def mirrors_from_env():
    """Mirror base URLs: $MNIST_MIRRORS (space-separated) if set, else the public ones."""
    env = os.environ.get("MNIST_MIRRORS", "").split()
    return tuple(m if m.endswith("/") else m + "/" for m in env) or MIRRORS


def fetch(url, dest, stem, *, checksums, timeout, progress):
    """Stream url into dest atomically, hashing its decompressed content; raise DownloadError on any fault."""
    tmp = None  # in the cache's tmp folder, unique per call and named after this process: a kill leaves it to the sweep
    try:
        tmp = debris.new_path(f"download-{stem}", ".part")
        with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
            total = int(r.headers.get("Content-Length") or 0)
            sha, unzip, done, unpacked = hashlib.sha256(), zlib.decompressobj(16 + zlib.MAX_WBITS), 0, 0
            while chunk := r.read(CHUNK):
                f.write(chunk)
                data = unzip.decompress(chunk)
                sha.update(data)
                done, unpacked = done + len(chunk), unpacked + len(data)
                if unpacked > MAX_BYTES:
                    raise DownloadError(f"{url} unpacks to more than {MAX_BYTES:,} bytes, far more than MNIST.")
                if progress:
                    progress(stem, done, total)
            if total and done != total:
                raise DownloadError(f"{url} ended after {done:,} of {total:,} bytes.")
            if not unzip.eof:
                raise DownloadError(f"{url} is a truncated gzip file.")
            if sha.hexdigest() != checksums[stem]:
                raise DownloadError(f"{url} failed its SHA-256 check: the mirror served a different or corrupt file.")
            f.flush()
            os.fsync(f.fileno())
        debris.place(tmp, dest)
    except DownloadError:
        raise
    except zlib.error:
        raise DownloadError(f"{url} is not a valid gzip file.") from None
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url} failed: HTTP {e.code} {e.reason}.") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
        raise DownloadError(f"{url} failed: {reason}.") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def download_mnist(dest_dir, *, mirrors=None, progress=None, timeout=10.0, checksums=None):
    """Fetch the four .gz files into dest_dir, trying each mirror; progress(stem, done_bytes, total_bytes).

    Refuses (DownloadError) to fill the MNIST cache while $MNIST_DIR is set: nothing would ever read it.
    """
    dest_dir = Path(dest_dir)
    refusal = cache_refusal()
    if refusal and dest_dir.resolve() == mnist_cache_dir().resolve():
        raise DownloadError(refusal)
    checksums = checksums or SHA256
    mirrors = [m if m.endswith("/") else m + "/" for m in mirrors] if mirrors else mirrors_from_env()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"Cannot create {dest_dir} ({e.strerror}): choose a writable folder with --data-dir.") from None
    try:
        debris.tmp_dir().mkdir(parents=True, exist_ok=True)  # where partial files go
    except OSError as e:
        raise DownloadError(f"Cannot create {debris.tmp_dir()} ({e.strerror}): point MNIST_EXPLORER_CACHE at a writable folder.") from None
    debris.sweep(folders=[dest_dir])  # partial files of killed downloads, here and in the cache
    for stem, _ in FILES.values():
        dest = dest_dir / f"{stem}.gz"
        if dest.is_file():
            continue
        errors = []
        for base in mirrors:
            try:
                fetch(base + dest.name, dest, stem, checksums=checksums, timeout=timeout, progress=progress)
                break
            except DownloadError as e:
                errors.append(str(e))
        else:
            names = ", ".join(f"{s}.gz" for s, _ in FILES.values())
            raise DownloadError(
                f"Could not download {dest.name} from any mirror ({' | '.join(e.rstrip('.') for e in errors)}). Get the four files "
                f"({names}) another way, put them in a folder and set MNIST_DIR to it, then try again.")
    return dest_dir
