"""engine.functions against the book's formulas written out in float64: sigmoid, ReLU, softmax, cross-entropy."""
import numpy as np
import pytest

from engine.functions import ACTIVATIONS, cross_entropy_error, relu, sigmoid, softmax


def test_sigmoid_is_the_logistic_function_and_never_overflows():
    x = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-12, atol=1e-15)
    assert sigmoid(np.float64(0)) == 0.5
    with np.errstate(over="raise"):
        assert sigmoid(np.float32(-1000)) == 0 and sigmoid(np.float32(1000)) == 1


def test_relu_keeps_positives_and_zeroes_the_rest():
    x = np.array([-2.5, -0.0, 0.0, 0.3, 7.0])
    np.testing.assert_array_equal(relu(x), [0, 0, 0, 0.3, 7.0])
    assert ACTIVATIONS == {"sigmoid": sigmoid, "relu": relu}


def test_softmax_of_rows_and_of_one_vector():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 3, (5, 10))
    want = np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(a), want, rtol=1e-12)
    np.testing.assert_allclose(softmax(a[2]), want[2], rtol=1e-12)  # (k,) works like one row
    # each row is shifted by its own max: a row of huge scores beside a row of small ones stays finite and exact
    big = np.array([[1000.0, 999.0, 998.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(softmax(big), [softmax(np.array([2.0, 1.0, 0.0])), softmax(np.array([1.0, 2.0, 3.0]))],
                               rtol=1e-12)
    np.testing.assert_allclose(softmax(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])).sum(axis=1), 1)  # (3, 2): rows, not columns


def test_cross_entropy_is_the_mean_of_minus_log_of_the_true_class():
    y = np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    t = np.array([1, 2])
    want = -(np.log(0.7 + 1e-7) + np.log(0.3 + 1e-7)) / 2
    assert cross_entropy_error(y, t) == pytest.approx(want, rel=1e-12)
    assert cross_entropy_error(y, np.eye(3)[t]) == pytest.approx(want, rel=1e-12)  # one-hot labels: the same
    assert cross_entropy_error(y[0], np.array(1)) == pytest.approx(-np.log(0.7 + 1e-7), rel=1e-12)  # one image, a label
    assert cross_entropy_error(y[0], np.eye(3)[1]) == pytest.approx(-np.log(0.7 + 1e-7), rel=1e-12)  # one image, one-hot
    assert cross_entropy_error(np.array([[1.0, 0.0]]), np.array([1])) == pytest.approx(-np.log(1e-7))  # finite at p = 0
