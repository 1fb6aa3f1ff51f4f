"""Shared pieces of the page benchmarks: warm-rerun timing around AppTest.run, and the real-MNIST precondition."""
import os
import statistics
import sys
import time


def require_mnist():
    """Exit with one clear line unless MNIST_DIR names the real data (page timings on synthetic data mean little)."""
    if not os.environ.get("MNIST_DIR"):
        sys.exit("set MNIST_DIR to a folder with the four real MNIST files")


def median_ms(at, runs):
    """Median wall time in ms of at.run() over runs reruns, after one untimed warm-up."""
    at.run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - start) * 1000)
        if at.exception:
            sys.exit(f"the page raised: {at.exception[0].value}")
    return statistics.median(times)
