"""Seconds per training epoch (60,000 images, batch 100, 784-50-100-10 sigmoid, plain SGD): engine vs PyTorch CPU vs the book.

Run by hand from the repo root:  MNIST_DIR=... python3 -m benchmarks.bench_train [--threads 1] [--repeats 7]
With --recipe default it instead times a shipped recipe end to end (`python -m engine train --recipe default` in a
fresh process, to a temporary file) and compares the accuracies it reaches with the shipped card's.
All three start from the same weights and see the same batches in the same order; epochs are interleaved
(engine, torch, book, engine, ...) so a busy neighbour slows all of them alike, and the table shows medians.
BLAS threads are fixed before numpy loads, and torch gets the same count.
"""
import argparse
import os
import sys


def parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_train", description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads for every contender (default 1)")
    p.add_argument("--repeats", type=int, default=7, help="timed epochs per contender, after one warm-up (default 7)")
    p.add_argument("--lr", type=float, default=0.1, help="SGD learning rate (default 0.1, the book's)")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    p.add_argument("--recipe", help="time this shipped recipe end to end instead (e.g. default) and check it reproduces the card")
    return p.parse_args(argv)


ARGS = parse(sys.argv[1:])
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # must precede the first numpy import to take effect

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from engine.data import load_mnist  # noqa: E402
from engine.layers import Network  # noqa: E402
from engine.optim import SGD  # noqa: E402
from engine.train import init_params, run_epoch  # noqa: E402

SIZES = [784, 50, 100, 10]
BATCH = 100


class BookAffine:
    """The book's common/layers.py Affine: float64 weights, a new array for every result."""

    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)


class BookSigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


def book_softmax(x):
    x = x.T
    x = x - np.max(x, axis=0)
    return (np.exp(x) / np.sum(np.exp(x), axis=0)).T


class BookSoftmaxWithLoss:
    def forward(self, x, t):
        self.t, self.y = t, book_softmax(x)
        n = len(self.y)
        return -np.sum(np.log(self.y[np.arange(n), t] + 1e-7)) / n

    def backward(self):
        n = len(self.t)
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx / n


def book_epoch(params, x, t, order, lr):
    """One epoch of the book's layer-by-layer backprop and SGD (params float64, input float32 as its load_mnist gives)."""
    affines = [BookAffine(params[f"W{i}"], params[f"b{i}"]) for i in (1, 2, 3)]
    layers = [affines[0], BookSigmoid(), affines[1], BookSigmoid(), affines[2]]
    last = BookSoftmaxWithLoss()
    for s in range(0, len(order), BATCH):
        idx = order[s:s + BATCH]
        h = x[idx]
        for layer in layers:
            h = layer.forward(h)
        last.forward(h, t[idx])
        d = last.backward()
        for layer in reversed(layers):
            d = layer.backward(d)
        for i, a in enumerate(affines, start=1):
            params[f"W{i}"] -= lr * a.dW
            params[f"b{i}"] -= lr * a.db


