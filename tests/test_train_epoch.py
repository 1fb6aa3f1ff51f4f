"""engine.train.run_epoch's sums when the last mini-batch is partial, engine.optim's steps and schedules by plain loops, and
engine.train.train against a plain re-telling of it on tiny synthetic sets (milliseconds a run)."""
import hashlib
import math
from types import SimpleNamespace

import numpy as np
import pytest

from engine.errors import TrainingError
from engine.layers import Network
from engine.optim import OPTIMIZERS, SCHEDULES, SGD, Adam, Momentum, make_optimizer, scheduled_lr
from engine.train import StopTraining, TrainConfig, init_params, rng_for, run_epoch, train


def test_an_epochs_loss_and_accuracy_weigh_each_image_once_with_a_partial_last_batch():
    rng = np.random.default_rng(3)
    n, batch = 250, 100  # batches of 100, 100 and 50
    x, t = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    params = init_params([784, 20, 10], activation="sigmoid", rng=rng_for(0, "init"))
    for k in params:
        params[k] *= 4  # sure of some images, unsure of others: the per-image losses differ a lot
    net = Network(params)
    seen = []
    # lr = 0: the weights never move, so the epoch's mean loss is the mean loss of the fixed net over all n images
    total, correct, step = run_epoch(net, SGD(lr=0.0), x, t, rng.permutation(n), batch_size=batch,
                                     on_step=lambda s, tot, ok, done: seen.append((s, tot, ok, done)))
    W1, b1, W2, b2 = (params[k].astype(np.float64) for k in ("W1", "b1", "W2", "b2"))
    h = 1 / (1 + np.exp(-(x @ W1 + b1)))
    a = h @ W2 + b2
    logp = a - a.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    losses = -logp[np.arange(n), t]
    assert total / n == pytest.approx(losses.mean(), rel=1e-5)
    assert correct == int((a.argmax(axis=1) == t).sum()) and step == 3
    assert [s[3] for s in seen] == [100, 200, 250]  # images done after each step: the last batch holds 50
    assert seen[-1][1] == total and seen[-1][2] == correct


# The optimizers against plain-Python loops of the book's common/optimizer.py (Adam with Kingma & Ba's eps = 1e-8), one
# number at a time in float64, over several steps and two arrays of different shapes


def grad_steps(n_steps, seed):
    """n_steps gradient dicts for W (2, 3) and b (3,), float32; one b entry stays tiny so Adam's eps matters."""
    rng = np.random.default_rng(seed)
    steps = []
    for _ in range(n_steps):
        g = {"W": rng.normal(0, 1, (2, 3)).astype(np.float32), "b": rng.normal(0, 0.1, 3).astype(np.float32)}
        g["b"][0] = rng.uniform(1e-8, 3e-8)  # comparable to eps
        steps.append(g)
    return steps


def start_params():
    rng = np.random.default_rng(100)
    return {"W": rng.normal(0, 0.01, (2, 3)).astype(np.float32), "b": rng.normal(0, 0.01, 3).astype(np.float32)}


def run_optimizer(opt, steps):
    """The float32 params after opt.update over steps (fresh gradient copies: update may use them as scratch)."""
    p = start_params()
    for g in steps:
        opt.update(p, {k: v.copy() for k, v in g.items()})
    assert all(v.dtype == np.float32 for v in p.values())
    return p


def loop_sgd(steps, lr):
    p = {k: [float(x) for x in v.ravel()] for k, v in start_params().items()}
    for g in steps:
        for k in p:
            for i, gi in enumerate(g[k].ravel()):
                p[k][i] -= lr * float(gi)
    return p


def loop_momentum(steps, lr, momentum):
    p = {k: [float(x) for x in v.ravel()] for k, v in start_params().items()}
    v = {k: [0.0] * len(p[k]) for k in p}
    for g in steps:
        for k in p:
            for i, gi in enumerate(g[k].ravel()):
                v[k][i] = momentum * v[k][i] - lr * float(gi)
                p[k][i] += v[k][i]
    return p


