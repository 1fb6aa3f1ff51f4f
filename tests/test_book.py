"""The seed's chapter-3 batch example runs unchanged on engine.book and prints Accuracy:0.9352."""
import subprocess
import sys

import pytest

from tests.conftest import ROOT

SEED_BATCH_EXAMPLE = '''
import numpy as np
from engine.book import load_mnist, get_data, init_network, predict, sigmoid, softmax

x, t = get_data()
network = init_network()

batch_size = 100
accuracy_cnt = 0

for i in range(0, len(x), batch_size):
    x_batch = x[i:i+batch_size]
    y_batch = predict(network, x_batch)
    p = np.argmax(y_batch, axis=1)
    accuracy_cnt += np.sum(p == t[i:i+batch_size])

print("Accuracy:" + str(float(accuracy_cnt) / len(x)))
'''


@pytest.mark.mnist
def test_seed_batch_example_prints_book_accuracy(mnist_dir, book_weights, tmp_path):
    r = subprocess.run([sys.executable, "-c", SEED_BATCH_EXAMPLE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "Accuracy:0.9352"


def test_book_predict_matches_engine_mlp():
    import numpy as np

    from engine.book import predict
    from engine.model import MLP
    rng = np.random.default_rng(0)
    net = {"W1": rng.normal(size=(784, 50)), "b1": rng.normal(size=50), "W2": rng.normal(size=(50, 100)),
           "b2": rng.normal(size=100), "W3": rng.normal(size=(100, 10)), "b3": rng.normal(size=10)}
    net = {k: v.astype(np.float32) for k, v in net.items()}
    x = rng.random((7, 784), dtype=np.float32)
    y = predict(net, x)
    assert y.shape == (7, 10)
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(y, MLP(net).predict_proba(x), rtol=1e-4, atol=1e-6)


def test_the_verbatim_book_functions_compute_the_book_s_formulas():
    import numpy as np

    from engine.book import predict, predict_verbatim, sigmoid_verbatim, softmax_verbatim
    x = np.array([-3.0, 0.0, 2.5], np.float32)
    np.testing.assert_allclose(sigmoid_verbatim(x), 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-6)
    assert sigmoid_verbatim(x).dtype == np.float32  # float32 in, float32 out, as the book runs on its pickled weights
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], np.float32)
    np.testing.assert_allclose(softmax_verbatim(a), np.exp(a) / np.exp(a).sum(axis=1, keepdims=True), rtol=1e-6)
    rng = np.random.default_rng(1)
    net = {"W1": rng.normal(size=(784, 50)), "b1": rng.normal(size=50), "W2": rng.normal(size=(50, 100)) / 7,
           "b2": rng.normal(size=100), "W3": rng.normal(size=(100, 10)) / 10, "b3": rng.normal(size=10)}
    net = {k: v.astype(np.float32) for k, v in net.items()}
    x = rng.random((4, 784), dtype=np.float32) / 28
    np.testing.assert_allclose(predict_verbatim(net, x), predict(net, x), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(predict_verbatim(net, x[0]), predict(net, x)[0], rtol=1e-4, atol=1e-6)  # one image, 1-D


def test_the_verbatim_softmax_shifts_each_row_by_its_own_maximum():
    import numpy as np

    from engine.book import softmax_verbatim
    a = np.array([[1000.0, 1001.0, 1002.0], [0.0, 1.0, 2.0]])  # exp(1000) overflows; the two rows differ by 1000
    e = np.exp(np.array([-2.0, -1.0, 0.0]))
    np.testing.assert_allclose(softmax_verbatim(a), np.stack([e, e]) / e.sum(), rtol=1e-12)


def book_params(seed):
    """Random weights of the book's 784-50-100-10 shapes, float32 like its sample_weight.pkl."""
    import numpy as np
    rng = np.random.default_rng(seed)
    shapes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10), "b3": (10,)}
    return {k: rng.normal(0, 0.1, s).astype(np.float32) for k, s in shapes.items()}


def test_init_network_reads_book_weights_else_sample_weight_pkl_in_the_current_folder(tmp_path, monkeypatch):
    import pickle

    import numpy as np

    from engine.book import init_network
    named, here = book_params(1), book_params(2)
    (tmp_path / "mine.pkl").write_bytes(pickle.dumps(named, protocol=3))
    (tmp_path / "sample_weight.pkl").write_bytes(pickle.dumps(here, protocol=3))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOOK_WEIGHTS", str(tmp_path / "mine.pkl"))
    first = init_network()
    monkeypatch.setenv("BOOK_WEIGHTS", "")  # empty counts as unset: the seed's own ./sample_weight.pkl
    second = init_network()
    for got, want in ((first, named), (second, here)):
        assert type(got) is dict and sorted(got) == sorted(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])


def test_get_data_is_the_test_set_flattened_in_0_1_with_integer_labels(tmp_path, fresh_cache, monkeypatch):
    import numpy as np

    from engine.book import get_data
    from tests.synth import write_mnist
    folder, arrays = write_mnist(tmp_path / "d", n_train=30, n_test=12)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    x, t = get_data()
    img, lab = arrays["test"]
    assert x.shape == (12, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x, img.reshape(12, 784) / 255.0, rtol=1e-6)
    assert t.shape == (12,) and t.dtype.kind in "iu"
    np.testing.assert_array_equal(t, lab)
