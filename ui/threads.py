"""The server's BLAS thread policy: one thread per request by default, MNIST_EXPLORER_BLAS_THREADS to change it.

Why one: page reruns multiply matrices of at most a few thousand rows, and with two sessions (or any other load) on a
2-core machine two OpenBLAS threads per call were 4-7x slower at batch >= 100 than one, and made the runtime chart
jagged. threadpoolctl (what scikit-learn uses) sets the limit inside the running process, for every session.
"""
import os

import numpy as np  # noqa: F401  (loads OpenBLAS, so threadpoolctl finds it)
from threadpoolctl import threadpool_info, threadpool_limits

ENV = "MNIST_EXPLORER_BLAS_THREADS"
DEFAULT = 1


def wanted():
    """The thread count asked for: a positive int from $MNIST_EXPLORER_BLAS_THREADS, None for 'auto', else DEFAULT."""
    text = os.environ.get(ENV, "").strip().lower()
    if text == "auto":
        return None  # leave BLAS at its own default (one thread per core)
    return int(text) if text.isdigit() and 0 < int(text) <= (os.cpu_count() or 1) * 4 else DEFAULT


def apply():
    """Set the process's BLAS thread count to wanted(); returns the count now in force."""
    n = wanted()
    if n is not None:
        threadpool_limits(limits=n, user_api="blas")
    return current()


def current():
    """The BLAS thread count in force in this process (the largest over the BLAS libraries loaded), or None."""
    counts = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts) if counts else None
