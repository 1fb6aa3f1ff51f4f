"""Inference speed side by side: engine MLP.predict, the book's own code, PyTorch and ONNX Runtime, on the 10k test set.

Run by hand from the repo root:
    MNIST_DIR=... BOOK_WEIGHTS=... python3 -m benchmarks.bench_inference [--threads 1] [--repeats 11]
PyTorch and ONNX Runtime join when installed (pip install -r requirements-bench.txt). All contenders run
interleaved, in rotating order, `--repeats` rounds per row; the tables give median images/s (wall clock) and,
as speed-ups, the median over rounds of the other's time over the engine's, measured back to back, both in wall
time and in process CPU time (which a busy neighbour disturbs far less). BLAS threads are fixed before numpy
loads, and torch and ONNX Runtime get the same count.
"""
import argparse
import os
import sys


def parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_inference", description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch / onnxruntime threads for every contender (default 1)")
    p.add_argument("--repeats", type=int, default=11, help="interleaved rounds per row, at least 5 (default 11)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000, 10000], metavar="N")
    p.add_argument("--one-image", type=int, default=2000, metavar="N", help="images for the one-image-per-call loops (0: skip)")
    p.add_argument("--weights", default=os.environ.get("BOOK_WEIGHTS"), help="weights file (default $BOOK_WEIGHTS)")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when it is installed")
    p.add_argument("--no-onnx", action="store_true", help="leave ONNX Runtime out even when it is installed")
    return p.parse_args(argv)


ARGS = parse(sys.argv[1:])
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # must precede the first numpy import to take effect

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import runtimes  # noqa: E402
from engine.book import predict_verbatim  # noqa: E402
from engine.data import load_raw  # noqa: E402
from engine.modelfile import load_model  # noqa: E402
from engine.timing import blas_info, load_average, machine_info  # noqa: E402

PAUSE = 0.05  # seconds between runs with several threads: torch's OpenMP threads spin on after a call


def book_batches(network, x, batch_size):
    """The seed's batch loop, verbatim (the book's sigmoid and softmax): labels (n,)."""
    out = np.empty(len(x), dtype=np.int64)
    with np.errstate(over="ignore"):
        for i in range(0, len(x), batch_size):
            out[i:i + batch_size] = np.argmax(predict_verbatim(network, x[i:i + batch_size]), axis=1)
    return out


def book_one(network, x):
    """The seed's non-batch loop, verbatim: predict(network, x[i]) and argmax, one image per call."""
    with np.errstate(over="ignore"):
        for i in range(len(x)):
            np.argmax(predict_verbatim(network, x[i]))


def interleave(impls, repeats):
    """{name: (wall seconds list, cpu seconds list)}: every round runs every contender once, in rotating order."""
    names, times = list(impls), {n: ([], []) for n in impls}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            impls[n]()
            times[n][0].append(time.perf_counter() - wall)
            times[n][1].append(time.process_time() - cpu)
            if ARGS.threads > 1:
                time.sleep(PAUSE)
    return times


def table(title, impls, n_images, repeats):
    """Run impls interleaved and print one line per contender: images/s and the engine's paired speed-up over it."""
    times = interleave(impls, repeats)
    base = times["engine"]
    print(f"\n{title}")
    print(f"{'contender':<22} {'images/s':>11} {'engine faster (wall)':>21} {'(cpu time)':>11}")
    for name, (wall, cpu) in times.items():
        paired = statistics.median(o / e for e, o in zip(base[0], wall, strict=True))
        paired_cpu = statistics.median(o / e for e, o in zip(base[1], cpu, strict=True))
        print(f"{name:<22} {n_images / statistics.median(wall):>11,.0f} {paired:>20.2f}x {paired_cpu:>10.2f}x", flush=True)


def main():
    if not ARGS.weights:
        raise SystemExit("error: give --weights or set BOOK_WEIGHTS to the book's sample_weight.pkl.")
    if ARGS.repeats < 5:
        raise SystemExit("error: --repeats must be at least 5: a median of fewer rounds says little on a shared machine.")
    model = load_model(ARGS.weights)
    raw = load_raw(ARGS.data_dir)
    x_u8, t = raw["test_img"].reshape(-1, 784), raw["test_label"]  # (10000, 784) uint8: the engine's input
    x_f = x_u8.astype(np.float32) / np.float32(255.0)  # everyone else's input, normalized once, outside the clock
    network = dict(model.params)  # float32, as sample_weight.pkl stores them
    network64 = {k: v.astype(np.float64) for k, v in network.items()}
    torch_run = None if ARGS.no_torch else runtimes.torch_runners(network, ARGS.threads)
    onnx_run = None if ARGS.no_onnx else runtimes.onnx_runners(network, ARGS.threads)
    m, blas, load = machine_info(), blas_info(), load_average()
    print(f"{m['measured_at']} on {m['host']}: {m['cpu']}, {m['cores_usable']} cores, load average {load} (1, 5, 15 min)")
    print(f"numpy {m['numpy']}, {blas['library']} {blas['kernel']}, BLAS threads {blas['threads']}; {runtimes.versions()}; "
          f"{ARGS.repeats} interleaved rounds per table")

    batch = {"engine": lambda bs: model.predict(x_u8, batch_size=bs), "book": lambda bs: book_batches(network, x_f, bs)}
    if torch_run:
        batch["torch"] = lambda bs: torch_run["torch"](x_f, bs)
    if onnx_run:
        batch["onnxruntime"] = lambda bs: onnx_run["onnxruntime"](x_f, bs)
        batch["onnxruntime u8"] = lambda bs: onnx_run["onnxruntime u8"](x_u8, bs)
    for name, fn in batch.items():  # warm up, and check that everyone computes the same answers
        print(f"{name:<15} accuracy {float(np.mean(fn(100) == t)):.4f}")
    for bs in ARGS.batch_sizes:
        table(f"batch size {bs} over {len(x_u8):,} images", {n: (lambda f=f, bs=bs: f(bs)) for n, f in batch.items()},
              len(x_u8), ARGS.repeats)

    if ARGS.one_image:
        n = ARGS.one_image
        one = {"engine": lambda: [model.predict(x_u8[i:i + 1]) for i in range(n)],
               "book (float32)": lambda: book_one(network, x_f[:n]),
               "book (float64)": lambda: book_one(network64, x_f[:n].astype(np.float64))}
        if torch_run:
            one["torch"] = lambda: torch_run["torch one"](x_f[:n])
        if onnx_run:
            one["onnxruntime"] = lambda: onnx_run["onnxruntime one"](x_f[:n])
        table(f"one image per call, {n:,} images (engine: model.predict(x[i:i+1]); book: predict(network, x[i]))",
              one, n, ARGS.repeats)
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
