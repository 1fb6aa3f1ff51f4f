"""The training loop: seeded minibatch backprop with a held-out validation split, callbacks and best-epoch weights.

The card also gets the "unsure" threshold (engine.unsure), calibrated on the validation split after training."""
import hashlib
import math
import time
from dataclasses import asdict

import numpy as np

from .augment import Augmenter
from .distort import Distortion, distort
from .errors import TrainingError
from .layers import Network
from .model import MLP
from .optim import make_optimizer, scheduled_lr
from .preprocess import fit as fit_preprocess
from .trainconfig import TrainConfig
from .unsure import Reference, calibrate, reference_indices

STREAMS = {"split": 0, "init": 1, "order": 2, "augment": 3}  # independent RNG streams: changing one never shifts another


class StopTraining(Exception):
    """Raise from a callback (or return False) to stop; the best weights so far are kept."""


def rng_for(seed, stream):
    """The numpy Generator of one named stream of a seed (see STREAMS)."""
    return np.random.default_rng([seed, STREAMS[stream]])


def init_params(sizes, *, activation, rng):
    """W1, b1 ... WL, bL float32: N(0, 1/n_in) for sigmoid (Xavier), N(0, 2/n_in) for ReLU (He); biases 0."""
    gain = 2.0 if activation == "relu" else 1.0
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = rng.standard_normal((n_in, n_out), dtype=np.float32) * np.float32(math.sqrt(gain / n_in))
        params[f"b{i}"] = np.zeros(n_out, np.float32)
    return params


def split(n, *, val_size, seed):
    """(train_idx, val_idx): a seeded random split of n images, val_size held out; sorted, disjoint."""
    perm = rng_for(seed, "split").permutation(n)
    return np.sort(perm[val_size:]), np.sort(perm[:val_size])


def run_epoch(net, opt, x, t, order, *, batch_size, weight_decay=0.0, step=0, on_step=None):
    """One pass over prepared x (n, 784), t (n,) in the given order (n,): returns (summed loss, correct count, last step)."""
    decayed = [(net.params[k], net.grads[k]) for k in net.params if k.startswith("W")] if weight_decay else []
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported as a TrainingError, not as warnings
        return _steps(net, opt, x, t, order, batch_size, decayed, weight_decay, step, on_step)


def _steps(net, opt, x, t, order, batch_size, decayed, weight_decay, step, on_step):
    params, grads = {"all": net.flat}, {"all": net.grad_flat}
    total, correct = 0.0, 0
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        xb, tb = x[idx], t[idx]  # a fresh contiguous batch: measured faster than one whole-epoch gather, which misses cache
        loss = net.gradient(xb, tb)
        step += 1
        if not math.isfinite(loss):
            what = "NaN" if math.isnan(loss) else "infinite"
            raise TrainingError(f"Learning rate too high: the loss became {what} at step {step}; lower the learning rate (now {opt.lr:g}).")
        for W, dW in decayed:
            dW += weight_decay * W
        opt.update(params, grads)
        total += loss * len(xb)
        correct += net.last.correct
        if on_step is not None:
            on_step(step, total, correct, s + len(xb))
    return total, correct, step


def prepare_in_place(pre, images):
    """pre.transform(images) for float32 images (n, 784), written over them when the preprocessing is a plain scale."""
    if pre.kind == "raw":
        return images
    if pre.kind == "unit":
        images *= pre.scale  # the same float32 product transform() computes, without a second (n, 784) array
        return images
    return pre.transform(images)


def accuracy(params, activation, x, t, *, batch_size=5000):
    """Accuracy of weights on prepared x (n, 784), labels t (n,)."""
    model = MLP(params, activation=activation)
    hits = sum(int((model.scores(x[i:i + batch_size]).argmax(axis=1) == t[i:i + batch_size]).sum()) for i in range(0, len(x), batch_size))
    return hits / len(x)


