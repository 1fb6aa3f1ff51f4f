"""Training: bit-for-bit reproducible, stoppable with the best weights kept, loud about NaN and nonsense, honest about splits."""
import hashlib

import numpy as np
import pytest

from engine.compare import compare
from engine.errors import TrainingError
from engine.train import StopTraining, TrainConfig, init_params, rng_for, split, train
from tests.synth import synthetic_digits

SMALL = dict(hidden=(16, 12), epochs=3, val_size=100, lr=0.01, seed=3)  # seconds, not minutes, on synthetic digits


@pytest.fixture(scope="module")
def digits():
    """Synthetic training pixels (600, 784) uint8 and labels (600,)."""
    x, t = synthetic_digits(600, seed=11)
    return x.reshape(600, 784), t


def run(digits, **settings):
    return train(*digits, config=TrainConfig(**{**SMALL, **settings}))


def test_same_seed_same_weights_bit_for_bit_and_another_seed_differs(digits):
    a, b, c = run(digits, augment=True), run(digits, augment=True), run(digits, augment=True, seed=4)
    for k in a.params:
        assert a.params[k].tobytes() == b.params[k].tobytes(), k
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert [h["val_acc"] for h in a.card["history"]] == [h["val_acc"] for h in b.card["history"]]


def test_it_learns_and_the_card_holds_history_and_provenance(digits):
    m = run(digits, epochs=4, lr=0.01)
    card = m.card
    assert m.sizes == [784, 16, 12, 10] and m.activation == "sigmoid" and m.preprocess.kind == "unit"
    assert [h["epoch"] for h in card["history"]] == [1, 2, 3, 4]
    assert set(card["history"][0]) >= {"epoch", "loss", "train_acc", "val_acc", "seconds"}
    assert card["history"][-1]["loss"] < card["history"][0]["loss"]
    assert card["val_accuracy"] == max(h["val_acc"] for h in card["history"]) > 0.5  # 10 classes: chance is 0.1
    assert card["history"][card["best_epoch"] - 1]["val_acc"] == card["val_accuracy"]
    assert card["training"]["lr"] == 0.01 and card["training"]["hidden"] == [16, 12]
    assert "test set is not used" in card["provenance"]["data"]


def test_xavier_for_sigmoid_and_he_for_relu():
    rng = np.random.default_rng(0)
    sig = init_params([784, 400, 10], activation="sigmoid", rng=rng)["W1"]
    relu = init_params([784, 400, 10], activation="relu", rng=rng)["W1"]
    assert sig.dtype == np.float32
    assert sig.std() == pytest.approx(np.sqrt(1 / 784), rel=0.01)
    assert relu.std() == pytest.approx(np.sqrt(2 / 784), rel=0.01)


def test_callback_gets_numbers_and_can_stop_keeping_the_best_weights(digits):
    seen = []

    def stop_after_five(info):
        seen.append(info)
        return info["epoch"] < 5 or info["phase"] == "step"

    m = train(*digits, config=TrainConfig(**{**SMALL, "epochs": 20, "lr": 0.05, "optimizer": "adam", "seed": 5}),
              callback=stop_after_five, every=2)
    epochs = [i for i in seen if i["phase"] == "epoch"]
    steps = [i for i in seen if i["phase"] == "step"]
    assert len(epochs) == 5 and len(m.card["history"]) == 5 and "callback" in m.card["stopped"]
    assert len(steps) == 25 // 2  # 5 steps per epoch (500 images / 100): steps 2, 4, ... 24 reported
    assert all(set(i) >= {"epoch", "step", "loss", "train_acc", "val_acc", "seconds", "images_per_s"} for i in seen)
    assert all(i["images_per_s"] > 0 and 0 <= i["train_acc"] <= 1 for i in seen)
    best = m.card["best_epoch"]
    assert best < 5, "this setting reaches 100% validation accuracy before epoch 5 (ties keep the earlier epoch)"
    again = train(*digits, config=TrainConfig(**{**SMALL, "epochs": best, "lr": 0.05, "optimizer": "adam", "seed": 5}))
    for k in m.params:  # the kept weights are exactly those after the best epoch, not the last
        np.testing.assert_array_equal(m.params[k], again.params[k])


