"""`download` and `info`: fetch MNIST with a progress bar; say where data and models are found."""
import os
import sys
from pathlib import Path

from ..download import download_mnist
from ..errors import EngineError
from ..mnistfiles import FILES, locate
from ..paths import cache_dir, mnist_cache_dir
from .progress import bar

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def add_parser(sub):
    p = sub.add_parser("download", help="fetch and verify the four MNIST files")
    p.add_argument("--data-dir", help=f"where to put them (default: {mnist_cache_dir()})")
    p.set_defaults(run=run_download)
    p = sub.add_parser("info", help="where data and models are found, and what is missing")
    p.set_defaults(run=run_info)


def run_download(args):
    half_drawn = []  # the bar of a file still in flight: an error must start on a fresh line after it

    def progress(stem, done, total):
        bar(stem, done, total)
        half_drawn[:] = [] if total and done >= total else [stem]
    try:
        dest = download_mnist(args.data_dir or mnist_cache_dir(), progress=progress)
    except EngineError:
        if half_drawn:
            sys.stderr.write("\n")
        raise
    print(f"MNIST is ready in {dest}")


def run_info(args):
    print(f"cache directory: {cache_dir()}")
    print(f"MNIST_DIR: {os.environ.get('MNIST_DIR') or '(not set)'}")
    try:
        folder, found = locate()
        print(f"MNIST: found in {folder}")
        for key, path in found.items():
            print(f"  {FILES[key][0]:<26} {path.name} ({path.stat().st_size:,} bytes)")
    except EngineError as e:
        print(f"MNIST: missing. {e}")
    models = sorted(MODELS_DIR.glob("*.npz"))
    print(f"models ({MODELS_DIR}): {', '.join(m.stem for m in models) or 'none'}")
    weights = os.environ.get("BOOK_WEIGHTS")
    print(f"BOOK_WEIGHTS: {weights or '(not set)'}" + ("" if not weights or Path(weights).is_file() else " (missing)"))
