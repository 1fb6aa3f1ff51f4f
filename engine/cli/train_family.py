"""`train-family`: the shipped pre-* models, each choice at its own validated rate, with every seed's numbers in its card.

Per choice: a rate sweep (and an eps sweep for whiten) judged on the validation split, then every seed at the chosen
and at the shared rate; the test set is scored once the rates are chosen (engine/family.py). Each run is seeded, so
--jobs changes the wall time and nothing else. `train-all` runs this for its pre-* models.
"""
import hashlib
import json
import os
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

from ..data import load_mnist
from ..errors import EngineError, TrainingError
from ..family import Plan, build
from ..modelfile import load_model, save_model
from ..offmnist import build as build_offmnist
from ..offmnist import card_entry as offmnist_entry
from ..preprocess import KINDS
from ..train import TrainConfig
from .train import MODELS_DIR, SHIPPED, command_of, config_from
from .train import add_parser as add_train_parser

_DATA = {}  # a pool worker's training images, loaded once per worker


def add_parser(sub):
    d = Plan()
    p = sub.add_parser("train-family", help="the shipped pre-* models: a rate (and whitening eps) sweep per choice on the "
                                            "validation split, then several seeds at the chosen and the shared rate")
    p.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="preprocessing choices (default: all five)")
    p.add_argument("--rates", nargs="+", type=float, default=list(d.rates), help=f"learning rates to sweep (default: {d.rates})")
    p.add_argument("--eps", nargs="+", type=float, default=list(d.eps), help=f"whitening epsilons to sweep (default: {d.eps})")
    p.add_argument("--extend", type=int, default=d.extend, help="times the sweep may step beyond an edge of its grid when the "
                   f"best value sits on it (default: {d.extend})")
    p.add_argument("--seeds", type=int, default=len(d.seeds), help=f"seeds 0..N-1 per rate (default: {len(d.seeds)})")
    p.add_argument("--epochs", type=int, help="override the shipped budget's epochs (for a quick trial)")
    p.add_argument("--val-size", type=int, help="override the shipped budget's validation images (for a quick trial)")
    p.add_argument("--jobs", type=int, default=1, help="runs at once, each in its own process (default 1; the result is the same)")
    p.add_argument("--cache-dir", help="keep every run here (.npz) and reuse runs already there: an interrupted build resumes")
    p.add_argument("--out-dir", default=str(MODELS_DIR), help=f"where to write pre-KIND.npz (default: {MODELS_DIR})")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.set_defaults(run=run)


def base_config(*, epochs=None, val_size=None):
    """The shared budget of the pre-* models (SHIPPED's options), with its shared rate and eps; epochs and val_size
    override it for a quick trial."""
    import argparse
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    add_train_parser(sub)
    config = config_from(sub.choices["train"].parse_args([*shlex.split(SHIPPED["pre-unit"][1]), "--out", "-"]))
    return replace(config, **({"epochs": epochs} if epochs else {}), **({"val_size": val_size} if val_size else {}))


def _load(data_dir, cache_dir=None):
    _DATA["train"] = load_mnist(normalize=False, data_dir=data_dir, download=False)[0]
    _DATA["cache"] = Path(cache_dir) if cache_dir else None


def _train(config):
    """One run (None if it diverged); with a cache folder, a run done before is loaded from it instead."""
    from ..train import train
    cached = _DATA["cache"] / f"{hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode()).hexdigest()[:20]}.npz" \
        if _DATA["cache"] else None
    if cached is not None and cached.is_file():
        return load_model(cached)
    x, t = _DATA["train"]
    try:
        model = train(x, t, config=config)
    except TrainingError:  # the loss became NaN or infinite: this rate is too high, and the sweep says so
        return None
    if cached is not None:
        save_model(model, cached)
    return model


def trainer(data_dir, *, jobs, log, cache_dir=None):
    """train_many(configs) -> [MLP or None]: in this process, or in a pool of `jobs` processes, logging each run."""
    count = [0]
    start = time.perf_counter()

    def note(config, model):
        count[0] += 1
        what = "diverged" if model is None else (f"validation {model.card['val_accuracy']:.4f}, best epoch {model.card['best_epoch']}")
        log(f"run {count[0]}: {config.preprocess} lr {config.lr:g}" + (f" eps {config.eps:g}" if config.preprocess == "whiten" else "")
            + f" seed {config.seed}: {what}, {time.perf_counter() - start:.0f} s since the start\n")
        return model

    def train_many(configs):
        if jobs <= 1:
            if "train" not in _DATA:
                _load(data_dir, cache_dir)
            return [note(c, _train(c)) for c in configs]
        with ProcessPoolExecutor(max_workers=jobs, initializer=_load, initargs=(data_dir, cache_dir)) as pool:
            return [note(c, m) for c, m in zip(configs, pool.map(_train, configs), strict=True)]

    return train_many


