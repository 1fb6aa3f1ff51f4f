"""Time to get all 70,000 MNIST images into memory: gunzip + parse vs the engine's parsed-array cache.

Run by hand from the repo root:  MNIST_DIR=... python3 -m benchmarks.bench_load [--repeats 7]
A private, temporary cache directory is used and removed at the end; the user's cache is never touched.
"Cold" means the parsed cache is cleared before each run; the .gz files themselves sit in the OS page cache
after the first run, so disk speed is not measured, only gunzip, validation and parsing.
"""
import argparse
import gzip
import os
import shutil
import statistics
import tempfile
import time

import numpy as np

from engine.data import FILES, load_mnist, load_raw, locate
from engine.idx import read_idx
from engine.paths import parsed_cache_dir
from engine.timing import load_average


def book_style(found):
    """The book's dataset/mnist.py way: gzip.open + np.frombuffer, no validation at all."""
    out = {}
    for key, path in found.items():
        offset = 16 if FILES[key][1] == "images" else 8
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            out[key] = np.frombuffer(f.read(), np.uint8, offset=offset)
    return out


def book_normalized(found):
    """The book's load_mnist(normalize=True) from the .gz files: book_style, then astype(float32) and /= 255 in place.

    Its warm path, from the mnist.pkl it pickles on first use, is not timed here: the project unpickles nothing outside
    its restricted loader (docs/benchmarks.md gives a one-off figure)."""
    out = book_style(found)
    for key in ("train_img", "test_img"):
        out[key] = out[key].astype(np.float32)
        out[key] /= 255.0
    return out


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default $MNIST_DIR)")
    ap.add_argument("--repeats", type=int, default=7, help="runs per row; the median is shown")
    args = ap.parse_args()
    private = tempfile.mkdtemp(prefix="mnist-bench-cache-")
    os.environ["MNIST_EXPLORER_CACHE"] = private
    try:
        folder, found = locate(args.data_dir)

        def cold():
            shutil.rmtree(parsed_cache_dir(), ignore_errors=True)
            load_raw(folder)

        rows = {
            "book style: gunzip + np.frombuffer (no checks)": lambda: book_style(found),
            "engine: gunzip + validate + parse (read_idx x4)": lambda: [read_idx(p, kind=FILES[k][1]) for k, p in found.items()],
            "engine load_raw, cold (parse + write cache)": cold,
            "engine load_raw, cached (.npy + checksum)": lambda: load_raw(folder),
            "book load_mnist(normalize=True): gz + /= 255": lambda: book_normalized(found),
            "engine load_mnist(normalize=True), cached": lambda: load_mnist(data_dir=folder),
        }
        load_raw(folder)  # warm the OS page cache and the parsed cache once
        load_before = load_average()
        times = {name: [] for name in rows}
        names = list(rows)
        for r in range(args.repeats):  # interleaved, in rotating order: a burst of load elsewhere hits every row alike
            for name in names[r % len(names):] + names[:r % len(names)]:
                if "cached" in name:
                    load_raw(folder)  # make sure the cache is there after a cold row cleared it
                times[name].append(timed(rows[name]))
        n = sum(len(load_raw(folder)[k]) for k in ("train_img", "test_img"))
        print(f"{n:,} images from {folder}; median of {args.repeats} runs (min-max); {time.strftime('%Y-%m-%d %H:%M')}, "
              f"load average {load_before} before, {load_average()} after (1, 5, 15 min)\n")
        print(f"| {'what':<50} | {'median ms':>9} | {'range ms':>13} |")
        print(f"|{'-' * 52}|{'-' * 11}|{'-' * 15}|")
        for name, ts in times.items():
            ms = [t * 1000 for t in ts]
            print(f"| {name:<50} | {statistics.median(ms):>9.1f} | {min(ms):>5.1f} - {max(ms):>5.1f} |")
        cold_ms = statistics.median(times["engine load_raw, cold (parse + write cache)"]) * 1000
        warm_ms = statistics.median(times["engine load_raw, cached (.npy + checksum)"]) * 1000
        print(f"\ncached load is {cold_ms / warm_ms:.1f}x faster than a cold load")
        book, engine = times["book load_mnist(normalize=True): gz + /= 255"], times["engine load_mnist(normalize=True), cached"]
        ratio = statistics.median(b / e for b, e in zip(book, engine, strict=True))
        print(f"load_mnist(normalize=True): the engine is {ratio:.2f}x as fast as the book's from its .gz files "
              "(median of paired ratios; target >= 1.0x)")
    finally:
        shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    main()
