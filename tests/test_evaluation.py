"""evaluate(): every field agrees with a direct computation; on real MNIST the book's weights give exactly 0.9352."""
import time

import numpy as np
import pytest

from engine.data import load_mnist
from engine.evaluation import evaluate
from engine.model import MLP
from engine.modelfile import load_model
from engine.preprocess import Preprocess
from tests.synth import synthetic_digits


@pytest.fixture(scope="module")
def small():
    """A random 784-16-10 net and 300 synthetic digits: pixels (300, 784) uint8, labels (300,)."""
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.1, (784, 16)), "b1": rng.normal(0, 0.1, 16),
              "W2": rng.normal(0, 1.0, (16, 10)), "b2": rng.normal(0, 0.1, 10)}
    x, t = synthetic_digits(300, seed=5)
    return MLP(params, preprocess=Preprocess("unit")), x.reshape(300, 784), t


def test_evaluate_fields_match_direct_computation(small):
    model, x, t = small
    e = evaluate(model, x, t, batch_size=64)
    assert e.n == 300 and e.proba.shape == (300, 10) and e.proba.dtype == np.float32
    np.testing.assert_allclose(e.proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(e.proba, model.predict_proba(x), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(e.pred, model.predict(x))
    np.testing.assert_array_equal(e.confidence, e.proba.max(axis=1))
    np.testing.assert_allclose(e.loss, -np.log(e.proba[np.arange(300), t] + 1e-7), rtol=1e-5)
    assert e.accuracy == pytest.approx(model.score(x, t))
    assert e.confusion.sum() == 300 and np.trace(e.confusion) == e.correct.sum()
    np.testing.assert_array_equal(e.confusion.sum(axis=1), np.bincount(t, minlength=10))
    assert [r["support"] for r in e.report] == list(np.bincount(t, minlength=10))
    assert e.seconds > 0


def test_evaluation_arrays_are_read_only(small):
    model, x, t = small
    e = evaluate(model, x, t)
    with pytest.raises(ValueError):
        e.proba[0, 0] = 1
    with pytest.raises(ValueError):
        e.confusion[0, 0] += 1
    t[0] = t[0]  # the caller's labels are copied, not frozen


def test_evaluate_refuses_mismatched_labels(small):
    model, x, t = small
    with pytest.raises(ValueError, match="300 images but 299 labels"):
        evaluate(model, x, t[:299])


@pytest.mark.mnist
def test_book_weights_on_real_mnist(mnist_dir, book_weights):
    _, (x, t) = load_mnist(normalize=False, data_dir=mnist_dir, download=False)
    e = evaluate(load_model(book_weights), x, t)
    assert e.accuracy == 0.9352  # the book's printed result, Accuracy:0.9352
    assert e.confusion.sum() == 10_000
    assert np.trace(e.confusion) / e.n == e.accuracy
    assert sum(r["support"] for r in e.report) == 10_000


class FixedModel:
    """A stand-in model with fixed probabilities over k classes that records the batch sizes it is asked for."""

    def __init__(self, proba):
        self.proba, self.batch_sizes = np.asarray(proba, np.float32), []

    def predict_proba(self, x, *, batch_size=1000):
        self.batch_sizes.append(batch_size)
        return self.proba[:len(x)].copy()


def test_evaluate_passes_the_batch_size_keeps_int_labels_and_sizes_everything_by_the_models_classes():
    rng = np.random.default_rng(11)
    proba = rng.dirichlet(np.ones(3), 40)  # a 3-class model: the matrix and report must not assume 10 digits
    t = rng.integers(0, 3, 40).astype(np.uint8)
    model = FixedModel(proba)
    before = time.perf_counter()
    e = evaluate(model, np.zeros((40, 784), np.uint8), t, batch_size=7)
    after = time.perf_counter()
    assert model.batch_sizes == [7]
    assert e.t.dtype == np.int64 and e.pred.dtype == np.int64
    brute = np.zeros((3, 3), np.int64)
    for a, b in zip(t, model.proba.argmax(axis=1), strict=True):
        brute[a, b] += 1
    np.testing.assert_array_equal(e.confusion, brute)
    assert [r["digit"] for r in e.report] == [0, 1, 2]
    assert [r["support"] for r in e.report] == list(np.bincount(t, minlength=3))
    # the evaluation's own wall time lies inside the time measured around the call
    assert 0 < e.seconds <= after - before
