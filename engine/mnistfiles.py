"""The four MNIST files: their names, and which folder the engine reads them from (data_dir, $MNIST_DIR or the cache)."""
import os
from pathlib import Path

from .errors import MnistNotFoundError
from .paths import mnist_cache_dir

# key -> (standard stem, kind); the files are found under either common naming
FILES = {
    "train_img": ("train-images-idx3-ubyte", "images"),
    "train_label": ("train-labels-idx1-ubyte", "labels"),
    "test_img": ("t10k-images-idx3-ubyte", "images"),
    "test_label": ("t10k-labels-idx1-ubyte", "labels"),
}


def candidates(stem):
    """File names a stem may go by: 'train-images-idx3-ubyte' also as 'train-images.idx3-ubyte', each gz or raw."""
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def find_files(folder):
    """Map each key of FILES to its path in folder, or None where it is missing."""
    folder = Path(folder)
    found = {}
    for key, (stem, _) in FILES.items():
        found[key] = next((folder / c for c in candidates(stem) if (folder / c).is_file()), None)
    return found


def _missing_names(found):
    return ", ".join(FILES[k][0] + ".gz" for k, p in found.items() if p is None)


def _named_folder_problem(folder, origin):
    """The sentence saying why a folder named by data_dir or MNIST_DIR cannot be read, or None if it holds all four files."""
    folder = Path(folder)
    if origin == "MNIST_DIR":
        fix = f"fix MNIST_DIR or unset it to use the cache ({mnist_cache_dir()})."
        if not folder.exists():
            return f"MNIST_DIR points to {folder}, which does not exist: {fix}"
        if not folder.is_dir():
            return f"MNIST_DIR points to {folder}, which is a file, not a folder: {fix}"
        found = find_files(folder)
        if None in found.values():
            them = "it" if list(found.values()).count(None) == 1 else "them"
            return f"MNIST_DIR points to {folder}, which is missing {_missing_names(found)}: put {them} there, or {fix}"
        return None
    found = find_files(folder)
    if None in found.values():
        return (f"MNIST is incomplete in {folder} (data_dir): missing {_missing_names(found)}. Put the four files there "
                f"or run `python -m engine download --data-dir {folder}`.")
    return None


def locate(data_dir=None):
    """Return (folder, files) from data_dir, else $MNIST_DIR, else the user cache; raise MnistNotFoundError."""
    for folder, origin in ((data_dir, "data_dir"), (os.environ.get("MNIST_DIR"), "MNIST_DIR")):
        if folder:
            problem = _named_folder_problem(folder, origin)
            if problem:
                raise MnistNotFoundError(problem)  # never a silent fallback to the cache
            return Path(folder), find_files(folder)
    folder = mnist_cache_dir()
    found = find_files(folder)
    if None in found.values():
        raise MnistNotFoundError(
            "MNIST was not found: the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
            "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz are needed. Put them in a folder and set "
            f"MNIST_DIR to it, or run `python -m engine download` to fetch them into {folder}.")
    return folder, found


def source_problem():
    """None when $MNIST_DIR is unset or holds the four files; else the sentence saying what is wrong with it and the fix."""
    folder = os.environ.get("MNIST_DIR")
    return _named_folder_problem(folder, "MNIST_DIR") if folder else None


def cache_refusal():
    """Why nothing may be downloaded or uploaded into the MNIST cache now ($MNIST_DIR is set, so the cache is never read), or None."""
    folder = os.environ.get("MNIST_DIR")
    if not folder or Path(folder).resolve() == mnist_cache_dir().resolve():
        return None
    return (f"MNIST_DIR is set to {folder}, so MNIST is read from there and never from the cache ({mnist_cache_dir()}): "
            "put the files in MNIST_DIR, or unset it and download or upload again.")


def writable_cache():
    """The MNIST cache folder, for a download or an upload; raises MnistNotFoundError when $MNIST_DIR hides it."""
    refusal = cache_refusal()
    if refusal:
        raise MnistNotFoundError(refusal)
    return mnist_cache_dir()
