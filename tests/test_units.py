"""engine.units: unit grids, the activation curve, saturation counts and the split of a logit into contributions."""
import numpy as np
import pytest

from engine import explain, units
from engine.model import MLP
from engine.preprocess import Preprocess


@pytest.mark.parametrize(("n", "shape"), [(50, (5, 10)), (100, (10, 10)), (16, (2, 10)), (7, (1, 7)), (200, (20, 10)),
                                          (512, (23, 23))])
def test_grid_shape_fits_every_unit(n, shape):
    assert units.grid_shape(n) == shape
    rows, cols = shape
    assert rows * cols >= n > (rows - 1) * cols


def test_as_grid_keeps_reading_order_and_pads_with_nan():
    g = units.as_grid(np.arange(16.0))
    assert g.shape == (2, 10)
    assert g[1, 5] == 15 and np.isnan(g[1, 6:]).all()  # unit 15 sits at row 1, column 5


def test_curve_is_the_activation_and_the_range_covers_every_unit():
    a, z = units.curve("sigmoid", lo=-2, hi=2, n=5)
    np.testing.assert_allclose(z, 1 / (1 + np.exp(-np.array([-2.0, -1, 0, 1, 2]))), rtol=1e-6)
    assert units.curve("relu", lo=-1, hi=1, n=3)[1].tolist() == [0, 0, 1]
    assert units.curve_range([np.array([0.5, -2.0])]) == (-6.0, 6.0)  # at least +-6
    assert units.curve_range([np.array([1.0]), np.array([-9.2])]) == (-11.0, 11.0)  # |a| max + 1, rounded up


def test_saturation_counts_flat_sigmoid_units_and_off_relu_units():
    a = np.array([-7.0, -5.1, -4.9, 0.0, 3.0, 5.5, 12.0])
    assert units.saturation(a, activation="sigmoid") == 4  # |a| > 5: sigmoid'(5) = 0.0066, under 3% of its peak 0.25
    assert units.saturation(a, activation="relu") == 4  # a <= 0


def test_logit_parts_add_up_to_the_logit():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.1, (784, 20)), "b1": rng.normal(0, 0.1, 20),
              "W2": rng.normal(0, 0.5, (20, 10)), "b2": rng.normal(0, 0.5, 10)}
    model = MLP(params, preprocess=Preprocess("unit"))
    pixels = rng.integers(0, 256, 784)
    tr = explain.trace(model, pixels)
    p = units.logit_parts(model, tr, 3)
    z1 = 1 / (1 + np.exp(-(pixels / 255 @ params["W1"] + params["b1"])))
    np.testing.assert_allclose(p.z, z1, atol=1e-5)
    np.testing.assert_allclose(p.w, params["W2"][:, 3], rtol=1e-6)
    assert p.plus > 0 > p.minus
    assert p.plus + p.minus + p.bias == pytest.approx(p.logit, abs=1e-4)
    assert p.logit == pytest.approx(z1 @ params["W2"][:, 3] + params["b2"][3], abs=1e-4)