def loop_adam(steps, lr, beta1, beta2, eps):
    p = {k: [float(x) for x in v.ravel()] for k, v in start_params().items()}
    m = {k: [0.0] * len(p[k]) for k in p}
    v = {k: [0.0] * len(p[k]) for k in p}
    for t, g in enumerate(steps, start=1):
        lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        for k in p:
            for i, gi in enumerate(g[k].ravel()):
                gi = float(gi)
                m[k][i] += (1 - beta1) * (gi - m[k][i])
                v[k][i] += (1 - beta2) * (gi * gi - v[k][i])
                p[k][i] -= lr_t * m[k][i] / (math.sqrt(v[k][i]) + eps)
    return p


def assert_params(p, ref):
    for k in ("W", "b"):
        np.testing.assert_allclose(p[k].ravel(), ref[k], rtol=2e-5, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("lr", [0.3, 0.01])
def test_sgd_steps_match_a_plain_loop(lr):
    steps = grad_steps(3, seed=1)
    assert_params(run_optimizer(SGD(lr=lr), steps), loop_sgd(steps, lr))


@pytest.mark.parametrize("make, lr, momentum", [(lambda: Momentum(), 0.01, 0.9), (lambda: Momentum(lr=0.2, momentum=0.5), 0.2, 0.5)])
def test_momentum_steps_match_a_plain_loop(make, lr, momentum):
    """The book's defaults lr = 0.01, momentum = 0.9, and other values."""
    steps = grad_steps(4, seed=2)
    assert_params(run_optimizer(make(), steps), loop_momentum(steps, lr, momentum))


@pytest.mark.parametrize("make, settings", [
    (lambda: Adam(), dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8)),  # Kingma & Ba's defaults
    (lambda: Adam(lr=0.05), dict(lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8)),  # as make_optimizer builds it
    (lambda: Adam(lr=0.02, beta1=0.5, beta2=0.8, eps=1e-3), dict(lr=0.02, beta1=0.5, beta2=0.8, eps=1e-3)),
])
def test_adam_steps_match_a_plain_loop(make, settings):
    steps = grad_steps(5, seed=3)
    assert_params(run_optimizer(make(), steps), loop_adam(steps, **settings))


def test_each_optimizer_name_builds_that_optimizer_with_the_learning_rate():
    steps = grad_steps(2, seed=4)
    refs = {"sgd": loop_sgd(steps, 0.07), "momentum": loop_momentum(steps, 0.07, 0.9),
            "adam": loop_adam(steps, 0.07, 0.9, 0.999, 1e-8)}
    assert set(OPTIMIZERS) == set(refs)  # the names the CLI and the training page offer
    for name, ref in refs.items():
        assert_params(run_optimizer(make_optimizer(name, lr=0.07), steps), ref)


def test_learning_rate_schedules_follow_their_definitions():
    assert set(SCHEDULES) == {"constant", "cosine", "step"}
    lr, epochs = 0.3, 7
    low = 0.01 * lr  # cosine annealing from lr down towards 1 % of lr
    for e in range(epochs):
        assert scheduled_lr(lr, e, epochs) == lr and scheduled_lr(lr, e, epochs, schedule="constant") == lr
        cosine = low + (lr - low) * (1 + math.cos(math.pi * e / epochs)) / 2
        assert scheduled_lr(lr, e, epochs, schedule="cosine") == pytest.approx(cosine, rel=1e-12)
    # step: /10 from epoch floor(epochs / 2), /100 from floor(3 epochs / 4), so even 3 epochs reach both drops
    for epochs, factors in ((3, [1, 0.1, 0.01]), (10, [1] * 5 + [0.1] * 2 + [0.01] * 3), (12, [1] * 6 + [0.1] * 3 + [0.01] * 3)):
        got = [scheduled_lr(lr, e, epochs, schedule="step") for e in range(epochs)]
        assert got == pytest.approx([lr * f for f in factors], rel=1e-12), epochs


