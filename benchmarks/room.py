"""A class in one room: 40 sessions x 10 reruns with uploads, training and the compare tab in the mix, then one
visitor's /dataset reruns idle and while 2 trainings run and 10 more tabs wait; exits 1 if a target breaks.

Run by hand from the repo root (it starts its own server on a free 127.0.0.1 port with a private cache):
    MNIST_DIR=/path/to/mnist BOOK_WEIGHTS=/path/to/sample_weight.pkl python3 -m benchmarks.room [--sessions 40] [--reruns 10]
(`python3 -m benchmarks.load --room` is the same run.)

1. Warm-up: every session's first page at the same moment (benchmarks/load.py's cold start).
2. The mix: each session's reruns are load.py's random pages and queries, with steps replaced by actions:
   every session uploads a model in the sidebar (even sessions a valid .npz, odd ones a hostile file: truncated,
   a zip bomb, a pickle that calls os.system, random bytes), every 4th session trains (/train with small settings,
   Train pressed, then the tab follows its progress as a browser does until the run ends), every 2nd session opens
   the compare tab of three models. A refused training ("The server is busy") is an expected outcome; an upload
   must add one error (hostile) or select the model (valid), and nothing may raise.
3. The /dataset probe, with the mix's tabs closed: a visitor reruns /dataset (idle), then 12 tabs open /train with
   a large network and press Train one after another (2 run, 4 wait in line, 6 are refused) and follow their
   pages; the visitor reruns /dataset again (busy); then every run is stopped and the visitor reruns once more
   (idle). Target: busy median <= 1.5 x the idle median.
"""
import argparse
import asyncio
import io
import os
import random
import statistics
import time
import zipfile

from benchmarks import load
from benchmarks.appclient import Run, Session
from benchmarks.appserver import AppServer, RssMeter
from benchmarks.load import first_visits, load_plan, percentile
from benchmarks.pagequery import page_params, router_pages
from engine.modelfile import model_bytes
from tests.apptest_helpers import random_model

# deploy.md's 600 MB is for 20 sessions; 40 with this mix measured 548-557 MB before the 784-256-128-10 default and the
# out-of-MNIST evaluation (2 Dec 2026, 06:20), 765-785 MB after: the room's budget is that plus 8 % (docs/security.md)
TARGETS = {**load.TARGETS, "peak_rss_mb": 850, "busy_over_idle": 1.5}
UPLOAD_KEY, START_KEY, STOP_KEY = "model_upload_file", "tr_start", "tr_stop"
SMALL_TRAIN = "layers=1&w1=16&epochs=1&n=1000&lang=en"  # the smallest run pages/train.py offers: ~1 s in its process
BIG_TRAIN = "layers=3&w1=256&w2=256&w3=256&bs=10&aug=1&epochs=2&n=60000&lang=en"  # ~25 s an epoch: it outlasts the probe
COMPARE = "tab=compare&cmp=default,book,pre-unit&lang=en"
DATASET_QUERIES = ("", "digit=3", "page=2", "split=test")  # the visitor's reruns, the same rotation idle and busy
BUSY_TABS = 12  # 2 train, 4 wait in line (ui/slots.py), 6 are refused: 10 tabs that wait
FOLLOW_S = 60.0  # at most this long a mix tab follows its training
THINK_S = 0.3  # the visitor's pause between reruns