def test_raising_stop_training_inside_the_first_epoch_still_returns_a_model(digits):
    def stop(info):
        raise StopTraining("user pressed Stop")

    m = train(*digits, config=TrainConfig(**SMALL), callback=stop, every=1)
    assert m.card["history"] == [] and "user pressed Stop" in m.card["stopped"] and m.card["best_epoch"] == 0


def test_a_huge_learning_rate_raises_training_error_naming_the_step(digits):
    with pytest.raises(TrainingError, match=r"^Learning rate too high: the loss became (NaN|infinite) at step \d+; lower"):
        run(digits, activation="relu", optimizer="sgd", lr=1e30)


@pytest.mark.parametrize("setting, words", [
    (dict(hidden=(50, 0)), "at least 1 unit"), (dict(lr=0), "learning rate must be a positive"),
    (dict(lr=-0.1), "learning rate must be a positive"), (dict(epochs=0), "at least 1 epoch"),
    (dict(batch_size=0), "batch size must be at least 1"), (dict(val_size=600), "validation split"),
    (dict(optimizer="adagrad"), "Optimizer 'adagrad' is unknown"), (dict(preprocess="pca"), "Preprocessing 'pca' is unknown"),
])
def test_nonsense_settings_raise_one_clear_sentence(digits, setting, words):
    with pytest.raises(TrainingError) as e:
        run(digits, **setting)
    text = str(e.value)
    assert words in text and text.endswith(".") and "\n" not in text


def test_validation_split_never_overlaps_training_and_preprocessing_sees_training_only(digits):
    tr, va = split(60000, val_size=5000, seed=0)
    assert len(va) == 5000 and len(tr) == 55000
    assert len(np.intersect1d(tr, va)) == 0 and len(np.union1d(tr, va)) == 60000
    x, t = digits
    m = run(digits, preprocess="center", epochs=1)
    tr, va = split(600, val_size=100, seed=SMALL["seed"])
    np.testing.assert_allclose(m.preprocess.mean_, x[tr].mean(axis=0) / 255, rtol=1e-5, atol=1e-6)
    assert not np.allclose(m.preprocess.mean_, x.mean(axis=0) / 255, atol=1e-6)


def test_compare_gives_every_preprocessing_identical_init_and_batch_order(digits):
    seen = []
    models = compare(*digits, kinds=["unit", "center", "standardize"], config=TrainConfig(**SMALL),
                     callback=lambda kind, info: seen.append((kind, info["epoch"])))
    assert list(models) == ["unit", "center", "standardize"]
    prov = [m.card["provenance"] for m in models.values()]
    assert len({p["init_sha256"] for p in prov}) == 1 and len({p["batches_sha256"] for p in prov}) == 1
    # independently: the digest is that of the init stream's weights, and batches follow the order stream
    init = init_params([784, 16, 12, 10], activation="sigmoid", rng=rng_for(SMALL["seed"], "init"))
    assert prov[0]["init_sha256"] == hashlib.sha256(b"".join(init[k].tobytes() for k in sorted(init))).hexdigest()
    order = rng_for(SMALL["seed"], "order")
    assert prov[0]["batches_sha256"] == hashlib.sha256(b"".join(order.permutation(500).tobytes() for _ in range(3))).hexdigest()
    assert run(digits, seed=4).card["provenance"]["init_sha256"] != prov[0]["init_sha256"]
    assert {m.preprocess.kind for m in models.values()} == {"unit", "center", "standardize"}
    assert ("center", 3) in seen and len(seen) == 9


def write_test_files(folder, seed):
    """Replace the synthetic test set in folder with other images, keeping the training files."""
    import gzip

    from tests.synth import STEMS, idx_bytes
    x, t = synthetic_digits(100, seed=seed)
    for stem, arr, kind in ((STEMS["test"][0], x, "images"), (STEMS["test"][1], t, "labels")):
        (folder / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(arr, kind=kind)))
    return x.reshape(100, 784), t