# train() against a plain re-telling of it on a tiny synthetic set (milliseconds a run): the split, the initial weights,
# the batches, the augmentation and the schedules from the seed's raw streams, and every number of the card


def digits(n=150, seed=5):
    from tests.synth import synthetic_digits
    x, t = synthetic_digits(n, seed=seed)
    return x.reshape(n, 784), t


def reference(x, t, c, *, every=0, max_steps=None):
    """What train(x, t, config=c) should do, step by step: returns a dict of its split, weights, history and infos."""
    from dataclasses import asdict

    from engine.augment import augment
    from engine.distort import Distortion, distort
    from engine.model import MLP
    from engine.preprocess import fit

    perm = np.random.default_rng([c.seed, 0]).permutation(len(x))  # the seed's stream 0 splits
    tr, va = np.sort(perm[c.val_size:]), np.sort(perm[:c.val_size])
    options = {"per_pixel": c.per_pixel} if c.preprocess == "standardize" else {}
    pre = fit(c.preprocess, x[tr], **options)
    sizes = [784, *c.hidden, 10]
    init_rng, params = np.random.default_rng([c.seed, 1]), {}
    for i in range(1, len(sizes)):  # Xavier for sigmoid, He for ReLU
        scale = np.float32(math.sqrt((2.0 if c.activation == "relu" else 1.0) / sizes[i - 1]))
        params[f"W{i}"] = init_rng.standard_normal((sizes[i - 1], sizes[i]), dtype=np.float32) * scale
        params[f"b{i}"] = np.zeros(sizes[i], np.float32)
    init_sha = hashlib.sha256(b"".join(params[k].tobytes() for k in sorted(params))).hexdigest()
    net, opt = Network(params, activation=c.activation), make_optimizer(c.optimizer, lr=c.lr)
    order_rng, aug_rng, batches = np.random.default_rng([c.seed, 2]), np.random.default_rng([c.seed, 3]), hashlib.sha256()
    x_val, t_tr, n = pre.transform(x[va]), t[tr], len(tr)
    steps = math.ceil(n / c.batch_size)
    warp = Distortion(degrees=c.degrees, shear=c.shear, scale=c.scale, shift=c.shift, pen=c.pen, elastic=c.elastic)
    out = {"tr": tr, "va": va, "pre": pre, "sizes": sizes, "init_sha": init_sha, "history": [], "infos": [], "best": None,
           "stopped": None}

    def val_accuracy():
        return float(np.mean(MLP(net.params, activation=c.activation).scores(x_val).argmax(axis=1) == t[va]))

    step, last_val = 0, None
    for epoch in range(c.epochs):
        opt.lr = scheduled_lr(c.lr, epoch, c.epochs, schedule=c.schedule)
        order = order_rng.permutation(n)
        batches.update(order.tobytes())
        images = x[tr]
        if c.augment:
            images = augment(images, rng=aug_rng, max_shift=c.shift, max_degrees=c.degrees)
        elif c.distort:
            images = distort(images, rng=aug_rng, d=warp)
        source = pre.transform(images)
        total, correct, done = 0.0, 0, 0
        for s in range(0, n, c.batch_size):
            idx = order[s:s + c.batch_size]
            loss = net.gradient(source[idx], t_tr[idx])
            step, done = step + 1, done + len(idx)
            total, correct = total + loss * len(idx), correct + net.last.correct
            for k in net.params:
                if k.startswith("W"):
                    net.grads[k] += c.weight_decay * net.params[k]
            opt.update(net.params, net.grads)
            if every and step % every == 0:
                out["infos"].append({"phase": "step", "epoch": epoch + 1, "step": step, "loss": total / done,
                                     "train_acc": correct / done, "val_acc": last_val, "epochs": c.epochs, "steps": steps})
            if step == max_steps:
                out["params"] = net.copy_params()
                return out
        last_val = val_accuracy()
        out["history"].append({"epoch": epoch + 1, "loss": total / n, "train_acc": correct / n, "val_acc": last_val, "lr": opt.lr})
        out["infos"].append({"phase": "epoch", "epoch": epoch + 1, "step": step, "loss": total / n, "train_acc": correct / n,
                             "val_acc": last_val, "epochs": c.epochs, "steps": steps})
        if out["best"] is None or last_val > out["best"][1]:  # a tie keeps the earlier epoch
            out["best"] = (net.copy_params(), last_val, epoch + 1)
        if c.patience and epoch + 1 - out["best"][2] >= c.patience:
            out["stopped"] = f"early stopping: no better validation accuracy for {c.patience} epochs"
            break
    out["params"], out["batches_sha"] = out["best"][0], batches.hexdigest()
    out["training"] = {**asdict(c), "hidden": list(c.hidden)}
    return out


