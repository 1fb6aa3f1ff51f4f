"""The preprocessing page's seeded comparison end to end: 3 seeds x 2 choices through the app's own job (ui/jobs.py:
a child process at nice 19, one BLAS thread), timed against the run's limit, with the budget's estimate beside it.

Run by hand from the repo root:  MNIST_DIR=... python3 -m benchmarks.bench_compare_seeds [--kinds unit whiten]
    [--seeds 3] [--epochs 10] [--images 60000]
Prints the wall time, the per-run progress it saw (reports and epochs per run, as the page draws them), the models
kept, and the load average before and after; the result goes to docs/benchmarks.md.
"""
import argparse
import os
import time
from dataclasses import replace


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_compare_seeds", description=__doc__.splitlines()[0])
    p.add_argument("--kinds", nargs="+", default=["unit", "whiten"], help="choices to compare (default: unit whiten)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per choice (default 3, the page's preselection)")
    p.add_argument("--epochs", type=int, default=10, help="epochs per net (default 10, the page's largest)")
    p.add_argument("--images", type=int, default=60000, help="training images (default 60,000, the page's largest)")
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DIR"), help="folder with the four MNIST files (default: $MNIST_DIR)")
    args = p.parse_args(argv)

    from ui import jobs
    from ui.preprocess import budget
    from ui.preprocess.fresh import COMPARE

    config = replace(COMPARE, epochs=args.epochs, seed=0)
    seeds = list(range(args.seeds))
    estimate = budget.estimate(kinds=len(args.kinds), seeds=args.seeds, epochs=args.epochs, n_train=args.images,
                               val_size=jobs.val_size(args.images))
    load0 = os.getloadavg()
    start = time.perf_counter()
    job = jobs.launch(args.data_dir, args.kinds, config, n_train=args.images, comparison=True, seeds=seeds)
    seen = []
    while not job.ended.wait(0.5):  # as the page's progress fragment polls it
        snap = job.snapshot()
        if snap["state"] == "running" and (not seen or seen[-1] != snap["current"]):
            seen.append(snap["current"])
            print(f"{time.perf_counter() - start:6.1f} s  training {snap['current']}", flush=True)
    wall = time.perf_counter() - start
    snap = job.snapshot()
    print(f"\nstate {job.state}; {len(job.models)} of {len(job.names)} nets kept; wall {wall:.1f} s "
          f"(limit {jobs.MAX_RUN_SECONDS} s, budget estimate {estimate:.0f} s)")
    print("| run | progress reports | epochs | test accuracy | seconds in the child |\n|---|---|---|---|---|")
    for name in job.names:
        m = job.models.get(name)
        print(f"| {name} | {len(snap['steps'][name])} | {len(snap['epochs'][name])} | "
              f"{'-' if m is None else format(m.card['test_accuracy'], '.4f')} | {'-' if m is None else m.card['seconds']} |")
    print(f"\nload average before {load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, after "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()) + f"; {os.cpu_count()} cores")
    return 0 if job.state == "done" and wall <= jobs.MAX_RUN_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