def run(args):
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # for pool workers started from here
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(limits=1, user_api="blas")  # batch-100 matmuls gain nothing from threads (engine/cli/train.py)
    except ImportError:
        pass
    if args.seeds < 1 or not args.rates or args.jobs < 1:
        raise EngineError("train-family needs at least 1 seed, 1 rate and 1 job.")
    plan = Plan(rates=tuple(args.rates), eps=tuple(args.eps), seeds=tuple(range(args.seeds)), extend=args.extend)
    base = base_config(epochs=args.epochs, val_size=args.val_size)
    _, (x_test, t_test) = load_mnist(normalize=False, data_dir=args.data_dir, download=False)
    log = lambda text: (sys.stderr.write(text), sys.stderr.flush())  # noqa: E731
    start = time.perf_counter()
    if args.cache_dir:
        Path(args.cache_dir).mkdir(parents=True, exist_ok=True)
    train_many = trainer(args.data_dir, jobs=args.jobs, log=log, cache_dir=args.cache_dir)
    shipped, entries = build(args.kinds, base=base, plan=plan, train_many=train_many, score=lambda m: m.score(x_test, t_test))
    off_set = build_offmnist(x_test, t_test)  # digits unlike MNIST's: reported only, never trained on
    out_dir = Path(args.out_dir).resolve()
    for kind, model in shipped.items():
        name = f"pre-{kind}"
        out = out_dir / f"{name}.npz"
        rel = os.path.relpath(out, MODELS_DIR.parent)
        shown = Path(rel) if not rel.startswith("..") else out  # models/NAME.npz in the card when inside the repo
        config = TrainConfig(**{**model.card["training"], "hidden": tuple(model.card["training"]["hidden"])})
        model.card.update(name=name, title=SHIPPED[name][0] if name in SHIPPED else name, command=command_of(config, shown),
                          test_accuracy=model.score(x_test, t_test), family=entries[kind])
        off = offmnist_entry(model, off_set)
        model.card.update(offmnist_accuracy=off["accuracy"], offmnist=off)
        save_model(model, out)
    print(table(entries, shared=base.lr))
    print(f"\n{sum(len(e['sweep']) for e in entries.values())} sweep runs and {2 * len(plan.seeds)} seeded runs per choice "
          f"(shared with the sweep where equal), {time.perf_counter() - start:.0f} s")


def table(entries, *, shared):
    """A Markdown table of the family: chosen rate, test accuracy mean ± sd with its 95 % interval, at both rates."""
    from ..stats import mean_interval

    def cell(rows, field, scale, fmt):
        values = [r[field] * scale for r in rows if r[field] is not None]
        if not values:
            return "not reached"
        i = mean_interval(values)
        reached = "" if len(values) == len(rows) else f" ({len(values)} of {len(rows)} reached)"
        return f"{i.mean:{fmt}} ± {i.sd:{fmt}} [{i.lo:{fmt}}, {i.hi:{fmt}}]{reached}"

    lines = [f"| choice | chosen rate | test accuracy % (chosen) | test accuracy % (shared {shared:g}) | epochs to 95 % (chosen) | "
             "epochs to 95 % (shared) |", "|---|---|---|---|---|---|"]
    for kind, e in entries.items():
        rate = f"{e['tuned']['lr']:g}" + (f", eps {e['tuned']['eps']:g}" if e["tuned"]["eps"] is not None else "")
        r = e["runs"]
        lines.append(f"| {kind} | {rate} | {cell(r['tuned'], 'test_accuracy', 100, '.2f')} | "
                     f"{cell(r['shared'], 'test_accuracy', 100, '.2f')} | {cell(r['tuned'], 'to95', 1, '.1f')} | "
                     f"{cell(r['shared'], 'to95', 1, '.1f')} |")
    return "\n".join(lines)
