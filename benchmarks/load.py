"""Many users at once: N websocket sessions rerun a mix of pages against `streamlit run dashboard.py`; exits 1 if a target breaks.

Run by hand from the repo root (it starts its own server on a free 127.0.0.1 port with a private cache):
    MNIST_DIR=/path/to/mnist BOOK_WEIGHTS=/path/to/sample_weight.pkl python3 -m benchmarks.load [--sessions 20] [--reruns 10]
or against a running server:  python3 -m benchmarks.load --url http://127.0.0.1:8501 --pid PID  (PID for its RSS)
A class in one room (40 sessions x 10 reruns with uploads, training and the compare tab, then /dataset while two
trainings run and ten tabs wait): python3 -m benchmarks.load --room [--sessions 40] [--reruns 10] (benchmarks/room.py).

Each session is what a browser tab does, without a browser (benchmarks/appclient.py): one websocket on
/_stcore/stream, BackMsg.rerun_script(page_name, query_string) out, ForwardMsgs in until script_finished; a
ForwardMsg carrying an exception element is an app exception, a closed socket, timeout, unknown page or compile
error is a failure. Every page dashboard.py registers is covered (parsed from it, then taken from the server's own
navigation message); query parameters are read from the page files (benchmarks/pagequery.py).
Phases: every session's first run at the same moment (a cold start under load; RSS "after warm-up" is taken
after it), then the load itself, sessions x reruns back to back. The whole script stops within --deadline s.
"""
import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time

from benchmarks.appclient import Run, Session
from benchmarks.appserver import AppServer, RssMeter
from benchmarks.pagequery import page_params, random_query, router_pages

TARGETS = {"failures": 0, "exceptions": 0, "peak_rss_mb": 700}  # docs/deploy.md states the budget and why


def page_sequence(pages, n, rng):
    """n pages dealt from shuffled rounds of every page: any n >= len(pages) consecutive draws from 0 cover them all."""
    out = []
    while len(out) < n:
        out += rng.sample(pages, len(pages))
    return out[:n]


def first_visits(pages, sessions, *, seed):
    """Each session's first (page, query): with sessions >= pages, the simultaneous cold start touches every page."""
    return [[(p, "")] for p in page_sequence(pages, sessions, random.Random(seed))]


def load_plan(pages, params, *, sessions, reruns, seed):
    """Per session, its reruns [(page, query)]: a random mix that covers every page when sessions x reruns >= pages."""
    rng = random.Random(seed + 1)
    seq = page_sequence(pages, sessions * reruns, rng)  # step r of session i is seq[r * sessions + i]
    return [[(p := seq[r * sessions + i], random_query(rng, params.get(p, {}))) for r in range(reruns)] for i in range(sessions)]


async def drive(url, pages, params, *, sessions, reruns, deadline, seed, meter, only=None):
    """Every session's first run at the same moment, then the load; returns (runs, pages used, RSS after warm-up).

    pages (from parsing dashboard.py) plan the first visits; the load then uses the server's own page list,
    read from the navigation message of those first runs, so a page the parse missed is still covered
    (only: url paths to keep, 'home' meaning the default page).
    """
    left = lambda: deadline - time.monotonic()
    clients = [Session(url, i) for i in range(sessions)]
    opened = await asyncio.gather(*(c.open(timeout=max(left(), 0.01)) for c in clients), return_exceptions=True)
    runs = []

    async def play(c, steps, phase):
        out = [Run(c.number, phase, page, query) for page, query in steps]
        for run in out:
            if isinstance(opened[c.number], BaseException):
                run.error = f"could not connect ({opened[c.number]!r})"
            elif left() <= 0:
                run.error = "not run: the deadline passed"
            else:
                await c.rerun(run, timeout=left())
        return out

    async def phase(name, plan):
        for out in await asyncio.gather(*(play(c, steps, name) for c, steps in zip(clients, plan, strict=True))):
            runs.extend(out)

    try:
        await phase("warm-up", first_visits(pages, sessions, seed=seed))
        rss_warm = meter.now_mb()
        served = next((c.pages for c in clients if c.pages), None)
        if served:
            pages = [p for p in served if only is None or (p or "home") in only]
        await phase("load", load_plan(pages, params, sessions=sessions, reruns=reruns, seed=seed))
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return runs, pages, rss_warm


def percentile(values, q):
    """The q-th percentile (0-100) by linear interpolation, as numpy.percentile's default."""
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q / 100
    lo = int(k)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (k - lo)


def make_report(runs, *, pages, sessions, reruns, rss, elapsed, load_before):
    """The figures the issue asks for, as a dict; rss = {'warm': MB, 'after': MB, 'peak': MB} (None if not measured)."""
    load = [r for r in runs if r.phase == "load" and not r.error]
    warm = [r.ms for r in runs if r.phase == "warm-up" and not r.error]
    problems = [{"page": r.page or "(default)", "query": r.query, "error": r.error,
                 "exceptions": [{"type": t, "message": m, "trace": tr} for t, m, tr in r.exceptions]}
                for r in runs if r.error or r.exceptions]
    ms = [r.ms for r in load]
    return {
        "sessions": sessions, "reruns": reruns, "pages": pages, "runs": len(runs),
        "failures": sum(1 for r in runs if r.error), "exceptions": sum(len(r.exceptions) for r in runs),
        "latency_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "max": max(ms, default=float("nan"))},
        "warmup_ms": {"median": statistics.median(warm) if warm else float("nan"), "max": max(warm, default=float("nan"))},
        "per_page_p95_ms": {p or "(default)": percentile([r.ms for r in load if r.page == p], 95) for p in pages},
        "rss_mb": rss, "elapsed_s": elapsed, "load_average": {"before": load_before, "after": os.getloadavg()},
        "problems": problems,
    }


