"""The shipped default recipe end to end, augmentation included: engine.train against its PyTorch twin, seconds per epoch.

Run by hand from the repo root:  MNIST_DIR=... python3 -m benchmarks.bench_recipe [--epochs 3] [--repeats 5]
The recipe is the book-shaped default of before issue 16 (RECIPE below: 784-50-100-10 sigmoid, unit, Adam lr 0.003,
cosine schedule, batch 100, shifts of ±1 px and rotations of ±10°), run for a few epochs, not 40; a 40-epoch run
is extrapolated from the seconds per epoch. The twin gets identical data: the engine's split, initial weights,
batch order of every epoch and transform of every image (engine.augment.draw); it augments the PyTorch way,
affine_grid + grid_sample (bilinear, zero padding), with one grid per transform made once, not per image. Runs
alternate (engine, torch, torch, engine, ...) and the table gives medians and the median of paired ratios.
"""
import argparse
import os
import shlex
import sys


def parse(argv):
    p = argparse.ArgumentParser(prog="python3 -m benchmarks.bench_recipe", description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3); seconds per epoch are total / epochs")
    p.add_argument("--repeats", type=int, default=5, help="runs per contender, interleaved, at least 5 (default 5)")
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads for both (default 1, as train-all uses)")
    p.add_argument("--data-dir", help="folder with the four MNIST files (default: $MNIST_DIR, then the cache)")
    return p.parse_args(argv)


ARGS = parse(sys.argv[1:])
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)  # must precede the first numpy import to take effect

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from engine.augment import augment, draw, transforms  # noqa: E402
from engine.cli.train import add_parser, config_from  # noqa: E402
from engine.data import load_mnist  # noqa: E402
from engine.optim import scheduled_lr  # noqa: E402
from engine.timing import blas_info, load_average, machine_info  # noqa: E402
from engine.train import init_params, rng_for, split, train  # noqa: E402

CENTRE = 13.5  # (28 - 1) / 2: align_corners=True puts -1 and +1 on the centres of the outer pixels


# The recipe the PyTorch twin copies: the book-shaped default of before issue 16 (sigmoid 784-50-100-10, shift and
# rotation only). Today's default adds shear, scale, pen width and elastic distortion, which the twin does not copy.
RECIPE = "--epochs 40 --optimizer adam --lr 0.003 --schedule cosine --augment --shift 1 --degrees 10 --preprocess unit --seed 0"


def default_config(epochs):
    """The TrainConfig of RECIPE, with epochs replaced."""
    sub = argparse.ArgumentParser().add_subparsers()
    add_parser(sub)
    args = sub.choices["train"].parse_args([*shlex.split(RECIPE), "--out", "unused.npz"])
    config = config_from(args)
    config.epochs = epochs
    return config


def torch_grids(torch, c):
    """(k, 28, 28, 2) sampling grids, one per transform number of engine.augment.draw: the engine's rotation and shift."""
    degrees, dr, dc = transforms(c.shift, c.degrees)
    a = np.deg2rad(degrees)
    cos, sin, dr, dc = np.cos(a), np.sin(a), dr / CENTRE, dc / CENTRE
    theta = np.stack([np.stack([cos, sin, -(sin * dr + cos * dc)], 1), np.stack([-sin, cos, -(cos * dr - sin * dc)], 1)], 1)
    return torch.nn.functional.affine_grid(torch.from_numpy(theta.astype(np.float32)), (len(a), 1, 28, 28), align_corners=True)


