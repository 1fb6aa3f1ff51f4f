"""Runtime against batch size, the one-image loops (the engine's and the book's, verbatim), and this machine's matmul
roof, load average and BLAS threads, measured live.

One repeat at batch size b is one call model.predict_proba(x[:k * b], batch_size=b): the model's own batch
loop over k full batches. Small batches are capped at k = max_batches (200 by default), so batch size 1 runs
200 forward passes instead of 10,000 and the 13-size sweep over the 10k test set takes about a second.
Images/s is the images timed over the seconds, the rate a full pass would show since every batch costs the
same; batch sizes of 50 and up cover the whole set. Latency is the seconds per batch.
"""
import os
import platform
import time

import numpy as np

BATCH_SIZES = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def time_batches(model, x_pixels, *, batch_sizes=BATCH_SIZES, repeats=5, max_batches=200, progress=None):
    """Rows per batch size: images_per_s and latency_ms (medians over repeats) with min/max spread; progress(label, done, total)."""
    n = len(x_pixels)
    too_big = [b for b in batch_sizes if not 1 <= b <= n]
    if too_big:
        raise ValueError(f"Batch sizes {too_big} do not fit {n:,} images: each must be between 1 and the number of images.")
    plans = []  # (batch size, full batches per repeat, the images they cover)
    for b in batch_sizes:
        k = min(n // b, max_batches)
        plans.append((b, k, x_pixels[:k * b]))
        model.predict_proba(x_pixels[:b], batch_size=b)  # warm-up: first touch of buffers and BLAS threads is not the rate
    seconds = np.zeros((repeats, len(plans)))
    # repeats go round-robin over the sizes, so a burst of load from another process spoils one repeat of
    # several sizes (which the median drops) instead of every repeat of one size
    for r in range(repeats):
        for i, (b, _k, xs) in enumerate(plans):
            start = time.perf_counter()
            model.predict_proba(xs, batch_size=b)  # the model's own batch loop, as the seed's `for i in range(0, n, b)`
            seconds[r, i] = time.perf_counter() - start
            if progress:
                progress(f"repeat {r + 1}/{repeats}", r * len(plans) + i + 1, repeats * len(plans))
    rows = []
    for i, (b, k, _xs) in enumerate(plans):
        s = seconds[:, i]
        rate, latency = k * b / s, s / k * 1000  # (repeats,) images/s and ms per batch
        rows.append({"batch_size": b, "images_per_s": float(np.median(rate)), "images_per_s_min": float(rate.min()),
                     "images_per_s_max": float(rate.max()), "latency_ms": float(np.median(latency)),
                     "latency_ms_min": float(latency.min()), "latency_ms_max": float(latency.max()),
                     "repeats": repeats, "batches": k, "images": k * b})
    return rows


def book_loop_rate(params, x, *, n_images=1000, repeats=3, dtype=np.float32):
    """Images/s (median of repeats) of the seed's non-batch loop, verbatim: predict(network, x[i]) and argmax, one image per call.

    The book's own sigmoid 1 / (1 + exp(-x)) and softmax (engine.book.predict_verbatim), in dtype: float32 is how
    sample_weight.pkl stores the weights and how the book's load_mnist(normalize=True) gives x; float64 for comparison.
    x is the net input as the seed's get_data gives it, (n, 784) in [0, 1]; params are W1, b1 ... W3, b3.
    """
    loop = _book_loop(params, x, n_images=n_images, dtype=dtype)
    return float(np.median([len(x[:n_images]) / loop() for _ in range(repeats)]))


def per_image_rates(model, x_pixels, *, n_images=1000, repeats=5):
    """The one-image-per-call loops, interleaved: model.predict(x[i:i + 1]) against the seed's loop in float32 and float64.

    Returns images/s (medians) under 'engine', 'book' and 'book_float64', and the medians of the per-repeat time
    ratios 'engine_vs_book' and 'engine_vs_book_float64' (how many times faster the engine's loop ran, side by side).
    """
    x_pixels = x_pixels[:n_images]
    loops = {"engine": _engine_loop(model, x_pixels)}
    if model.n_layers == 3:
        x = model.prepare(x_pixels)
        loops |= {"book": _book_loop(model.params, x, n_images=n_images, dtype=np.float32),
                  "book_float64": _book_loop(model.params, x, n_images=n_images, dtype=np.float64)}
    seconds = {name: [] for name in loops}
    for r in range(repeats):
        names = list(loops)[r % len(loops):] + list(loops)[:r % len(loops)]  # rotate who goes first
        for name in names:
            seconds[name].append(loops[name]())
    out = {name: float(np.median(len(x_pixels) / np.array(s))) for name, s in seconds.items()}
    for ref in ("book", "book_float64"):
        if ref in seconds:
            out[f"engine_vs_{ref}"] = float(np.median(np.array(seconds[ref]) / np.array(seconds["engine"])))
    return out


def _engine_loop(model, x_pixels):
    """A function timing one pass of model.predict(x[i:i + 1]) over x_pixels, in seconds."""
    model.predict(x_pixels[:1])  # first use folds the weights: not part of the rate

    def run():
        start = time.perf_counter()
        for i in range(len(x_pixels)):
            model.predict(x_pixels[i:i + 1])
        return time.perf_counter() - start
    return run


def _book_loop(params, x, *, n_images, dtype):
    """A function timing one pass of the seed's loop, predict_verbatim(network, x[i]) and argmax, in seconds."""
    from .book import predict_verbatim  # the seed's own forward pass, so the reference point is the book's code

    network = {k: np.asarray(v, dtype=dtype) for k, v in params.items()}
    if sorted(network) != ["W1", "W2", "W3", "b1", "b2", "b3"]:
        raise ValueError(f"The book's loop needs W1, b1, W2, b2, W3, b3; got {', '.join(sorted(network))}.")
    x = np.asarray(x, dtype=dtype)[:n_images]

    def run():
        with np.errstate(over="ignore"):  # the book's sigmoid overflows exp(-x) for very negative x, and says so each time
            start = time.perf_counter()
            for i in range(len(x)):
                y = predict_verbatim(network, x[i])
                np.argmax(y)
            return time.perf_counter() - start
    return run


MATMUL_SIZES = (1024, 2048)  # the CLI's roof: 2048^3 runs long enough (about 0.15 s on one core) to be stable
QUICK_SIZES = (1024,)  # the evaluation page's roof, the default here: about 0.1 s in all, as long as the page can wait


def matmul_gflops(*, sizes=QUICK_SIZES, repeats=5):
    """This machine's float32 matmul roof in GFLOP/s: the best over square sizes of the median of repeats at each size."""
    return max(matmul_rates(sizes=sizes, repeats=repeats).values())


def matmul_rates(*, sizes=MATMUL_SIZES, repeats=3):
    """{size: GFLOP/s} for float32 (size, size) @ (size, size), each the median of repeats after a warm-up; 2*size^3 FLOPs."""
    rng = np.random.default_rng(0)
    rates = {}
    for size in sizes:
        A = rng.random((size, size), dtype=np.float32)
        B = rng.random((size, size), dtype=np.float32)
        out = np.empty((size, size), np.float32)
        np.matmul(A, B, out=out)  # warm-up: first touch of the output and BLAS threads
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(A, B, out=out)
            seconds.append(time.perf_counter() - start)
        rates[size] = 2 * size**3 / float(np.median(seconds)) / 1e9
    return rates


def network_flops(sizes):
    """FLOPs per image of the matmuls, 2 * sum(in * out): 784-50-100-10 gives 90,400 (biases and activations are ignored)."""
    return int(sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)))


