"""`train-job`: train from a JSON spec in a separate process, reporting progress as JSON lines (the dashboard's trainer).

A web server that trains in one of its own threads makes every other visitor wait for the GIL; a child process at a
lower priority, with one BLAS thread, leaves the server's cores to the pages. Protocol:
  stdout, one JSON object per line: {"event": "info", "name", "info"}, {"event": "model", "name", "path"},
                                    {"event": "error", "message"}, {"event": "done", "stopped"}
  stdin: a line "stop" (or end of input) stops after the current batch; the best weights so far are kept and saved.
"""
import json
import os
import sys
import threading
from dataclasses import fields
from pathlib import Path

from ..compare import compare, compare_seeds
from ..data import load_raw
from ..errors import EngineError
from ..modelfile import save_model
from ..train import TrainConfig, train


def add_parser(sub):
    p = sub.add_parser("train-job", help="train from a JSON spec, printing progress as JSON lines (used by the dashboard)")
    p.add_argument("spec", help='JSON file: {"names": [...], "comparison": bool, "seeds": [int, ...] (optional), "n_train": int, '
                                '"data_dir": str, "out_dir": str, "config": {TrainConfig fields}}')
    p.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N first (default 0)")
    p.set_defaults(run=run)


def emit(event, **values):
    """One progress line on stdout, flushed so the reader sees it at once."""
    sys.stdout.write(json.dumps({"event": event, **values}) + "\n")
    sys.stdout.flush()


def watch_stdin(stop):
    """Set stop when a line 'stop' arrives or stdin ends (the parent is gone)."""
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stop.set()


def config_of(spec):
    """The TrainConfig of a spec's "config" dict (unknown keys are an error, lists become tuples)."""
    known = {f.name for f in fields(TrainConfig)}
    c = dict(spec.get("config") or {})
    unknown = sorted(set(c) - known)
    if unknown:
        raise EngineError(f"The training spec has unknown settings {unknown}: use the fields of engine.train.TrainConfig.")
    if "hidden" in c:
        c["hidden"] = tuple(c["hidden"])
    return TrainConfig(**c)


def run(args):
    if args.nice:
        os.nice(args.nice)
    stop = threading.Event()
    threading.Thread(target=watch_stdin, args=(stop,), daemon=True).start()
    try:
        spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
        config, names, n, out = config_of(spec), list(spec["names"]), int(spec["n_train"]), Path(spec["out_dir"])
        every, comparison, data_dir = int(spec.get("every") or 0), bool(spec.get("comparison")), spec.get("data_dir")
        seeds = [int(s) for s in spec.get("seeds") or []]  # a seeded comparison: runs named kind@seed (engine.compare)
    except EngineError as e:
        emit("error", message=str(e))
        return 1
    except (OSError, ValueError, KeyError, TypeError) as e:
        emit("error", message=f"The training spec {args.spec} is unusable ({type(e).__name__}: {e}).")
        return 1

    def report(name, info):
        emit("info", name=name, info=info)
        return not stop.is_set()

    try:
        raw = load_raw(data_dir)
        x, t = raw["train_img"][:n].reshape(-1, 784), raw["train_label"][:n]
        x_test, t_test = raw["test_img"].reshape(-1, 784), raw["test_label"]
        if comparison and seeds:
            models = compare_seeds(x, t, kinds=names, seeds=seeds, config=config, callback=report, every=every)
        elif comparison:
            models = compare(x, t, kinds=names, config=config, callback=report, every=every)
        else:
            models = {names[0]: train(x, t, config=config, callback=lambda info: report(names[0], info), every=every)}
        for name, m in models.items():
            m.card["test_accuracy"] = m.score(x_test, t_test)  # once, after training: nothing above saw the test set
            emit("model", name=name, path=str(save_model(m, out / f"{name}.npz")))
    except EngineError as e:
        emit("error", message=str(e))
        return 1
    emit("done", stopped=stop.is_set())
    return 0