def broken_targets(report):
    """Names of the targets the report breaks; a peak RSS that was not measured breaks nothing."""
    broken = [k for k in ("failures", "exceptions") if report[k] > TARGETS[k]]
    peak = report["rss_mb"].get("peak")
    if peak is not None and peak > TARGETS["peak_rss_mb"]:
        broken.append("peak_rss_mb")
    return broken


def run_load(url, *, sessions=20, reruns=10, pages=None, pid=None, deadline_s=120.0, seed=0, started=None):
    """Warm-up and load against url, the server's RSS measured when its pid is known; returns the report dict."""
    started, load_before = started or time.monotonic(), os.getloadavg()
    planned = [p for p in router_pages() if pages is None or (p or "home") in pages]
    with RssMeter(pid) as meter:
        runs, used, rss_warm = asyncio.run(drive(url, planned, page_params(), sessions=sessions, reruns=reruns,
                                                 deadline=started + deadline_s, seed=seed, meter=meter, only=pages))
    rss = {"warm": rss_warm, "after": meter.now_mb(), "peak": meter.peak_mb()}
    return make_report(runs, pages=used, sessions=sessions, reruns=reruns, rss=rss, elapsed=time.monotonic() - started,
                       load_before=load_before)


def print_report(r):
    mb = lambda v: "not measured (give --pid)" if v is None else f"{v:.0f} MB"
    lat, la = r["latency_ms"], r["load_average"]
    print(f"{r['sessions']} sessions x {r['reruns']} reruns over {len(r['pages'])} pages "
          f"({', '.join(p or '(default)' for p in r['pages'])}) in {r['elapsed_s']:.1f} s; load average (1, 5, 15 min) "
          f"before {', '.join(f'{x:.2f}' for x in la['before'])}, after {', '.join(f'{x:.2f}' for x in la['after'])}")
    print(f"runs {r['runs']} (incl. {r['sessions']} warm-up)  failures {r['failures']}  app exceptions {r['exceptions']}")
    print(f"latency over the load runs: p50 {lat['p50']:.0f} ms  p95 {lat['p95']:.0f} ms  max {lat['max']:.0f} ms; "
          f"warm-up round (all first runs at once): median {r['warmup_ms']['median']:.0f} ms, max {r['warmup_ms']['max']:.0f} ms")
    print("p95 per page: " + ", ".join(f"{p} {v:.0f} ms" for p, v in r["per_page_p95_ms"].items()))
    print(f"server RSS: after warm-up {mb(r['rss_mb']['warm'])}, after the load {mb(r['rss_mb']['after'])}, "
          f"peak {mb(r['rss_mb']['peak'])} (target <= {TARGETS['peak_rss_mb']} MB)")
    groups = {}  # the same fault on the same page is shown once, with a count and its first query
    for p in r["problems"]:
        first = p["exceptions"][0] if p["exceptions"] else {}
        groups.setdefault((p["page"], p["error"], first.get("type"), first.get("message")), []).append(p)
    for (page, error, etype, message), ps in groups.items():
        print(f"PROBLEM x{len(ps)} on {page}?{ps[0]['query']}: {error or f'{etype}: {message}'}")
        if etype:
            print("    " + "\n    ".join(ps[0]["exceptions"][0]["trace"][-8:]))


def main():
    if "--room" in sys.argv[1:]:  # its own options and targets: see benchmarks/room.py
        from benchmarks import room
        return room.main([a for a in sys.argv[1:] if a != "--room"])
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--room", action="store_true", help="run benchmarks/room.py instead: 40 sessions with uploads, "
                    "training and the compare tab, then /dataset while two trainings run (python3 -m benchmarks.room -h)")
    ap.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    ap.add_argument("--reruns", type=int, default=10, help="reruns per session after its first visit (default 10)")
    ap.add_argument("--url", help="a running server (default: start `streamlit run dashboard.py` on a free port)")
    ap.add_argument("--pid", type=int, help="the --url server's process id, to read its RSS from /proc")
    ap.add_argument("--pages", help="comma-separated url paths to use (default: every page; 'home' is the default page)")
    ap.add_argument("--deadline", type=float, default=120.0, help="hard stop in seconds, server start included (default 120)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the page and query mix")
    ap.add_argument("--json", help="also write the report as JSON to this file")
    args = ap.parse_args()
    started = time.monotonic()
    if not args.url and not os.environ.get("MNIST_DIR"):
        print("note: MNIST_DIR is not set, so the pages that need data will show the first-run panel", file=sys.stderr)
    kw = dict(sessions=args.sessions, reruns=args.reruns, deadline_s=args.deadline, seed=args.seed, started=started,
              pages=args.pages.split(",") if args.pages else None)
    if args.url:
        report = run_load(args.url.rstrip("/"), pid=args.pid, **kw)
    else:
        with AppServer(timeout=min(60.0, args.deadline)) as server:
            report = run_load(server.url, pid=server.pid, **kw)
    print_report(report)
    finish(report, json_path=args.json, broken=broken_targets(report), targets=TARGETS)


def finish(report, *, json_path, broken, targets):
    """Write the report as JSON to json_path (if given), then exit 1 naming the broken targets, or say all were met."""
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=2)
    if broken:
        sys.exit(f"targets broken: {', '.join(broken)} (targets: {targets})")
    print(f"all targets met: {targets}")


if __name__ == "__main__":
    main()
