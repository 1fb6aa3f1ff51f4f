"""Server time of the preprocessing and training pages, and what a training run costs the other visitors.

Run by hand from the repo root:  MNIST_DIR=/path/to/mnist python3 -m benchmarks.bench_train_pages [--runs 20]
1. Warm reruns: AppTest.run() of /preprocess (one row per tab: only the open tab is computed) and /train, median of
   --runs after one untimed warm-up, the floor being AppTest running a one-line app.
2. Other visitors while someone trains: the dataset browser's warm rerun (median of --runs) in this process when
   nobody trains, while engine.train runs in a thread of this process (the design the app rejected: a thread of the
   web server), and while `python -m engine train-job` runs as a child process at nice 10 with one BLAS thread (the
   app's design, ui/jobs.py). All three rows in one run, with ratios to the idle row.
3. The live fragment's cost per poll: building both learning-curve figures for a 20-epoch run.
4. With --server: a real `streamlit run dashboard.py` (benchmarks/appserver.py); one Chromium visitor trains on /train
   (curves polling) while a browserless visitor (benchmarks/appclient.py) reruns /dataset --runs times: server time from
   request to script_finished, before, during and after the training. Browser and server share this machine's cores.
"""
import argparse
import asyncio
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks.apptiming import median_ms, require_mnist
from engine.data import load_raw
from engine.train import StopTraining, TrainConfig, train
from ui import jobs, jobview
from ui.curves import live_curves

ROOT = Path(__file__).resolve().parents[1]
TABS = {"data": "🔢 What it does to the data", "accuracy": "🎯 What it does to accuracy", "mismatch": "⚠️ Mismatch demo",
        "compare": "⚖️ Train a fair comparison"}
LONG = TrainConfig(epochs=30)  # the book's net on 55,000 images: runs longer than any measurement below


def page(url_path):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page(f"pages/{url_path}.py").run()
    return at


def thread_training(stop):
    """engine.train on all training images in a thread of this process, until stop is set."""
    raw = load_raw(os.environ["MNIST_DIR"])
    x, t = raw["train_img"].reshape(-1, 784), raw["train_label"]

    def callback(info):
        if stop.is_set():
            raise StopTraining("benchmark over")

    train(x, t, config=LONG, callback=callback, every=25)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="warm reruns per row (default 20)")
    p.add_argument("--server", action="store_true", help="also time a real server while a Chromium visitor trains (section 4)")
    args = p.parse_args()
    require_mnist()

    floor = median_ms(AppTest.from_string("import streamlit as st\nst.write('hi')", default_timeout=60), args.runs)
    rows = []
    at = page("preprocess")
    for tab, label in TABS.items():
        at.session_state["pp_tab"] = label
        at.run()  # computes and caches this tab's results (cold for this tab)
        rows.append((f"preprocess: {tab}", median_ms(at, args.runs)))
    rows.append(("train (settings, idle)", median_ms(page("train"), args.runs)))
    print(f"warm reruns, real MNIST, {args.runs} per row (median); floor = AppTest running a one-line app: {floor:.1f} ms")
    for name, ms in rows:
        print(f"  {name:<28} {ms:8.1f} ms   minus floor {ms - floor:8.1f} ms")

    browse = page("dataset")
    idle = median_ms(browse, args.runs)
    stop = threading.Event()
    th = threading.Thread(target=thread_training, args=(stop,), daemon=True)
    th.start()
    time.sleep(3)  # past data loading and the first batches
    in_thread = median_ms(browse, args.runs)
    stop.set()
    th.join()
    job = jobs.launch(os.environ["MNIST_DIR"], ["bench"], LONG, n_train=60000)
    while job.snapshot()["latest"] is None and job.running:
        time.sleep(0.1)
    in_process = median_ms(browse, args.runs)
    running = job.running
    job.request_stop()
    job.thread.join()
    print(f"\ndataset browser rerun while another session trains (median of {args.runs}):")
    print(f"  nobody trains                          {idle:8.1f} ms   1.00x")
    print(f"  training in a thread of the server     {in_thread:8.1f} ms   {in_thread / idle:.2f}x")
    print(f"  training in a child process (the app)  {in_process:8.1f} ms   {in_process / idle:.2f}x"
          + ("" if running else "   (warning: the run ended before the measurement did)"))

    snap = {"steps": {"n": [(i / 20, 0.5, 0.9) for i in range(1, 401)]},
            "epochs": {"n": [{"epoch": e, "val_acc": 0.9} for e in range(1, 21)]}}
    text = {k: k for k in ("loss_title", "acc_title", "x_title", "loss_y", "acc_y", "train_loss", "train_acc", "val_acc")}
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        live_curves(snap, names=["n"], epochs=20, text=text)
        times.append((time.perf_counter() - start) * 1000)
    print(f"\nlive curves, both figures of a 20-epoch run: {statistics.median(times):.1f} ms per redraw "
          f"(every {jobview.CHART_EVERY:g} s; the progress bar every {jobview.POLL:g} s)")
    if args.server:
        server_rows(args.runs)


def client_reruns(url, runs):
    """Server times (ms) of runs reruns of /dataset by one browserless session, after two untimed ones."""
    from benchmarks.appclient import Run, Session

    async def go():
        session = Session(url, 0)
        await session.open(timeout=30)
        out = []
        for i in range(runs + 2):
            run = await session.rerun(Run(0, "bench", "dataset", f"index={300 + i}"), timeout=60)
            if run.error or run.exceptions:
                sys.exit(f"the dataset page failed: {run.error or run.exceptions}")
            out.append(run.ms)
        await session.close()
        return out[2:]

    result = []
    th = threading.Thread(target=lambda: result.append(asyncio.run(go())))  # its own event loop, beside Playwright's
    th.start()
    th.join()
    return result[0]


def server_rows(runs):
    """Section 4: another visitor's reruns on a real server before, during and after a Chromium visitor's training."""
    from playwright.sync_api import sync_playwright

    from benchmarks.appserver import AppServer
    rows = []
    with AppServer() as server, sync_playwright() as p:
        rows.append(("nobody trains", client_reruns(server.url, runs)))
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 2000})
        page.goto(server.url + "/train?epochs=30")
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(re.compile(r"Epoch \d+ of 30")).wait_for(timeout=120_000)
        rows.append(("a Chromium visitor trains", client_reruns(server.url, runs)))
        training = page.get_by_text(re.compile(r"Epoch \d+ of 30")).count() == 1
        page.get_by_role("button", name="Stop").click()
        page.get_by_text("Stopped.").first.wait_for(timeout=120_000)
        browser.close()
        rows.append(("after the training", client_reruns(server.url, runs)))
    print(f"\nreal server: /dataset reruns by a browserless visitor, server time in ms ({runs} each)")
    base = statistics.median(rows[0][1])
    for name, ms in rows:
        print(f"  {name:<26} median {statistics.median(ms):7.1f}   max {max(ms):7.1f}   {statistics.median(ms) / base:.2f}x")
    if not training:
        print("  (warning: the training ended before the measurement did)")


if __name__ == "__main__":
    main()
