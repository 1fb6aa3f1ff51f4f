"""`train`: fit a net on MNIST with a progress bar and write .npz + card; `train-all`: regenerate every shipped model
(the pre-* family through `train-family`: engine/cli/train_family.py)."""
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from ..data import load_mnist
from ..errors import EngineError
from ..modelfile import load_model, save_model
from ..offmnist import build as build_offmnist
from ..offmnist import card_entry as offmnist_entry
from ..optim import OPTIMIZERS, SCHEDULES
from ..preprocess import DESCRIPTIONS, KINDS
from ..train import TrainConfig, train
from .progress import bar

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
PRE = "--epochs 15 --optimizer adam --lr 0.002 --schedule cosine --seed 0"  # one budget for the preprocessing comparison; its
# lr (and whiten's eps) is the shared rate: train-family ships each choice at the rate its validation sweep chose
SHIPPED = {  # name -> (title, options): `train-all` runs exactly these, each in a fresh process
    "default": ("Default: ReLU 784-256-128-10, unit, Adam + cosine schedule + strong augmentation (±15° rotation, ±20° shear, "
                "±20 % scale, ±2 px shift, thicker and thinner pens, 1.5 px elastic warps), 30 epochs",
                "--hidden 256 128 --activation relu --epochs 30 --optimizer adam --lr 0.001 --schedule cosine --distort --shift 2 "
                "--degrees 15 --shear 20 --scale 0.2 --pen 0.5 --elastic 1.5 --preprocess unit --seed 0"),
    **{f"pre-{k}": (f"Preprocessing '{k}': {DESCRIPTIONS[k]}", f"{PRE} --preprocess {k}") for k in KINDS},
    "relu": ("ReLU 784-50-100-10 (He init), unit", "--epochs 15 --optimizer adam --lr 0.001 --schedule cosine --activation relu --seed 0"),
}


def add_parser(sub):
    d = TrainConfig()
    p = sub.add_parser("train", help="train a network on the MNIST training set and save it as .npz + .json card")
    p.add_argument("--hidden", type=int, nargs="+", default=list(d.hidden), help="hidden layer widths (default: 50 100)")
    p.add_argument("--activation", choices=["sigmoid", "relu"], default=d.activation, help="hidden activation (default: sigmoid)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=d.optimizer, help=f"(default: {d.optimizer})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default: {d.lr})")
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule, help=f"learning-rate schedule (default: {d.schedule})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the training split (default: {d.epochs})")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"images per step (default: {d.batch_size})")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2 penalty on weights (default: 0)")
    p.add_argument("--preprocess", choices=KINDS, default=d.preprocess, help=f"input preprocessing (default: {d.preprocess})")
    p.add_argument("--global-stats", action="store_true", help="standardize with one global mean and std instead of per pixel")
    p.add_argument("--eps", type=float, default=d.eps, help=f"whitening epsilon (default: {d.eps})")
    p.add_argument("--augment", action="store_true", help="random shifts and rotations of the training images every epoch")
    p.add_argument("--shift", type=int, default=d.shift, help=f"augmentation: largest shift in pixels, up to 4 (default: {d.shift})")
    p.add_argument("--degrees", type=int, default=d.degrees, help=f"augmentation: largest rotation in degrees (default: {d.degrees})")
    p.add_argument("--distort", action="store_true", help="strong augmentation instead of --augment: continuous rotation (--degrees), "
                   "shift (--shift), shear, scale, pen and elastic warps")
    p.add_argument("--shear", type=float, default=d.shear, help=f"distort: largest slant in degrees (default: {d.shear:g})")
    p.add_argument("--scale", type=float, default=d.scale, help=f"distort: largest size change, 1 ± scale (default: {d.scale:g})")
    p.add_argument("--pen", type=float, default=d.pen,
                   help=f"distort: share of images drawn with a thicker or thinner pen (default: {d.pen:g})")
    p.add_argument("--elastic", type=float, default=d.elastic, help="distort: largest elastic displacement in px (default: 0, off)")
    p.add_argument("--patience", type=int, default=d.patience, help="stop after N epochs without a better validation accuracy (0: off)")
    p.add_argument("--val-size", type=int, default=d.val_size, help=f"training images held out for validation (default: {d.val_size})")
    p.add_argument("--seed", type=int, default=d.seed, help="fixes split, initial weights, batch order, augmentation (default: 0)")
    p.add_argument("--recipe", choices=list(SHIPPED), help="the settings of a shipped model, e.g. default (options given as well "
                   "are ignored); --out defaults to models/NAME.npz")
    p.add_argument("--out", help="where to write the model, e.g. models/mine.npz (a .json card goes beside it)")
    p.add_argument("--title", help="a one-line description stored in the card")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.set_defaults(run=run)
    p = sub.add_parser("train-all", help="regenerate every shipped model in models/ and print their test accuracies")
    p.add_argument("--only", nargs="+", choices=list(SHIPPED), help="just these models")
    p.add_argument("--jobs", type=int, default=1, help="runs at once for the pre-* family (default 1; the result is the same)")
    p.add_argument("--out-dir", default=str(MODELS_DIR), help=f"where to write them (default: {MODELS_DIR})")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.set_defaults(run=run_all)