def torch_train(torch, x, t, c, *, sample_check=None):
    """The recipe in PyTorch: nn.Linear / Sigmoid, CrossEntropyLoss, torch.optim.Adam; the same data in the same order.

    Returns the validation accuracy of the last epoch; sample_check, a list, receives the first epoch's augmented images.
    """
    F = torch.nn.functional
    tr, va = split(len(x), val_size=c.val_size, seed=c.seed)
    pixels = torch.from_numpy(x[tr].reshape(-1, 1, 28, 28))
    x_val = torch.from_numpy(x[va].astype(np.float32) / np.float32(255))
    t_tr, t_val = torch.from_numpy(t[tr].astype(np.int64)), torch.from_numpy(t[va].astype(np.int64))
    init = init_params([784, *c.hidden, 10], activation=c.activation, rng=rng_for(c.seed, "init"))
    net = torch.nn.Sequential(torch.nn.Linear(784, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 100), torch.nn.Sigmoid(),
                              torch.nn.Linear(100, 10))
    with torch.no_grad():
        for i, layer in zip((1, 2, 3), (net[0], net[2], net[4]), strict=True):
            layer.weight.copy_(torch.from_numpy(init[f"W{i}"].T.copy()))
            layer.bias.copy_(torch.from_numpy(init[f"b{i}"]))
    opt, loss_fn = torch.optim.Adam(net.parameters(), lr=c.lr), torch.nn.CrossEntropyLoss()
    order_rng, aug_rng = rng_for(c.seed, "order"), rng_for(c.seed, "augment")
    grids = torch_grids(torch, c)
    n = len(tr)
    images, best = torch.empty((n, 784)), None
    for epoch in range(c.epochs):
        for group in opt.param_groups:
            group["lr"] = scheduled_lr(c.lr, epoch, c.epochs, schedule=c.schedule)
        order = torch.from_numpy(order_rng.permutation(n))
        pick = torch.from_numpy(draw(n, rng=aug_rng, max_shift=c.shift, max_degrees=c.degrees))
        with torch.no_grad():
            for s in range(0, n, 4096):  # 4096 images at a time: a whole-epoch grid would be 345 MB
                sampled = F.grid_sample(pixels[s:s + 4096].float(), grids[pick[s:s + 4096]], mode="bilinear",
                                        padding_mode="zeros", align_corners=True)
                torch.div(sampled.reshape(-1, 784), 255, out=images[s:s + 4096])
        if sample_check is not None and epoch == 0:
            sample_check.append(images[:2000].numpy() * 255)
        for s in range(0, n, c.batch_size):
            idx = order[s:s + c.batch_size]
            loss = loss_fn(net(images[idx]), t_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            val_acc = float((net(x_val).argmax(1) == t_val).float().mean())
            if best is None or val_acc > best[0]:  # the engine keeps the best epoch's weights the same way
                best = (val_acc, {k: v.clone() for k, v in net.state_dict().items()})
    return val_acc


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main():
    if ARGS.repeats < 5:
        raise SystemExit("error: --repeats must be at least 5: a median of fewer runs says little on a shared machine.")
    c = default_config(ARGS.epochs)
    (x, t), _ = load_mnist(normalize=False, data_dir=ARGS.data_dir, download=False)
    x = x.reshape(len(x), 784)
    m, blas, load = machine_info(), blas_info(), load_average()
    print(f"{m['measured_at']} on {m['host']}: {m['cpu']}, {m['cores_usable']} cores, load average {load} (1, 5, 15 min)")
    print(f"recipe: {RECIPE.replace('--epochs 40', f'--epochs {c.epochs}')}")
    runs = {"engine": lambda: train(x, t, config=c).card["history"][-1]["val_acc"]}
    try:
        import torch

        torch.set_num_threads(ARGS.threads)
        runs["torch"] = lambda: torch_train(torch, x, t, c)
        note = f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)"
    except ImportError:
        note = "torch is NOT installed: the engine alone (pip install -r requirements-bench.txt to compare)"
    print(f"numpy {m['numpy']}, {blas['library']} {blas['kernel']}, BLAS threads {blas['threads']}; {note}")
    if "torch" in runs:  # the two augmentations agree: the same transforms, sampled the same way
        sampled = []
        torch_train(torch, x, t, c.__class__(**{**c.__dict__, "epochs": 1}), sample_check=sampled)
        tr, _ = split(len(x), val_size=c.val_size, seed=c.seed)
        ours = augment(x[tr][:2000], rng=rng_for(c.seed, "augment"), max_shift=c.shift, max_degrees=c.degrees)
        print(f"augmentation check, first 2,000 images of epoch 1: max |torch - engine| = "
              f"{np.abs(sampled[0] - ours).max():.4f} (0-255 scale)")
    times = {name: [] for name in runs}
    accs = {}
    for r in range(ARGS.repeats):
        for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            wall, cpu, accs[name] = timed(runs[name])
            times[name].append((wall / c.epochs, cpu / c.epochs))
    print(f"\n{c.epochs} epochs per run, {ARGS.repeats} runs each, interleaved; setup (split, preprocessing) included\n")
    print(f"{'contender':<10} {'s/epoch':>8} {'cpu s/epoch':>12} {'40 epochs':>10} {'val acc':>8} "
          f"{'engine faster (wall)':>21} {'(cpu)':>7}")
    base = times["engine"]
    for name, ts in times.items():
        wall = statistics.median(w for w, _ in ts)
        ratio = statistics.median(o[0] / e[0] for e, o in zip(base, ts, strict=True))
        ratio_cpu = statistics.median(o[1] / e[1] for e, o in zip(base, ts, strict=True))
        print(f"{name:<10} {wall:8.3f} {statistics.median(u for _, u in ts):12.3f} {40 * wall:9.1f}s {accs[name]:8.4f} "
              f"{ratio:20.2f}x {ratio_cpu:6.2f}x")
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
