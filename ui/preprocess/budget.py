"""How many seeds a fresh comparison can afford within a run's time limit (ui/jobs.py's MAX_RUN_SECONDS).

The figures are measured (benchmarks/bench_compare_seeds.py, docs/benchmarks.md) and padded for a shared server.
"""
import math

SECONDS_PER_IMAGE_EPOCH = 2.0e-5  # one sigmoid 784-50-100-10 net, one training image, one epoch, at nice 19, one BLAS thread
SECONDS_PER_NET = 3.0  # fitting the preprocessing (whitening's eigendecomposition), validation, calibration, saving
LOAD = 2.0  # a shared server trains about this much slower than a quiet one (docs/benchmarks.md)
DEFAULT_SEEDS = 3
MOST_SEEDS = 5


def estimate(*, kinds, seeds, epochs, n_train, val_size):
    """Expected seconds of a comparison of kinds × seeds nets on a loaded server."""
    per_net = epochs * (n_train - val_size) * SECONDS_PER_IMAGE_EPOCH + SECONDS_PER_NET
    return LOAD * kinds * seeds * per_net


def default_seeds(*, kinds, epochs, n_train, val_size, limit):
    """DEFAULT_SEEDS when they fit within limit seconds, else the most that fit (at least 1)."""
    fits = [s for s in range(1, DEFAULT_SEEDS + 1)
            if estimate(kinds=kinds, seeds=s, epochs=epochs, n_train=n_train, val_size=val_size) <= limit]
    return max(fits, default=1)


def minutes(seconds):
    """Seconds as whole minutes, rounded up (at least 1)."""
    return max(1, math.ceil(seconds / 60))
