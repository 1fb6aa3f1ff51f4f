"""engine.train.run_epoch's sums when the last mini-batch is partial, and engine.optim's steps and schedules by plain loops."""
import math

import numpy as np
import pytest

from engine.layers import Network
from engine.optim import OPTIMIZERS, SCHEDULES, SGD, Adam, Momentum, make_optimizer, scheduled_lr
from engine.train import init_params, rng_for, run_epoch


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