def assert_trained_as(model, ref, x, c, infos=None):
    """model (from train) holds ref's weights, history, card and, when given, its callback infos."""
    from engine.model import MLP
    from engine.unsure import Reference, calibrate
    for k in ref["params"]:
        assert model.params[k].tobytes() == ref["params"][k].tobytes(), k
    card = model.card
    history = [{k: v for k, v in h.items() if k != "seconds"} for h in card["history"]]
    assert history == ref["history"]
    assert all(h["seconds"] >= 0 and list(h)[-2:] == ["seconds", "lr"] for h in card["history"])
    best = ref["best"]
    assert (card["best_epoch"], card["val_accuracy"], card["stopped"]) == (best[2], best[1], ref["stopped"])
    assert card["sizes"] == ref["sizes"] and model.sizes == ref["sizes"]
    assert card["activation"] == c.activation == model.activation and card["training"] == ref["training"]
    assert card["preprocess"] == ref["pre"].to_card()
    np.testing.assert_array_equal(model.prepare(x[:20]), ref["pre"].transform(x[:20]))
    shipped = MLP(ref["params"], activation=c.activation, preprocess=ref["pre"])
    assert card["unsure"] == calibrate(shipped, Reference(shipped, x[ref["tr"]]), x[ref["va"]])
    assert card["history_note"].startswith("train_acc and loss: running means") and card["history_note"].endswith("after the epoch")
    assert card["seconds"] >= 0
    n, n_val = len(ref["tr"]), len(ref["va"])
    assert card["provenance"] == {"trainer": "engine.train", "numpy": np.__version__, "seed": c.seed,
                                  "data": f"{n:,} training images; {n_val:,} held out for validation; the test set is not used",
                                  "init_sha256": ref["init_sha"], "batches_sha256": ref["batches_sha"]}
    if infos is not None:
        assert [{k: v for k, v in i.items() if k not in ("seconds", "images_per_s")} for i in infos] == ref["infos"]
        assert all(i["images_per_s"] > 0 for i in infos)
        assert all(0 <= a["seconds"] <= b["seconds"] for a, b in zip(infos, infos[1:], strict=False))