def train(x, t, *, config=None, callback=None, every=0):
    """Train an MLP on training pixels x (n, 784) 0-255 and labels t (n,); returns the best-by-validation MLP with its card.

    callback(info) runs after every epoch (and every `every` steps if > 0) with a dict: phase ('step'/'epoch'), epoch,
    epochs, step, steps, loss, train_acc, val_acc, seconds, images_per_s. Returning False or raising StopTraining stops.
    """
    c = config or TrainConfig()
    x, t = np.asarray(x).reshape(len(x), -1), np.asarray(t)
    c.check(len(x))
    if len(t) != len(x) or t.min() < 0 or t.max() > 9:
        raise TrainingError(f"Training needs one label 0-9 per image; got {len(t):,} labels for {len(x):,} images.")
    start = time.perf_counter()
    tr, va = split(len(x), val_size=c.val_size, seed=c.seed)
    pre = fit_preprocess(c.preprocess, x[tr], **({"per_pixel": c.per_pixel} if c.preprocess == "standardize" else {}),
                         **({"eps": c.eps} if c.preprocess == "whiten" else {}))
    x_val, t_val, t_tr = pre.transform(x[va]), t[va], t[tr]
    x_tr = None if c.augment or c.distort else pre.transform(x[tr])  # (n_train, 784), prepared once when not augmenting
    augmenter = Augmenter(x[tr], max_shift=c.shift, max_degrees=c.degrees) if c.augment else None
    warp = Distortion(degrees=c.degrees, shear=c.shear, scale=c.scale, shift=c.shift, pen=c.pen, elastic=c.elastic)
    raw_tr = x[tr] if c.distort else None  # the training split's pixels, distorted afresh each epoch ...
    warped = np.empty((len(tr), x.shape[1]), np.float32) if c.distort else None  # ... into this buffer
    t_aug = np.empty_like(t_tr)  # labels in the order of the augmented images
    sizes = [x.shape[1], *map(int, c.hidden), 10]
    params = init_params(sizes, activation=c.activation, rng=rng_for(c.seed, "init"))
    digest = {"init": hashlib.sha256(b"".join(params[k].tobytes() for k in sorted(params))).hexdigest(), "order": hashlib.sha256()}
    net, opt = Network(params, activation=c.activation), make_optimizer(c.optimizer, lr=c.lr)
    order_rng, aug_rng = rng_for(c.seed, "order"), rng_for(c.seed, "augment")
    n, steps = len(tr), math.ceil(len(tr) / c.batch_size)
    history, best, stopped = [], None, None
    last = {"val_acc": None}

    def report(info):
        info.update(epochs=c.epochs, steps=steps, seconds=time.perf_counter() - start)
        if callback is not None and callback(info) is False:
            raise StopTraining("the callback returned False")

    def on_step(step, total, correct, done):
        if every and step % every == 0:
            report({"phase": "step", "epoch": epoch + 1, "step": step, "loss": total / done, "train_acc": correct / done,
                    "val_acc": last["val_acc"], "images_per_s": done / (time.perf_counter() - t0)})

    step = 0
    try:
        for epoch in range(c.epochs):
            t0 = time.perf_counter()
            opt.lr = scheduled_lr(c.lr, epoch, c.epochs, schedule=c.schedule)
            order = order_rng.permutation(n)
            digest["order"].update(order.tobytes())
            source, labels, batches = x_tr, t_tr, order
            if augmenter is not None:  # image i's augmented copy is images[where[i]]: the same batches, and no reordering copy
                images, where = augmenter(aug_rng)
                source, labels, batches = prepare_in_place(pre, images), t_aug, where[order]
                t_aug[where] = t_tr
            elif warped is not None:  # a fresh distortion of every training image, in training-split order
                source = prepare_in_place(pre, distort(raw_tr, rng=aug_rng, d=warp, out=warped))
            total, correct, step = run_epoch(net, opt, source, labels, batches, batch_size=c.batch_size,
                                             weight_decay=c.weight_decay, step=step, on_step=on_step if every else None)
            seconds = time.perf_counter() - t0
            val_acc = last["val_acc"] = accuracy(net.params, c.activation, x_val, t_val)
            history.append({"epoch": epoch + 1, "loss": total / n, "train_acc": correct / n, "val_acc": val_acc,
                            "seconds": round(seconds, 4), "lr": opt.lr})
            if best is None or val_acc > best[1]:
                best = (net.copy_params(), val_acc, epoch + 1)
            report({"phase": "epoch", "epoch": epoch + 1, "step": step, "loss": total / n, "train_acc": correct / n,
                    "val_acc": val_acc, "images_per_s": n / seconds})
            if c.patience and epoch + 1 - best[2] >= c.patience:
                stopped = f"early stopping: no better validation accuracy for {c.patience} epochs"
                break
    except StopTraining as e:
        stopped = f"stopped by the callback ({str(e) or 'StopTraining'})"
        if best is None:  # stopped inside the first epoch: the current weights are all there is
            best = (net.copy_params(), accuracy(net.params, c.activation, x_val, t_val), 0)
    model = MLP(best[0], activation=c.activation, preprocess=pre)
    reference = Reference(model, x[reference_indices(tr)])
    card = {"sizes": sizes, "activation": c.activation, "preprocess": pre.to_card(), "training": asdict(c),
            "history": history, "history_note": "train_acc and loss: running means over each epoch's minibatches "
                                                "(augmented images when augmenting); val_acc: the held-out split after the epoch",
            "best_epoch": best[2], "val_accuracy": best[1], "stopped": stopped,
            "unsure": calibrate(model, reference, x[va]),
            "seconds": round(time.perf_counter() - start, 2),
            "provenance": {"trainer": "engine.train", "numpy": np.__version__, "seed": c.seed,
                           "data": f"{n:,} training images; {len(va):,} held out for validation; the test set is not used",
                           "init_sha256": digest["init"], "batches_sha256": digest["order"].hexdigest()}}
    card["training"]["hidden"] = list(c.hidden)
    model.card = card
    return model
