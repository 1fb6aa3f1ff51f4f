"""Images/s over the 10k test set vs batch size: engine MLP.predict, the book's own code, and PyTorch CPU.

Run by hand from the repo root:  MNIST_DIR=... BOOK_WEIGHTS=... python3 -m benchmarks.bench_inference [--repeats 11]
The three are interleaved per batch size and repeated; the table shows median images/s and, as speed-ups, the
median over repeats of the engine's time against the other implementation's, measured back to back in one run.
"""
import argparse
import ctypes
import glob
import os
import statistics
import time

import numpy as np

from engine.data import load_raw
from engine.modelfile import load_model

BATCH_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
PAUSE = 0.05  # seconds between runs: torch's OpenMP threads spin on after a call and would slow whatever runs next
TORCH_MISSING = "torch is not installed: skipping the PyTorch column (pip install torch==2.13.0)"


def numpy_threads():
    """Threads numpy's BLAS uses: asked of OpenBLAS itself, else its env variable, else the core count."""
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libscipy_openblas*"))
    for lib in libs:
        for sym in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
            fn = getattr(ctypes.CDLL(lib), sym, None)
            if fn is not None:
                return int(fn())
    return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS") or os.cpu_count())


# the book's common/functions.py, verbatim in behaviour
def book_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def book_softmax(x):
    if x.ndim == 2:
        x = x.T
        x = x - np.max(x, axis=0)
        y = np.exp(x) / np.sum(np.exp(x), axis=0)
        return y.T
    x = x - np.max(x)
    return np.exp(x) / np.sum(np.exp(x))


def book_predict(network, x):
    W1, W2, W3 = network["W1"], network["W2"], network["W3"]
    b1, b2, b3 = network["b1"], network["b2"], network["b3"]
    a1 = np.dot(x, W1) + b1
    z1 = book_sigmoid(a1)
    a2 = np.dot(z1, W2) + b2
    z2 = book_sigmoid(a2)
    a3 = np.dot(z2, W3) + b3
    return book_softmax(a3)


def run_book(network, x, batch_size):
    """The seed's batch loop on input normalized once: labels (n,)."""
    out = np.empty(len(x), dtype=np.int64)
    for i in range(0, len(x), batch_size):
        out[i:i + batch_size] = np.argmax(book_predict(network, x[i:i + batch_size]), axis=1)
    return out


def torch_runner(params, threads):
    """A function (x_float32, batch_size) -> labels using PyTorch CPU on the same weights, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    W = [torch.from_numpy(params[f"W{i}"]) for i in (1, 2, 3)]
    b = [torch.from_numpy(params[f"b{i}"]) for i in (1, 2, 3)]

    def run(x, batch_size):
        xt = torch.from_numpy(x)
        out = torch.empty(len(x), dtype=torch.int64)
        with torch.inference_mode():
            for i in range(0, len(x), batch_size):
                h = torch.sigmoid(torch.addmm(b[0], xt[i:i + batch_size], W[0]))
                h = torch.sigmoid(torch.addmm(b[1], h, W[1]))
                out[i:i + batch_size] = torch.addmm(b[2], h, W[2]).argmax(dim=1)
        return out.numpy()
    return run


def measure(fn):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    y = fn()
    return time.perf_counter() - start, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=os.environ.get("BOOK_WEIGHTS"), help="weights file (default $BOOK_WEIGHTS)")
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default $MNIST_DIR, then the cache)")
    ap.add_argument("--repeats", type=int, default=11, help="runs per implementation and batch size; the median is shown")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=BATCH_SIZES)
    ap.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when it is installed")
    args = ap.parse_args()
    if not args.weights:
        raise SystemExit("error: give --weights or set BOOK_WEIGHTS to the book's sample_weight.pkl.")

    model = load_model(args.weights)
    raw = load_raw(args.data_dir)
    x_u8, t = raw["test_img"].reshape(-1, 784), raw["test_label"]  # (10000, 784) uint8, the engine's input
    x_f = x_u8.astype(np.float32) / np.float32(255.0)  # the book's input, normalized once, not timed
    network = dict(model.params)
    threads = numpy_threads()
    impls = {"engine": lambda bs: model.predict(x_u8, batch_size=bs), "book": lambda bs: run_book(network, x_f, bs)}
    torch_run = None if args.no_torch else torch_runner(network, threads)
    if args.no_torch:
        print("PyTorch left out (--no-torch)")
    elif torch_run is None:
        print(TORCH_MISSING)
    else:
        import torch
        impls["torch"] = lambda bs: torch_run(x_f, bs)
        print(f"torch {torch.__version__}, torch.set_num_threads({threads})")
    print(f"numpy {np.__version__}, BLAS threads {threads}; {len(x_u8):,} test images, median of {args.repeats} runs, "
          "implementations interleaved\n")

    for name, fn in impls.items():  # warm up, and check every implementation gives the same labels
        acc = float(np.mean(fn(100) == t))
        print(f"{name:<7} accuracy {acc}")
    print()
    others = [n for n in impls if n != "engine"]
    head = f"{'batch':>6} | " + " | ".join(f"{n + ' img/s':>13}" for n in impls)
    head += "".join(f" | engine/{n} | best-of" for n in others)
    print(head)
    print("-" * len(head))
    names = list(impls)
    for bs in args.batch_sizes:
        times = {n: [] for n in names}
        for r in range(args.repeats):
            for n in names[r % len(names):] + names[:r % len(names)]:  # rotate the order so no one always goes first
                times[n].append(measure(lambda n=n, bs=bs: impls[n](bs))[0])
                time.sleep(PAUSE)
        rate = {n: len(x_u8) / statistics.median(times[n]) for n in names}
        # speed-up over each other implementation: the median of the ratios of runs made back to back, which
        # a burst of load from another process spoils far less than a ratio of two separately taken medians
        # 'best-of' compares the fastest runs (timeit's view: slower runs are other processes' doing)
        row = f"{bs:>6} | " + " | ".join(f"{rate[n]:>13,.0f}" for n in names)
        for n in others:
            paired = statistics.median(o / e for e, o in zip(times["engine"], times[n], strict=True))
            row += f" | {paired:>{len(n) + 6}.2f}x | {min(times[n]) / min(times['engine']):>6.2f}x"
        print(row, flush=True)


if __name__ == "__main__":
    main()
