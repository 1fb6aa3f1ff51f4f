"""`benchmark`: images/s and latency against batch size on the test set, the book's loop, and the machine's limit."""
import os

import numpy as np

from ..data import load_mnist
from ..model import MLP
from ..modelfile import BOOK_SIZES, load_model
from ..preprocess import Preprocess
from ..timing import (
    BATCH_SIZES,
    MATMUL_SIZES,
    blas_info,
    limit_images_per_s,
    load_average,
    machine_info,
    matmul_rates,
    network_flops,
    per_image_rates,
    time_batches,
)
from .progress import bar


def add_parser(sub):
    p = sub.add_parser("benchmark", help="time the network at several batch sizes and print images/s and latency")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES), metavar="N",
                   help="batch sizes to time (default: 1 2 5 ... 10000)")
    p.add_argument("--weights", help="model .npz or the book's .pkl (default: $BOOK_WEIGHTS, else random weights of the book's shape)")
    p.add_argument("--repeats", type=int, default=5, help="timed passes per batch size; the table shows the median (default 5)")
    p.add_argument("--book-images", type=int, default=1000,
                   help="images for the one-image-per-call loops, the book's and the engine's (default 1000)")
    p.add_argument("--matmul-sizes", type=int, nargs="+", default=list(MATMUL_SIZES), metavar="N",
                   help="square float32 matmuls for the machine limit, the best one counts (default: 1024 2048)")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.set_defaults(run=run)


def pick_model(weights):
    """The model to time and a label for it: --weights, then $BOOK_WEIGHTS, then random weights (speed ignores the values)."""
    path = weights or os.environ.get("BOOK_WEIGHTS")
    if path:
        return load_model(path), os.path.basename(path)
    rng = np.random.default_rng(0)
    params = {}
    for i, (a, b) in enumerate(zip(BOOK_SIZES[:-1], BOOK_SIZES[1:], strict=False), start=1):
        params[f"W{i}"], params[f"b{i}"] = rng.normal(0, 0.1, (a, b)), np.zeros(b)
    return MLP(params, preprocess=Preprocess("unit")), "random weights, book shape"


def run(args):
    _, (x, _t) = load_mnist(normalize=False, data_dir=args.data_dir, download=False)
    bad = [b for b in args.batch_sizes if not 1 <= b <= len(x)]
    if bad:
        raise SystemExit(f"error: --batch-sizes {' '.join(map(str, bad))} must lie between 1 and {len(x):,}, the number of test images.")
    if args.repeats < 1 or args.book_images < 1 or min(args.matmul_sizes) < 1:
        raise SystemExit("error: --repeats, --book-images and --matmul-sizes must be at least 1.")
    model, label = pick_model(args.weights)
    load_before = load_average()
    rows = time_batches(model, x, batch_sizes=args.batch_sizes, repeats=args.repeats,
                        progress=lambda what, done, total: bar(what, done, total))
    sizes = "-".join(map(str, model.sizes))
    print(f"{sizes} ({label}) on {len(x):,} test images, median of {args.repeats} repeats, spread = min-max")
    print(f"{'batch size':>10}  {'images/s':>12}  {'latency ms':>11}  {'spread images/s':>23}  {'timed/repeat':>12}")
    for r in rows:
        spread = f"{r['images_per_s_min']:,.0f}-{r['images_per_s_max']:,.0f}"
        print(f"{r['batch_size']:>10,}  {r['images_per_s']:>12,.0f}  {r['latency_ms']:>11.3f}  {spread:>23}  {r['images']:>12,}")
    n = min(args.book_images, len(x))
    rates = per_image_rates(model, x, n_images=n, repeats=args.repeats)
    if "book" in rates:
        print(f"book loop (predict one image at a time, {n:,} images): {rates['book']:,.0f} images/s"
              " [the seed's code verbatim: sigmoid 1/(1+exp(-x)), float32 weights as sample_weight.pkl stores them]")
        print(f"book loop in float64 (weights and input cast): {rates['book_float64']:,.0f} images/s")
    else:
        print("book loop: skipped, the seed's predict needs exactly three layers")
    versus = (f" = {rates['engine_vs_book']:.2f}x the book loop, {rates['engine_vs_book_float64']:.2f}x its float64 run"
              " (medians of side-by-side ratios)") if "book" in rates else ""
    print(f"one image per call (model.predict(x[i:i+1]), {n:,} images): {rates['engine']:,.0f} images/s{versus}")
    gflops = matmul_rates(sizes=args.matmul_sizes, repeats=3)
    best, flops = max(gflops, key=gflops.get), network_flops(model.sizes)
    print(f"machine limit: {gflops[best]:,.1f} GFLOP/s float32 matmul / {flops:,} FLOPs per image = "
          f"{limit_images_per_s(gflops[best], flops):,.0f} images/s [best of "
          f"{', '.join(f'{k}x{k} {v:,.1f}' for k, v in gflops.items())} GFLOP/s square matmuls, median of 3 each]")
    m, blas = machine_info(), blas_info()
    threads = "unknown" if blas["threads"] is None else blas["threads"]
    kernel = f", {blas['kernel']} kernels" if blas["kernel"] else ""
    print(f"load average {_load(load_before)} before, {_load(load_average())} after (1, 5, 15 min) on {m['cores_usable']} cores; "
          f"BLAS threads {threads} ({blas['library']}{kernel})")
    print(f"measured {m['measured_at']} on {m['host']}: {m['cpu']}, {m['cores_usable']} cores, numpy {m['numpy']}, {m['blas']}")


def _load(load):
    return " ".join(f"{v:.2f}" for v in load) if load else "unknown"