@pytest.mark.parametrize("settings, every", [
    (dict(hidden=(6,), optimizer="sgd", lr=0.5, batch_size=32), 3),  # 120 images: batches of 32, 32, 32 and 24
    (dict(hidden=(5, 4), activation="relu", optimizer="adam", lr=0.01, schedule="cosine", weight_decay=0.01,
          preprocess="standardize", per_pixel=False, epochs=4, batch_size=50), 2),
    (dict(hidden=(7,), optimizer="momentum", lr=0.2, schedule="step", preprocess="center", epochs=4, batch_size=40), 1),
    (dict(hidden=(6,), activation="relu", optimizer="sgd", lr=0.05, preprocess="raw", batch_size=120), 0),
    (dict(hidden=(6,), optimizer="adam", lr=0.02, augment=True, shift=3, degrees=7, batch_size=64, preprocess="center"), 0),
    (dict(hidden=(6,), optimizer="adam", lr=0.02, distort=True, degrees=20, shear=5.0, scale=0.3, shift=3, pen=1.0,
          elastic=1.5, batch_size=64), 0),
])
def test_train_does_what_a_plain_loop_over_the_seeds_streams_does(settings, every):
    x, t = digits()
    c = TrainConfig(**{**dict(epochs=3, val_size=30, seed=4), **settings})
    infos = []
    model = train(x, t, config=c, callback=infos.append, every=every)
    ref = reference(x, t, c, every=every)
    assert_trained_as(model, ref, x, c, infos)


def test_seconds_and_rates_are_read_off_the_clock_around_the_steps(monkeypatch):
    """A stand-in clock that moves 1/1024 s (exact in binary) per gradient step and stands still otherwise."""
    import engine.train as module
    clock = {"now": 5.0}

    class Counted(Network):
        def gradient(self, x, t):
            clock["now"] += 1 / 1024
            return super().gradient(x, t)

    monkeypatch.setattr(module, "Network", Counted)
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: clock["now"]))  # this module's clock only
    x, t = digits()
    infos = []
    c = TrainConfig(hidden=(4,), epochs=3, val_size=30, batch_size=50, lr=0.01)  # 120 images: 3 steps an epoch
    card = train(x, t, config=c, callback=infos.append, every=2).card
    assert [h["seconds"] for h in card["history"]] == [round(3 / 1024, 4)] * 3 and card["seconds"] == round(9 / 1024, 2)
    epochs, steps = [i for i in infos if i["phase"] == "epoch"], [i for i in infos if i["phase"] == "step"]
    assert [i["seconds"] for i in epochs] == [3 / 1024, 6 / 1024, 9 / 1024] and all(i["images_per_s"] == 120 * 1024 / 3 for i in epochs)
    assert [(i["step"], i["seconds"]) for i in steps] == [(2, 2 / 1024), (4, 4 / 1024), (6, 6 / 1024), (8, 8 / 1024)]
    # images done in the epoch over the seconds since it began: steps 2 (100 images), 4 (50), 6 (120 after 3 steps), 8 (100)
    assert [i["images_per_s"] for i in steps] == [100 * 1024 / 2, 50 * 1024 / 1, 120 * 1024 / 3, 100 * 1024 / 2]


def test_early_stopping_keeps_the_first_best_epoch_and_says_why():
    x, t = digits()
    c = TrainConfig(hidden=(4,), optimizer="sgd", lr=0.02, epochs=12, patience=2, val_size=30, seed=2, batch_size=40)
    model, ref = train(x, t, config=c), reference(x, t, c)
    assert_trained_as(model, ref, x, c)
    assert len(model.card["history"]) < 12 and model.card["stopped"] == "early stopping: no better validation accuracy for 2 epochs"
    vals = [h["val_acc"] for h in model.card["history"]]
    assert model.card["best_epoch"] == vals.index(max(vals)) + 1 == len(vals) - 2  # two epochs without a gain, then stop


def test_a_callback_returning_false_stops_after_that_epoch_and_one_returning_none_does_not():
    x, t = digits()
    c = TrainConfig(hidden=(6,), optimizer="adam", lr=0.01, epochs=5, val_size=30, seed=1)
    model = train(x, t, config=c, callback=lambda info: info["epoch"] < 2)
    ref = reference(x, t, TrainConfig(**{**c.__dict__, "epochs": 2}))  # a constant rate: the same two epochs
    for k in ref["params"]:
        np.testing.assert_array_equal(model.params[k], ref["params"][k])
    assert len(model.card["history"]) == 2 and model.card["stopped"] == "stopped by the callback (the callback returned False)"
    assert len(train(x, t, config=c, callback=lambda info: None).card["history"]) == 5  # only False stops