def torch_contender(params, x, t, lr):
    """(epoch function, weights getter) for the same net in PyTorch: Linear layers, CrossEntropyLoss, torch.optim.SGD."""
    import torch

    torch.set_num_threads(ARGS.threads)
    net = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 100), torch.nn.Sigmoid(),
                              torch.nn.Linear(100, 10))
    with torch.no_grad():
        for i, layer in zip((1, 2, 3), (net[0], net[2], net[4]), strict=True):
            layer.weight.copy_(torch.from_numpy(params[f"W{i}"].T.copy()))
            layer.bias.copy_(torch.from_numpy(params[f"b{i}"]))
    opt, loss_fn = torch.optim.SGD(net.parameters(), lr=lr), torch.nn.CrossEntropyLoss()
    xt, tt = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))

    def epoch(order):
        order = torch.from_numpy(order)
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            loss = loss_fn(net(xt[idx]), tt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    return epoch, lambda: net[0].weight.detach().numpy().T


def run_recipe(name):
    """Wall time of `python -m engine train --recipe NAME` in a fresh process, and its accuracies against the shipped card's."""
    import json
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    shipped = json.loads((root / "models" / f"{name}.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{name}.npz"
        cmd = [sys.executable, "-m", "engine", "train", "--recipe", name, "--out", str(out)]
        cmd += ["--data-dir", ARGS.data_dir] if ARGS.data_dir else []
        start = time.perf_counter()
        subprocess.run(cmd, cwd=root, check=True, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    print(f"python -m engine train --recipe {name}: {wall:.0f} s wall ({card['seconds']:.0f} s training), BLAS threads "
          f"{ARGS.threads}, load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}, {os.cpu_count()} cores")
    print(f"{'':<26} {'this run':>9} {'shipped':>9} {'diff':>8}")
    rows = [("MNIST test accuracy", card["test_accuracy"], shipped["test_accuracy"]),
            ("validation accuracy", card["val_accuracy"], shipped["val_accuracy"])]
    rows += [(f"unlike MNIST: {k}", card["offmnist"][k], shipped["offmnist"][k]) for k in ("accuracy", "typed", "hand")
             if card["offmnist"].get(k) is not None and shipped["offmnist"].get(k) is not None]
    for label, got, want in rows:
        print(f"{label:<26} {got:9.4f} {want:9.4f} {got - want:+8.4f}")
    worst = max(abs(got - want) for _, got, want in rows)
    print(f"\nlargest difference {worst:.4f}: {'within' if worst <= 0.002 else 'OUTSIDE'} the 0.002 the recipe promises")


def main():
    if ARGS.recipe:
        return run_recipe(ARGS.recipe)
    (x, t), _ = load_mnist(normalize=True, data_dir=ARGS.data_dir, download=False)  # (60000, 784) float32
    init = init_params(SIZES, activation="sigmoid", rng=np.random.default_rng(0))
    net, opt = Network(init, activation="sigmoid"), SGD(lr=ARGS.lr)
    book = {k: v.astype(np.float64) for k, v in init.items()}
    runs = {"engine float32": lambda o: run_epoch(net, opt, x, t, o, batch_size=BATCH),
            "book float64": lambda o: book_epoch(book, x, t, o, ARGS.lr)}
    W1 = {"engine float32": lambda: net.params["W1"], "book float64": lambda: book["W1"]}
    try:
        runs["PyTorch CPU"], W1["PyTorch CPU"] = torch_contender(init, x, t, ARGS.lr)
        import torch
        torch_note = f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    except ImportError:
        torch_note = "torch is NOT installed: no PyTorch column (pip install torch==2.13.0 to compare)"
    rng = np.random.default_rng(1)
    times = {name: [] for name in runs}
    for r in range(ARGS.repeats + 1):
        order = rng.permutation(len(x))  # every contender gets this epoch's same batch order
        for name, run in runs.items():
            start = time.perf_counter()
            run(order)
            if r:  # the first round is a warm-up
                times[name].append(time.perf_counter() - start)
        if r == 0:
            drift = {name: float(np.abs(np.asarray(get(), np.float64) - W1["engine float32"]()).max()) for name, get in W1.items()}
    print(f"Training epoch: {len(x):,} images, batch {BATCH}, 784-50-100-10 sigmoid, SGD lr {ARGS.lr}; "
          f"numpy {np.__version__}, BLAS threads {ARGS.threads}; {torch_note}")
    print(f"median of {ARGS.repeats} interleaved epochs after one warm-up each\n")
    base = statistics.median(times["engine float32"])
    print(f"{'contender':<16} {'s/epoch':>9} {'images/s':>10} {'engine faster':>14}  max |W1 - engine W1| after epoch 1")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<16} {med:9.3f} {len(x) / med:10,.0f} {med / base:13.2f}x  {drift[name]:.2e}")
    if "PyTorch CPU" in times:
        ratio = statistics.median(times["PyTorch CPU"]) / base
        verdict = "meets" if ratio >= 1.5 else "MISSES"
        print(f"\nengine vs PyTorch CPU: {ratio:.2f}x faster per epoch ({verdict} the 1.5x target{', and 2x' if ratio >= 2 else ''})")


if __name__ == "__main__":
    main()
