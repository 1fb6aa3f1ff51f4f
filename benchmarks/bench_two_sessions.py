"""Two sessions evaluating at once, as one Streamlit server runs them (two script threads in one process): the server's
BLAS policy (one thread per call, ui/threads.py) against BLAS's own default (one thread per core, the app before it).

Run by hand from the repo root:
    MNIST_DIR=... python3 -m benchmarks.bench_two_sessions [--repeats 7] [--model default]
Each round runs, in rotating order: one session alone and two sessions at once, each under both policies. A session is
the evaluation page's work, engine.evaluation.evaluate of the model on the 10,000 test images. The table gives medians
of wall time; the ratio is the median over rounds of the default policy's time over the server policy's, side by side.
Each case starts after --pause seconds: OpenBLAS's worker threads spin for about 0.05-0.2 s after a multi-threaded
call before they sleep, and without the pause they take a core from whichever case runs next (measured: the server
policy's two sessions 0.71x with no pause, 1.58x with 0.5 s). The pause gives BLAS's default its best case.
"""
import argparse
import os
import statistics
import threading
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from engine.data import load_mnist
from engine.evaluation import evaluate
from engine.modelfile import load_model

MODELS = Path(__file__).resolve().parents[1] / "models"


def parse():
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_two_sessions", description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7, help="rounds, at least 5 (default 7)")
    p.add_argument("--model", default="default", help="a model in models/ (default: default)")
    p.add_argument("--pause", type=float, default=0.5, help="seconds idle before each case (default 0.5)")
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"), help="folder with the four MNIST files")
    return p.parse_args()


def sessions(model, x, t, *, n, threads):
    """Wall seconds until n threads, each evaluating model on (x, t), have all finished, with BLAS limited to threads."""
    with threadpool_limits(limits=threads, user_api="blas"):
        workers = [threading.Thread(target=evaluate, args=(model, x, t)) for _ in range(n)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - start


def main():
    args = parse()
    if args.repeats < 5:
        raise SystemExit("--repeats must be at least 5")
    model = load_model(MODELS / f"{args.model}.npz")
    (_, _), (x, t) = load_mnist(normalize=False, flatten=True, data_dir=args.data_dir, download=False)
    cores = os.cpu_count() or 1
    cases = [(n, threads) for n in (1, 2) for threads in (1, cores)]
    times = {case: [] for case in cases}
    sessions(model, x, t, n=1, threads=1)  # warm-up: caches, page faults, BLAS buffers
    load_before = os.getloadavg()
    for r in range(args.repeats):
        for case in cases[r % len(cases):] + cases[:r % len(cases)]:
            time.sleep(args.pause)  # let the last case's BLAS workers stop spinning
            times[case].append(sessions(model, x, t, n=case[0], threads=case[1]))
    load_after = os.getloadavg()
    print(f"model {args.model}, 10,000 test images per session, {args.repeats} rounds, {cores} cores, "
          f"{args.pause} s pause before each case")
    print(f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} after (1, 5, 15 min)")
    print("| sessions at once | BLAS threads per call | median wall time (s) |")
    print("|---|---|---|")
    for n, threads in cases:
        label = "1 (server policy)" if threads == 1 else f"{threads} (BLAS default, before)"
        print(f"| {n} | {label} | {statistics.median(times[(n, threads)]):.3f} |")
    for n in (1, 2):
        ratio = statistics.median(a / b for a, b in zip(times[(n, cores)], times[(n, 1)], strict=True))
        print(f"{n} session(s): the server policy finishes {ratio:.2f}x sooner than BLAS's default (median of ratios)")


if __name__ == "__main__":
    main()