def test_a_bare_stop_training_in_the_first_epoch_keeps_the_weights_of_that_moment():
    x, t = digits()
    c = TrainConfig(hidden=(6,), optimizer="sgd", lr=0.5, epochs=2, val_size=30, seed=3, batch_size=20)

    def stop_at_step_2(info):
        if info["step"] == 2:
            raise StopTraining

    model = train(x, t, config=c, callback=stop_at_step_2, every=1)
    ref = reference(x, t, c, max_steps=2)
    for k in ref["params"]:
        np.testing.assert_array_equal(model.params[k], ref["params"][k])
    from engine.model import MLP
    expected = float(np.mean(MLP(ref["params"], activation="sigmoid", preprocess=ref["pre"]).predict(x[ref["va"]]) == t[ref["va"]]))
    assert model.card["val_accuracy"] == expected and model.card["best_epoch"] == 0 and model.card["history"] == []
    assert model.card["stopped"] == "stopped by the callback (StopTraining)"


def test_images_as_28_by_28_and_labels_as_a_list_train_the_same_net():
    x, t = digits()
    c = TrainConfig(hidden=(5,), epochs=1, val_size=30, lr=0.01)
    flat, square = train(x, t, config=c), train(x.reshape(-1, 28, 28), t.tolist(), config=c)
    for k in flat.params:
        np.testing.assert_array_equal(flat.params[k], square.params[k])


@pytest.mark.parametrize("labels, words", [
    (lambda t: t[:-1], "got 1,199 labels for 1,200 images"),
    (lambda t: np.where(t == 3, 10, t), "got 1,200 labels for 1,200 images"),
    (lambda t: np.where(t == 3, -1, t), "got 1,200 labels for 1,200 images"),
])
def test_labels_must_be_one_digit_per_image(labels, words):
    x = np.zeros((1200, 784), np.uint8)
    t = np.arange(1200) % 10
    with pytest.raises(TrainingError) as e:
        train(x, labels(t), config=TrainConfig(epochs=1, val_size=100))
    assert str(e.value) == f"Training needs one label 0-9 per image; {words}."


def test_labels_0_and_9_are_digits():
    x, t = digits(60)
    t = np.arange(60) % 10  # every digit, 0 and 9 included
    assert len(train(x, t, config=TrainConfig(hidden=(3,), epochs=1, val_size=10)).card["history"]) == 1


def test_train_hands_standardize_and_whiten_their_options_and_fits_on_the_training_split(monkeypatch):
    import engine.train as module
    from engine.preprocess import fit
    calls = []

    def spy(kind, x_train, **options):  # fits a cheap unit scale instead of a whitening (seconds on 784 pixels)
        calls.append((kind, x_train.copy(), options))
        return fit("unit" if kind == "whiten" else kind, x_train)

    monkeypatch.setattr(module, "fit_preprocess", spy)
    x, t = digits()
    for kind, options in (("whiten", {"eps": 0.37}), ("standardize", {"per_pixel": False}), ("standardize", {"per_pixel": True}),
                          ("center", {})):
        c = TrainConfig(hidden=(3,), epochs=1, val_size=30, seed=6, preprocess=kind, eps=0.37, per_pixel=options.get("per_pixel", True))
        train(x, t, config=c)
        got_kind, got_x, got_options = calls[-1]
        tr = np.sort(np.random.default_rng([6, 0]).permutation(150)[30:])
        assert (got_kind, got_options) == (kind, options)
        np.testing.assert_array_equal(got_x, x[tr])


