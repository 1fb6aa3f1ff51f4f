"""Runtime against batch size, the book's per-image loop, and this machine's matmul roof, measured live.

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


def book_loop_rate(params, x, *, n_images=1000, repeats=3):
    """Images/s (median of repeats) of the seed's non-batch loop: predict(network, x[i]) and argmax, one image per call.

    x is the net input as the seed's get_data gives it, float32 (n, 784) in [0, 1]; params are W1, b1 ... W3, b3.
    """
    from .book import predict  # the seed's own forward pass, so the reference point is the book's code

    network = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    if sorted(network) != ["W1", "W2", "W3", "b1", "b2", "b3"]:
        raise ValueError(f"The book's loop needs W1, b1, W2, b2, W3, b3; got {', '.join(sorted(network))}.")
    x = np.asarray(x, dtype=np.float32)[:n_images]
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(len(x)):
            y = predict(network, x[i])
            np.argmax(y)
        rates.append(len(x) / (time.perf_counter() - start))
    return float(np.median(rates))


def matmul_gflops(*, shape=(1000, 784, 1000), repeats=5):
    """Measured float32 matmul GFLOP/s (median): (m, k) @ (k, n) does 2*m*k*n FLOPs. Big square-ish shapes give BLAS's roof."""
    m, k, n = shape
    rng = np.random.default_rng(0)
    A = rng.random((m, k), dtype=np.float32)
    B = rng.random((k, n), dtype=np.float32)
    A @ B  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        A @ B
        rates.append(2 * m * k * n / (time.perf_counter() - start) / 1e9)
    return float(np.median(rates))


def network_flops(sizes):
    """FLOPs per image of the matmuls, 2 * sum(in * out): 784-50-100-10 gives 90,400 (biases and activations are ignored)."""
    return int(sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False)))


def limit_images_per_s(gflops, flops):
    """Images/s the machine could reach if every FLOP ran at the measured matmul rate: GFLOP/s * 1e9 / FLOPs per image."""
    return gflops * 1e9 / flops


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