def test_cli_train_writes_model_and_card_and_never_looks_at_the_test_set(synth_mnist, tmp_path, capsys):
    import shutil

    from engine.__main__ import main
    from engine.modelfile import load_model
    folder = tmp_path / "data"
    shutil.copytree(synth_mnist[0], folder)
    args = ["train", "--hidden", "16", "--epochs", "2", "--val-size", "100", "--lr", "0.01", "--data-dir", str(folder)]
    results = []
    for seed in (21, 22):  # two different test sets, the same training set
        x_test, t_test = write_test_files(folder, seed)
        out = tmp_path / f"m{seed}.npz"
        assert main(args + ["--out", str(out)]) == 0
        m = load_model(out)
        assert m.card["test_accuracy"] == m.score(x_test, t_test)
        results.append(m)
    captured = capsys.readouterr()
    assert "epoch 2/2" in captured.err and "val" in captured.err  # the progress bar
    assert "test accuracy" in captured.out
    a, b = results
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)  # the test images changed nothing
    assert a.card["command"].startswith("python -m engine train --hidden 16 --activation sigmoid")
    assert a.card["history"] == [{**h, "seconds": a.card["history"][i]["seconds"]} for i, h in enumerate(b.card["history"])]


def test_cli_train_rejects_nonsense_with_one_line(synth_mnist, capsys):
    from engine.__main__ import main
    assert main(["train", "--hidden", "50", "0", "--out", "x.npz", "--data-dir", str(synth_mnist[0])]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: Every hidden layer needs at least 1 unit; got widths [50, 0]."


def test_train_all_runs_the_recorded_commands_and_prints_the_table(synth_mnist, tmp_path, capsys, monkeypatch):
    from engine.__main__ import main
    from engine.cli import train as command
    monkeypatch.setattr(command, "SHIPPED", {"tiny": ("A tiny net", "--hidden 8 --epochs 1 --val-size 100 --seed 2")})
    assert main(["train-all", "--out-dir", str(tmp_path), "--data-dir", str(synth_mnist[0])]) == 0
    out = capsys.readouterr().out
    from engine.modelfile import load_model
    card = load_model(tmp_path / "tiny.npz").card
    assert card["title"] == "A tiny net" and card["training"]["hidden"] == [8] and card["training"]["seed"] == 2
    assert f"| tiny | {card['test_accuracy']:.4f} | {card['val_accuracy']:.4f} | 1 |" in out


def test_augment_is_seeded_and_moves_digits_by_whole_pixels(digits):
    from engine.augment import augment
    x = digits[0][:50]
    np.testing.assert_array_equal(augment(x, rng=np.random.default_rng(0), max_shift=0, max_degrees=0), x)
    a = augment(x, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, augment(x, rng=np.random.default_rng(7)))
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 255 and not np.array_equal(a, x)
    shifted = augment(x, rng=np.random.default_rng(1), max_shift=2, max_degrees=0).reshape(50, 28, 28)
    pad = np.pad(x.reshape(50, 28, 28), ((0, 0), (2, 2), (2, 2)))
    for img, src in zip(shifted, pad, strict=True):  # each result is the digit moved by some (dr, dc) in ±2: no blur
        assert any(np.array_equal(img, src[2 - dr:30 - dr, 2 - dc:30 - dc]) for dr in range(-2, 3) for dc in range(-2, 3))
    turned = augment(x, rng=np.random.default_rng(2), max_shift=0, max_degrees=10)
    np.testing.assert_allclose(turned.sum(axis=1), x.sum(axis=1), rtol=0.05)  # a small rotation keeps the ink


def test_optimizers_follow_their_textbook_formulas():
    from engine.optim import SGD, Adam, Momentum, scheduled_lr
    p0, g = np.array([1.0, -2.0], np.float32), np.array([0.5, 0.25], np.float32)
    p = {"w": p0.copy()}
    SGD(lr=0.1).update(p, {"w": g.copy()})
    np.testing.assert_allclose(p["w"], p0 - 0.1 * g, rtol=1e-6)
    p, opt = {"w": p0.copy()}, Momentum(lr=0.1, momentum=0.9)
    opt.update(p, {"w": g.copy()})
    opt.update(p, {"w": g.copy()})  # v1 = -lr g; v2 = 0.9 v1 - lr g
    np.testing.assert_allclose(p["w"], p0 - 0.1 * g - (0.9 * 0.1 * g + 0.1 * g), rtol=1e-6)
    p, opt = {"w": p0.copy()}, Adam(lr=0.01)
    opt.update(p, {"w": g.copy()})  # first Adam step moves every weight by lr against the gradient's sign
    np.testing.assert_allclose(p["w"], p0 - 0.01 * np.sign(g), rtol=1e-5)
    assert p["w"].dtype == np.float32
    assert scheduled_lr(0.1, 0, 10, schedule="cosine") == pytest.approx(0.1)
    assert scheduled_lr(0.1, 5, 10, schedule="cosine") == pytest.approx(0.1 * (0.01 + 0.99 * 0.5))
    assert [scheduled_lr(1.0, e, 8, schedule="step") for e in (0, 3, 4, 6)] == pytest.approx([1, 1, 0.1, 0.01])


def test_weight_decay_shrinks_the_weights(digits):
    plain, decayed = run(digits, epochs=2), run(digits, epochs=2, weight_decay=0.05)
    for k in ("W1", "W2", "W3"):
        assert np.linalg.norm(decayed.params[k]) < 0.97 * np.linalg.norm(plain.params[k]), k


@pytest.mark.parametrize("kind", ["raw", "unit", "center", "standardize", "whiten"])
def test_preparing_augmented_images_in_place_equals_the_transform(digits, kind):
    from engine.preprocess import fit
    from engine.train import prepare_in_place
    pre = fit(kind, digits[0])
    images = np.random.default_rng(0).uniform(0, 255, (600, 784)).astype(np.float32)
    expected = pre.transform(images)
    np.testing.assert_array_equal(prepare_in_place(pre, images.copy()), expected)  # bit for bit: the same float32 operations


def test_augmented_training_sees_exactly_the_batches_of_the_per_epoch_augment_loop(digits):
    """train() reads augmented images through the Augmenter's reused buffer and index; the loop before issue 17 made a
    fresh augment(x[tr]) copy in the original order every epoch. Same batches, same losses, bit for bit."""
    from engine.augment import augment
    from engine.layers import Network
    from engine.optim import make_optimizer, scheduled_lr
    from engine.preprocess import fit
    from engine.train import run_epoch
    x, t = digits
    c = TrainConfig(**{**SMALL, "augment": True, "shift": 2, "degrees": 15, "epochs": 3})
    history = train(x, t, config=c).card["history"]
    tr, _ = split(len(x), val_size=c.val_size, seed=c.seed)
    pre = fit(c.preprocess, x[tr])
    net = Network(init_params([784, *c.hidden, 10], activation=c.activation, rng=rng_for(c.seed, "init")))
    opt = make_optimizer(c.optimizer, lr=c.lr)
    order_rng, aug_rng = rng_for(c.seed, "order"), rng_for(c.seed, "augment")
    for epoch in range(c.epochs):
        opt.lr = scheduled_lr(c.lr, epoch, c.epochs, schedule=c.schedule)
        order = order_rng.permutation(len(tr))
        source = pre.transform(augment(x[tr], rng=aug_rng, max_shift=c.shift, max_degrees=c.degrees))
        total, correct, _ = run_epoch(net, opt, source, t[tr], order, batch_size=c.batch_size)
        assert (history[epoch]["loss"], history[epoch]["train_acc"]) == (total / len(tr), correct / len(tr)), epoch