def test_accuracy_counts_hits_over_every_block():
    from engine.train import accuracy
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.1, (784, 6)).astype(np.float32), "b1": rng.normal(0, 1, 6).astype(np.float32),
              "W2": rng.normal(0, 1, (6, 10)).astype(np.float32), "b2": np.zeros(10, np.float32)}
    x = rng.random((23, 784), dtype=np.float32)
    W1, b1, W2 = (params[k].astype(np.float64) for k in ("W1", "b1", "W2"))
    relu, sigmoid = (np.maximum(x @ W1 + b1, 0) @ W2).argmax(axis=1), (1 / (1 + np.exp(-(x @ W1 + b1))) @ W2).argmax(axis=1)
    t = relu.copy()
    t[[0, 5, 6, 22]] = (t[[0, 5, 6, 22]] + 1) % 10  # four wrong, one of them in the last, partial block
    for batch_size in (1, 4, 5, 23, 100):
        assert accuracy(params, "relu", x, t, batch_size=batch_size) == 19 / 23
        assert accuracy(params, "sigmoid", x, t, batch_size=batch_size) == np.sum(sigmoid == t) / 23
    assert np.sum(sigmoid == t) != 19  # the activation matters here


def test_a_unit_scale_is_written_over_the_images_and_raw_hands_them_back():
    from engine.preprocess import Preprocess
    from engine.train import prepare_in_place
    images = np.full((2, 784), 51.0, np.float32)
    assert prepare_in_place(Preprocess("raw"), images) is images and images[0, 0] == 51.0
    assert prepare_in_place(Preprocess("unit"), images) is images and images[0, 0] == np.float32(51.0) * np.float32(1 / 255)


def test_a_diverging_step_names_nan_or_infinity_its_step_number_and_the_rate():
    x, t = np.ones((4, 784), np.float32), np.array([0, 0, 1, 1])
    bad = {"W1": np.full((784, 10), np.nan, np.float32), "b1": np.zeros(10, np.float32)}
    with pytest.raises(TrainingError) as e:
        run_epoch(Network(bad), SGD(lr=0.25), x, t, np.arange(4), batch_size=2, step=6)
    assert str(e.value) == "Learning rate too high: the loss became NaN at step 7; lower the learning rate (now 0.25)."
    huge = {"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)}
    huge["W1"][:, 0], huge["W1"][:, 1] = 3e35, -3e35  # logits of ±2.4e38: class 1's log-probability overflows to -inf
    with pytest.raises(TrainingError) as e:
        run_epoch(Network(huge), SGD(lr=3e-5), x, np.array([1, 1, 1, 1]), np.arange(4), batch_size=4)
    assert str(e.value) == "Learning rate too high: the loss became infinite at step 1; lower the learning rate (now 3e-05)."


def test_a_diverging_epoch_raises_the_training_error_and_no_floating_point_warnings():
    import warnings
    rng = np.random.default_rng(0)
    x, t = rng.random((60, 784), dtype=np.float32), rng.integers(0, 10, 60)
    net = Network(init_params([784, 20, 10], activation="relu", rng=rng_for(0, "init")), activation="relu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the matmul overflows and inf - inf follows: neither may surface as a warning
        with pytest.raises(TrainingError, match="^Learning rate too high: the loss became NaN at step 2;"):
            run_epoch(net, SGD(lr=1e30), x, t, np.arange(60), batch_size=10)


def test_an_epoch_decays_no_weight_unless_asked():
    rng = np.random.default_rng(1)
    x, t = rng.random((30, 784), dtype=np.float32), rng.integers(0, 10, 30)
    start = init_params([784, 8, 10], activation="sigmoid", rng=rng_for(1, "init"))
    net, plain = Network(start), Network(start)
    run_epoch(net, SGD(lr=0.5), x, t, np.arange(30), batch_size=10)
    for s in range(0, 30, 10):  # the same three steps by hand: plain gradient steps, no L2 term
        plain.gradient(x[s:s + 10], t[s:s + 10])
        plain.flat -= np.float32(0.5) * plain.grad_flat
    np.testing.assert_array_equal(net.flat, plain.flat)