def zip_bomb(mib=256):
    """An .npz of about 0.3 MB whose W1.npy unpacks to mib MiB of float32 zeros (a valid header: only its size is wrong)."""
    d = b"{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % (mib * 2**18)
    d += b" " * (-(10 + len(d) + 1) % 64) + b"\n"  # .npy v1: the header ends on a 64-byte boundary
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open("W1.npy", "w", force_zip64=True) as f:
        f.write(b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d)
        for _ in range(mib // 4):
            f.write(bytes(4 * 2**20))
    return buf.getvalue()


def uploads():
    """{file name: bytes}: the valid models first, then the hostile files (each must give one error)."""
    good = {f"net{i}.npz": model_bytes(random_model([784, 50, 100, 10], seed=i, title=f"Room net {i}")) for i in range(4)}
    half = good["net0.npz"][: len(good["net0.npz"]) // 2]
    evil = b"cos\nsystem\n(S'echo pwned'\ntR."  # protocol 0: os.system('echo pwned') if anything unpickled it
    bad = {"truncated.npz": half, "bomb.npz": zip_bomb(), "evil.pkl": evil, "noise.npz": random.Random(0).randbytes(5000)}
    return good, bad


def room_plan(pages, params, *, sessions, reruns, seed, good, bad, compare=COMPARE):
    """Per session its steps [(kind, page, query, arg)]: load.py's random pages, with the actions dealt in."""
    rng, plan = random.Random(seed + 2), []
    for i, steps in enumerate(load_plan(pages, params, sessions=sessions, reruns=reruns, seed=seed)):
        steps = [("page", p, q, None) for p, q in steps]
        names = list(good if i % 2 == 0 else bad)
        actions = [("upload", None, None, names[(i // 2) % len(names)])]
        if i % 4 == 0:
            actions.append(("train", "train", SMALL_TRAIN, None))
        if i % 2 == 1:
            actions.append(("compare", "evaluate", compare, None))
        for slot, action in zip(rng.sample(range(len(steps)), min(len(actions), len(steps))), actions, strict=False):
            steps[slot] = action
        plan.append(steps)
    return plan


async def train(c, number, phase, query, *, timeout, follow_s):
    """Open /train?query, press Train, follow the page while the run lasts; (runs, outcome)."""
    runs = [await c.rerun(Run(number, phase, "train", query), timeout=timeout)]
    if runs[-1].error:
        return runs, "failed"
    runs.append(await c.press(Run(number, phase, "train", query), START_KEY, timeout=timeout))
    if runs[-1].said("WARNING", "The server is busy"):
        return runs, "refused"
    runs += await c.follow(lambda: Run(number, phase, "train", query), seconds=follow_s, timeout=timeout)
    return runs, ("done" if any(r.said("SUCCESS", "Finished in") for r in runs) else "unfinished")


async def step(c, action, last, *, timeout, files):
    """One step of a session's plan; (runs, outcome or None). last: the (page, query) its previous run showed."""
    kind, page, query, arg = action
    n = c.number
    if kind == "train":
        return await train(c, n, "load", query, timeout=timeout, follow_s=min(FOLLOW_S, timeout))
    if kind == "upload":  # on the page the tab shows: the uploader's id holds the page
        run = await c.upload(Run(n, "load", *last), UPLOAD_KEY, arg, files[arg], timeout=timeout)
        return [run], upload_verdict(run, arg, before=last)
    return [await c.rerun(Run(n, "load", page, query, kind="compare" if kind == "compare" else "page"), timeout=timeout)], None


def upload_verdict(run, name, *, before):
    """'accepted' or 'refused' as expected for this file, else the run gets an error saying what the page showed."""
    if run.error:
        return "failed"
    valid = name.startswith("net")
    errors, ok = run.said("ERROR"), run.said("SUCCESS", f"upload:{name.removesuffix('.npz')}")
    if valid and ok and not errors:
        return "accepted"
    if not valid and len(errors) == 1 and not ok:
        return "refused"
    run.error = f"upload of {name} on {before}: expected {'its success' if valid else 'one error'}, saw {run.notes}"
    return "failed"


async def mix(url, *, sessions, reruns, seed, deadline, good, bad, compare=COMPARE):
    """Warm-up and the mix; (runs, outcomes {kind: {outcome: count}}, samples of hostile errors)."""
    left = lambda: deadline - time.monotonic()
    files = {**good, **bad}
    clients = [Session(url, i) for i in range(sessions)]
    await asyncio.gather(*(c.open(timeout=max(left(), 0.01)) for c in clients))
    pages = router_pages()
    first = first_visits(pages, sessions, seed=seed)
    runs, outcomes, samples = [], {}, {}

    async def play(c, steps):
        page, query = first[c.number][0]
        out = [await c.rerun(Run(c.number, "warm-up", page, query), timeout=left())]
        last = (page, query)
        for action in steps:
            if left() <= 0:
                out.append(Run(c.number, "load", action[1] or "", action[2] or "", error="not run: the deadline passed"))
                continue
            got, outcome = await step(c, action, last, timeout=left(), files=files)
            out += got
            if outcome:
                outcomes.setdefault(action[0], {}).setdefault(outcome, 0)
                outcomes[action[0]][outcome] += 1
                if outcome == "refused" and action[0] == "upload":
                    samples.setdefault(action[3], " ".join(got[-1].said("ERROR")[0].split())[:300])
            last = (got[-1].page, got[-1].query)
        return out

    plan = room_plan(pages, page_params(), sessions=sessions, reruns=reruns, seed=seed, good=good, bad=bad, compare=compare)
    try:
        for out in await asyncio.gather(*(play(c, s) for c, s in zip(clients, plan, strict=True))):
            runs += out
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return runs, outcomes, samples


async def visit_dataset(visitor, phase, reruns, *, left):
    """The visitor's /dataset reruns, rotating DATASET_QUERIES, THINK_S apart."""
    out = []
    for i in range(reruns):
        if left() <= 0:
            break
        out.append(await visitor.rerun(Run(visitor.number, phase, "dataset", DATASET_QUERIES[i % len(DATASET_QUERIES)]),
                                       timeout=left()))
        await asyncio.sleep(THINK_S)
    return out


async def probe(url, *, reruns, deadline):
    """The /dataset probe (see the module's doc); (runs, training outcomes {tab: outcome})."""
    left = lambda: deadline - time.monotonic()
    visitor, tabs = Session(url, 1000), [Session(url, 1001 + j) for j in range(BUSY_TABS)]
    await asyncio.gather(*(c.open(timeout=max(left(), 0.01)) for c in [visitor, *tabs]))
    runs, outcome, done = [], {}, asyncio.Event()
    try:
        runs += await visit_dataset(visitor, "probe warm-up", len(DATASET_QUERIES), left=left)  # each query's caches
        runs += await visit_dataset(visitor, "idle", reruns, left=left)
        runs += await asyncio.gather(*(c.rerun(Run(c.number, "busy tabs", "train", BIG_TRAIN), timeout=left()) for c in tabs))
        for c in tabs:  # one after another: the first two take the slots, four wait in line, the rest are refused
            r = await c.press(Run(c.number, "busy tabs", "train", BIG_TRAIN), START_KEY, timeout=left())
            runs.append(r)
            outcome[c.number] = ("refused" if r.said("WARNING", "The server is busy") else
                                 "waiting" if r.said("INFO", "Waiting for a free") else "running")
        seen = {c.number: [] for c in tabs}  # each tab's fragment runs, as they happen

        def tab_run(c):
            seen[c.number].append(run := Run(c.number, "busy tabs", "train", BIG_TRAIN))
            return run
        followers = [asyncio.create_task(c.follow(lambda c=c: tab_run(c), seconds=max(left(), 0), timeout=max(left(), 0.01),
                                                  until=done.is_set)) for c in tabs]
        trained = [c for c in tabs if outcome[c.number] == "running"]
        while left() > 0 and not all(any(r.said("PROGRESS", "Epoch") for r in seen[c.number]) for c in trained):
            await asyncio.sleep(0.5)  # both runs are past their start: their trainers report batches
        runs += await visit_dataset(visitor, "busy", reruns, left=left)
        done.set()
        await asyncio.gather(*followers)
        runs += [r for c in tabs for r in seen[c.number]]
        waiting = [c for c in tabs if outcome[c.number] == "waiting"]
        for c in waiting + trained:  # the line first, so no waiting run takes a freed slot
            runs.append(await c.press(Run(c.number, "busy tabs", "train", BIG_TRAIN), STOP_KEY, timeout=left()))
        for got in await asyncio.gather(*(c.follow(lambda c=c: Run(c.number, "busy tabs", "train", BIG_TRAIN),
                                                    seconds=max(min(left(), 90), 0), timeout=max(left(), 0.01))
                                          for c in waiting + trained)):
            runs += got  # until every run has ended (a stopped trainer saves after its batch)
        runs += await visit_dataset(visitor, "idle", reruns, left=left)
    finally:
        await asyncio.gather(*(c.close() for c in [visitor, *tabs]), return_exceptions=True)
    return runs, outcome



def run_room(url, *, pid=None, sessions=40, reruns=10, probe_reruns=12, deadline_s=600.0, seed=0, started=None,
             compare=COMPARE):
    """The mix, then the /dataset probe (none when probe_reruns is 0), against url (its RSS read when pid is given);
    returns the report dict. compare: the compare tab's query (its models must exist on the server)."""
    started = started or time.monotonic()
    deadline, loadavg = started + deadline_s, {"before": os.getloadavg()}
    good, bad = uploads()
    with RssMeter(pid) as meter:
        runs, outcomes, samples = asyncio.run(mix(url, sessions=sessions, reruns=reruns, seed=seed, deadline=deadline,
                                                  good=good, bad=bad, compare=compare))
        rss, loadavg["after the mix"], mixed_s = {"after the mix": meter.now_mb()}, os.getloadavg(), time.monotonic() - started
        probe_runs, tabs = asyncio.run(probe(url, reruns=probe_reruns, deadline=deadline)) if probe_reruns else ([], {})
        rss["after the probe"], rss["peak"], loadavg["after the probe"] = meter.now_mb(), meter.peak_mb(), os.getloadavg()
    return make_report(runs, probe_runs, outcomes, tabs, samples=samples, sessions=sessions, reruns=reruns, rss=rss,
                       load=loadavg, mixed_s=mixed_s, elapsed=time.monotonic() - started)


def make_report(runs, probe_runs, outcomes, tabs, *, samples, sessions, reruns, rss, load, mixed_s, elapsed):
    """The figures the issue asks for, as a dict."""
    every = runs + probe_runs
    clicks = [r for r in runs if r.phase == "load" and r.kind != "fragment" and not r.error]
    ms = lambda phase: [r.ms for r in probe_runs if r.phase == phase and not r.error]
    idle, busy = ms("idle"), ms("busy")
    med = lambda v: statistics.median(v) if v else float("nan")
    counts = {}
    for r in every:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    tab_outcomes = {}
    for o in tabs.values():
        tab_outcomes[o] = tab_outcomes.get(o, 0) + 1
    return {
        "sessions": sessions, "reruns": reruns, "runs": len(every), "runs_by_kind": counts,
        "failures": sum(1 for r in every if r.error), "exceptions": sum(len(r.exceptions) for r in every),
        "outcomes": outcomes, "hostile_errors": samples,
        "latency_ms": {"p50": percentile([r.ms for r in clicks], 50), "p95": percentile([r.ms for r in clicks], 95),
                       "max": max((r.ms for r in clicks), default=float("nan"))},
        "p95_by_kind_ms": {k: percentile([r.ms for r in clicks if r.kind == k], 95) for k in ("page", "compare", "upload", "press")},
        "dataset_ms": {"idle": med(idle), "busy": med(busy), "ratio": med(busy) / med(idle), "idle_runs": idle, "busy_runs": busy},
        "busy_tabs": tab_outcomes, "rss_mb": rss, "load_average": load, "mix_s": mixed_s, "elapsed_s": elapsed,
        "problems": [{"phase": r.phase, "kind": r.kind, "page": r.page, "query": r.query, "error": r.error,
                      "exceptions": [{"type": t, "message": m, "trace": tr} for t, m, tr in r.exceptions]}
                     for r in every if r.error or r.exceptions],
    }


def broken_targets(report):
    """Names of the targets the report breaks."""
    broken = [k for k in ("failures", "exceptions") if report[k] > TARGETS[k]]
    if (report["rss_mb"]["peak"] or 0) > TARGETS["peak_rss_mb"]:
        broken.append("peak_rss_mb")
    if not report["dataset_ms"]["ratio"] <= TARGETS["busy_over_idle"]:  # nan (nothing measured) breaks it too
        broken.append("busy_over_idle")
    return broken


def print_report(r):
    f = lambda xs: ", ".join(f"{x:.2f}" for x in xs)
    lat, ds, rss = r["latency_ms"], r["dataset_ms"], r["rss_mb"]
    print(f"{r['sessions']} sessions x {r['reruns']} reruns with uploads, training and the compare tab: {r['mix_s']:.0f} s; "
          f"then the /dataset probe; {r['elapsed_s']:.0f} s in all")
    print("load average (1, 5, 15 min): " + "; ".join(f"{k} {f(v)}" for k, v in r["load_average"].items()))
    print(f"runs {r['runs']} {r['runs_by_kind']}  failures {r['failures']}  app exceptions {r['exceptions']}")
    print(f"outcomes: {r['outcomes']}; the busy tabs: {r['busy_tabs']}")
    print(f"latency over the mix's clicks: p50 {lat['p50']:.0f} ms  p95 {lat['p95']:.0f} ms  max {lat['max']:.0f} ms; p95 by kind: "
          + ", ".join(f"{k} {v:.0f} ms" for k, v in r["p95_by_kind_ms"].items()))
    print(f"/dataset median: idle {ds['idle']:.0f} ms ({len(ds['idle_runs'])} runs), with 2 trainings and 10 waiting tabs "
          f"{ds['busy']:.0f} ms ({len(ds['busy_runs'])} runs): {ds['ratio']:.2f}x (target <= {TARGETS['busy_over_idle']}x)")
    print("server RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items() if v is not None)
          + f" (target <= {TARGETS['peak_rss_mb']} MB)")
    for name, text in r["hostile_errors"].items():
        print(f"  {name}: {text}")
    for p in r["problems"][:20]:
        first = p["exceptions"][0] if p["exceptions"] else {}
        print(f"PROBLEM {p['phase']} {p['kind']} {p['page']}?{p['query']}: {p['error'] or first.get('type')}: {first.get('message', '')}")
        if first:
            print("    " + "\n    ".join(first["trace"][-8:]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=40, help="concurrent sessions in the mix (default 40)")
    ap.add_argument("--reruns", type=int, default=10, help="reruns per session after its first visit (default 10)")
    ap.add_argument("--probe-reruns", type=int, default=12, help="the visitor's /dataset reruns per phase (default 12)")
    ap.add_argument("--deadline", type=float, default=600.0, help="hard stop in seconds, server start included (default 600)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the page and query mix")
    ap.add_argument("--json", help="also write the report as JSON to this file")
    args = ap.parse_args(argv)
    started = time.monotonic()
    with AppServer(timeout=min(60.0, args.deadline)) as server:
        report = run_room(server.url, pid=server.pid, sessions=args.sessions, reruns=args.reruns, seed=args.seed,
                          probe_reruns=args.probe_reruns, deadline_s=args.deadline, started=started)
        report["server_log"] = server.log_tail()
    print_report(report)
    if "Traceback" in report["server_log"]:
        print(report["server_log"])
    load.finish(report, json_path=args.json, broken=broken_targets(report), targets=TARGETS)


if __name__ == "__main__":
    main()
