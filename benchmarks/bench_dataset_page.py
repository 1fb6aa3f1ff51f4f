"""Server time of a warm rerun of the dataset browser on real MNIST (data and derived results cached); target < 300 ms.

Run by hand from the repo root:  MNIST_DIR=/path/to/mnist python3 -m benchmarks.bench_dataset_page [--runs 20]
Times AppTest.run() of dashboard.py on /dataset: the whole script (router, sidebar, page) plus AppTest's own
bookkeeping, which an empty app measures in the same run (the "floor" column). Each tab is timed separately,
because only the open tab is computed. Medians over --runs warm reruns, after one untimed warm-up run.
"""
import argparse
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks.apptiming import median_ms, require_mnist

ROOT = Path(__file__).resolve().parents[1]
TABS = {"classes": "📊 Class counts", "mean": "🖼️ Mean and variance", "hist": "📈 Pixel histogram",
        "pca": "🧭 PCA map", "flags": "🧪 load_mnist flags"}
TARGET_MS = 300


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="warm reruns per row (default 20)")
    args = p.parse_args()
    require_mnist()

    floor = median_ms(AppTest.from_string("import streamlit as st\nst.write('hi')", default_timeout=60), args.runs)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    start = time.perf_counter()
    at.run()
    at.switch_page("pages/dataset.py").run()
    cold = (time.perf_counter() - start) * 1000
    rows = []
    for tab, label in TABS.items():
        at.session_state["ds_tab"] = label
        at.run()  # computes and caches this tab's statistics (cold for this tab)
        rows.append((tab, median_ms(at, args.runs)))

    print(f"dataset page, real MNIST, {args.runs} warm reruns per row (median)")
    print(f"first visit (cold: parse MNIST, first tab): {cold:8.0f} ms")
    print(f"{'open tab':<10} {'rerun ms':>9} {'minus floor':>12} {'vs target':>10}")
    for tab, ms in rows:
        print(f"{tab:<10} {ms:9.1f} {ms - floor:12.1f} {ms / TARGET_MS:9.2f}x")
    print(f"{'floor':<10} {floor:9.1f}   (AppTest running a one-line app)")


if __name__ == "__main__":
    main()