def config_from(args):
    """The TrainConfig an argparse namespace asks for."""
    if getattr(args, "recipe", None):  # a shipped recipe: its recorded options, parsed as if typed
        import argparse
        sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
        add_parser(sub)
        name, args = args.recipe, sub.choices["train"].parse_args([*shlex.split(SHIPPED[args.recipe][1]), "--out", "-"])
        args.lr, args.eps = tuned_rate(name, lr=args.lr, eps=args.eps)
    return TrainConfig(hidden=tuple(args.hidden), activation=args.activation, optimizer=args.optimizer, lr=args.lr,
                       schedule=args.schedule, epochs=args.epochs, batch_size=args.batch_size, weight_decay=args.weight_decay,
                       preprocess=args.preprocess, per_pixel=not args.global_stats, eps=args.eps,
                       augment=args.augment, shift=args.shift, degrees=args.degrees, distort=args.distort, shear=args.shear,
                       scale=args.scale, pen=args.pen, elastic=args.elastic,
                       patience=args.patience, val_size=args.val_size, seed=args.seed)


def tuned_rate(name, *, lr, eps):
    """(lr, eps) of a shipped pre-* model: the ones its validation sweep chose (its card's family.tuned), else those given."""
    path = MODELS_DIR / f"{name}.json"
    if not name.startswith("pre-") or not path.is_file():
        return lr, eps
    import json
    tuned = (json.loads(path.read_text(encoding="utf-8")).get("family") or {}).get("tuned") or {}
    return tuned.get("lr", lr), eps if tuned.get("eps") is None else tuned["eps"]


def command_of(c, out):
    """The canonical command line for config c and output path: every setting spelled out."""
    flags = [f"--hidden {' '.join(map(str, c.hidden))}", f"--activation {c.activation}", f"--optimizer {c.optimizer}",
             f"--lr {c.lr:g}", f"--schedule {c.schedule}", f"--epochs {c.epochs}", f"--batch-size {c.batch_size}",
             f"--weight-decay {c.weight_decay:g}", f"--preprocess {c.preprocess}", f"--eps {c.eps:g}",
             f"--patience {c.patience}", f"--val-size {c.val_size}", f"--seed {c.seed}"]
    flags += ["--global-stats"] * (not c.per_pixel) + [f"--augment --shift {c.shift} --degrees {c.degrees}"] * c.augment
    flags += [f"--distort --shift {c.shift} --degrees {c.degrees} --shear {c.shear:g} --scale {c.scale:g} --pen {c.pen:g} "
              f"--elastic {c.elastic:g}"] * c.distort
    return f"python -m engine train {' '.join(flags)} --out {shlex.quote(str(out))}"


