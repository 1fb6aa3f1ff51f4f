"""What a tab following a training costs the server: its process CPU while the tab polls the run's fragments, against
the same seconds with the tab quiet, with Streamlit's post-run full GC (runner.postScriptGC) on and off, side by side.

Run by hand from the repo root:
    MNIST_DIR=... python3 -m benchmarks.bench_follow [--rounds 5] [--seconds 10]
One server per setting, each with one tab training a large net (it outlasts the run); rounds alternate the settings.
"""
import argparse
import asyncio
import contextlib
import os
import statistics
import time

from benchmarks.appclient import Run, Session
from benchmarks.appserver import AppServer

QUERY = "layers=3&w1=256&w2=256&w3=256&bs=10&aug=1&epochs=2&n=60000&lang=en"  # minutes of training: it outlasts the run
TICK = os.sysconf("SC_CLK_TCK")
SETTINGS = {"postScriptGC on (Streamlit's default)": "true", "postScriptGC off (.streamlit/config.toml)": "false"}


def cpu_seconds(pid):
    """User + system CPU seconds of process pid so far (all its threads, not its children)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def started(url):
    """A session on url whose training runs; (session, None) or (None, error)."""
    c = Session(url, 1)
    await c.open(timeout=60)
    await c.rerun(Run(1, "open", "train", QUERY), timeout=120)
    run = await c.press(Run(1, "start", "train", QUERY), "tr_start", timeout=120)
    return c, run.error


async def share(pid, c, *, seconds, follow):
    """(% of a core the server used over `seconds`, fragment reruns' median ms or None) with the tab following or not."""
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    if follow:
        runs = await c.follow(lambda: Run(1, "follow", "train", QUERY), seconds=seconds, timeout=60)
        ms = statistics.median(r.ms for r in runs) if runs else None
    else:
        await asyncio.sleep(seconds)
        ms = None
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100, ms


async def main(args):
    servers, sessions = {}, {}
    with contextlib.ExitStack() as stack:
        for name, flag in SETTINGS.items():
            servers[name] = stack.enter_context(AppServer(env={"STREAMLIT_RUNNER_POST_SCRIPT_GC": flag}))
            sessions[name], error = await started(servers[name].url)
            if error:
                raise SystemExit(f"{name}: the training did not start ({error})")
        await asyncio.sleep(10)  # both trainers past their start
        got = {name: {"quiet": [], "follow": [], "ms": []} for name in SETTINGS}
        for r in range(args.rounds):
            for name in (list(SETTINGS) if r % 2 == 0 else list(SETTINGS)[::-1]):
                pid, c = servers[name].pid, sessions[name]
                got[name]["quiet"].append((await share(pid, c, seconds=args.seconds, follow=False))[0])
                pct, ms = await share(pid, c, seconds=args.seconds, follow=True)
                got[name]["follow"].append(pct)
                got[name]["ms"].append(ms)
        load = os.getloadavg()
        print(f"{args.rounds} rounds of {args.seconds:g} s per setting, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print("| setting | server CPU, tab quiet | server CPU, tab following | fragment rerun (median) |")
        print("|---|---|---|---|")
        for name, g in got.items():
            ms = [m for m in g["ms"] if m is not None]
            print(f"| {name} | {statistics.median(g['quiet']):.1f} % | {statistics.median(g['follow']):.1f} % of a core | "
                  f"{statistics.median(ms):.0f} ms |")
        for c in sessions.values():
            await c.close()


def parse():
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_follow", description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds, at least 3 (default 5)")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per measurement (default 10)")
    return p.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