def limit_images_per_s(gflops, flops):
    """Images/s the machine could reach if every FLOP ran at the measured matmul rate: GFLOP/s * 1e9 / FLOPs per image."""
    return gflops * 1e9 / flops


def load_average():
    """The 1, 5 and 15 minute load averages (runnable processes per core summed), or None where the OS has none."""
    try:
        return tuple(round(v, 2) for v in os.getloadavg())
    except (AttributeError, OSError):
        return None


def blas_info():
    """The BLAS numpy uses now: {'library', 'threads', 'kernel'} from threadpoolctl (kernel: the CPU code path OpenBLAS chose)."""
    try:
        from threadpoolctl import threadpool_info

        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    except Exception:  # threadpoolctl missing or unable to inspect: say what numpy's build says
        blas = []
    if not blas:
        return {"library": _blas_name(), "threads": None, "kernel": None}
    b = blas[0]
    return {"library": f"{b.get('internal_api', 'unknown')} {b.get('version', '')}".strip(), "threads": b.get("num_threads"),
            "kernel": b.get("architecture")}


def machine_info():
    """Where and when a measurement ran: cpu, cores, numpy and BLAS versions, host, UTC timestamp."""
    try:
        cores_usable = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores_usable = os.cpu_count()
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "cores_usable": cores_usable, "numpy": np.__version__,
            "blas": _blas_name(), "python": platform.python_version(), "system": f"{platform.system()} {platform.machine()}",
            "host": platform.node(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass  # not Linux: fall back to what platform knows
    return platform.processor() or platform.machine() or "unknown"


def _blas_name():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', 'unknown')} {blas.get('version', '')}".strip()
    except Exception:  # numpy < 1.26 has no dict mode; the BLAS name is a nicety, never worth failing over
        return "unknown"