def run(args):
    if args.out is None and not args.recipe:
        raise EngineError("Say where to write the model: --out models/mine.npz (or --recipe NAME for models/NAME.npz).")
    config = config_from(args)
    args.out = args.out or str(MODELS_DIR / f"{args.recipe}.npz")
    args.title = args.title or (SHIPPED[args.recipe][0] if args.recipe else None)
    (x, t), (x_test, t_test) = load_mnist(normalize=False, data_dir=args.data_dir, download=False)
    every = max(1, (len(x) - config.val_size) // config.batch_size // 20)  # about 20 redraws per epoch

    def show(info):
        done = (info["epoch"] - 1) * info["steps"] + (info["step"] - 1) % info["steps"] + 1
        val = "-" if info["val_acc"] is None else f"{info['val_acc']:.4f}"
        label = f"epoch {info['epoch']}/{info['epochs']} loss {info['loss']:.4f} acc {info['train_acc']:.4f} val {val}"
        bar(label, done if info["phase"] == "step" else info["epoch"] * info["steps"], info["epochs"] * info["steps"])

    model = train(x, t, config=config, callback=show, every=every)
    sys.stderr.write("\n")
    model.card.update(name=Path(args.out).stem, title=args.title or f"{'-'.join(map(str, model.sizes))} {config.activation}, "
                      f"{config.preprocess}, {config.optimizer}", command=command_of(config, args.out))
    model.card["test_accuracy"] = model.score(x_test, t_test)  # reported only: nothing above saw the test set
    off = offmnist_entry(model, build_offmnist(x_test, t_test))  # digits unlike MNIST's: reported only, never trained on
    model.card.update(offmnist_accuracy=off["accuracy"], offmnist=off)
    path = save_model(model, args.out)
    f = lambda v: "-" if v is None else f"{v:.4f}"  # no fonts on this machine: no typed digits
    print(f"{path}: best epoch {model.card['best_epoch']}, validation accuracy {model.card['val_accuracy']:.4f}, "
          f"test accuracy {model.card['test_accuracy']:.4f}, on digits unlike MNIST's {f(off['accuracy'])} "
          f"(typed {f(off['typed'])}, handwriting-like {f(off['hand'])}), {model.card['seconds']:.1f} s")


def run_all(args):
    names = args.only or list(SHIPPED)
    env = {**os.environ}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # batch-100 matmuls gain nothing from threads, and a busy core stalls them badly
    rows = []
    family = [n for n in names if n.startswith("pre-")]  # one train-family run: sweeps, seeds, then the shipped seed
    for name in names:
        if name in family[1:]:
            continue
        title, options = SHIPPED[name]
        out = Path(args.out_dir).resolve() / f"{name}.npz"
        rel = os.path.relpath(out, MODELS_DIR.parent)
        out = Path(rel) if not rel.startswith("..") else out  # models/NAME.npz in the card when inside the repo
        cmd = [sys.executable, "-m", "engine", "train", *shlex.split(options), "--out", str(out), "--title", title]
        if name in family:
            cmd = [sys.executable, "-m", "engine", "train-family", "--kinds", *(n.removeprefix("pre-") for n in family),
                   "--jobs", str(args.jobs), "--out-dir", str(Path(args.out_dir).resolve())]
        cmd += ["--data-dir", str(Path(args.data_dir).resolve())] if args.data_dir else []  # the child runs in the repo
        print(f"== {', '.join(family) if name in family else name}: {shlex.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        if subprocess.run(cmd, env=env, cwd=MODELS_DIR.parent).returncode != 0:
            raise EngineError(f"Training {name} failed (see the error above); fix it and rerun `python -m engine train-all --only {name}`.")
        for done in family if name in family else [name]:
            rows.append(_row(done, out.parent / f"{done}.npz", time.perf_counter() - start))
    print("\n| model | test accuracy | validation accuracy | best epoch | seconds | typed digits | handwriting-like | what |\n"
          "|---|---|---|---|---|---|---|---|")
    f = lambda v: "-" if v is None else f"{v:.4f}"
    for name, test, val, best, seconds, typed, hand, title in rows:
        print(f"| {name} | {test:.4f} | {val:.4f} | {best} | {seconds:.0f} | {f(typed)} | {f(hand)} | {title} |")


def _row(name, out, seconds):
    """One line of train-all's table from a written model (seconds: its command's wall time; the family's, for pre-*)."""
    card = load_model(MODELS_DIR.parent / out).card  # out may be relative to the repo, where the child ran
    off = card.get("offmnist") or {}
    return (name, card["test_accuracy"], card["val_accuracy"], card["best_epoch"], seconds, off.get("typed"), off.get("hand"),
            card.get("title") or SHIPPED[name][0])
