"""engine.train.run_epoch's sums when the last mini-batch is partial: every image counts once, never a full batch's worth."""
import numpy as np
import pytest

from engine.layers import Network
from engine.optim import SGD
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
