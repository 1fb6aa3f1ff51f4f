"""engine.units: unit grids, the activation curve, saturation counts and the split of a logit into contributions."""
import numpy as np
import pytest

from engine import explain, units
from engine.model import MLP
from engine.preprocess import Preprocess


@pytest.mark.parametrize(("n", "shape"), [(50, (5, 10)), (100, (10, 10)), (16, (2, 10)), (7, (1, 7)), (200, (20, 10)),
                                          (512, (23, 23)), (1, (1, 1)), (10, (1, 10)), (11, (2, 10)),
                                          (201, (14, 15))])  # 201 > 20 rows of 10: ceil(sqrt(201)) = 15 columns
def test_grid_shape_fits_every_unit(n, shape):
    assert units.grid_shape(n) == shape
    rows, cols = shape
    assert rows * cols >= n > (rows - 1) * cols


def test_grid_shape_of_no_units_is_one_cell_and_cols_sets_the_row_length():
    assert units.grid_shape(0) == (1, 1)  # an empty layer still draws one (empty) cell, never a 1 x 0 grid
    assert units.grid_shape(6, cols=4) == (2, 4)
    assert units.grid_shape(81, cols=4) == (9, 9)  # more than 20 rows of 4: squarer


def test_as_grid_keeps_reading_order_and_pads_with_nan():
    g = units.as_grid(np.arange(16.0))
    assert g.shape == (2, 10)
    assert g[1, 5] == 15 and np.isnan(g[1, 6:]).all()  # unit 15 sits at row 1, column 5


def test_as_grid_lays_out_rows_of_the_given_length():
    g = units.as_grid(np.arange(6), cols=4)
    assert g.shape == (2, 4) and g.dtype == np.float64
    for i in range(6):  # unit i at row i // 4, column i % 4
        assert g[i // 4, i % 4] == i
    assert np.isnan(g[1, 2:]).all()


def test_curve_is_the_activation_and_the_range_covers_every_unit():
    a, z = units.curve("sigmoid", lo=-2, hi=2, n=5)
    np.testing.assert_allclose(z, 1 / (1 + np.exp(-np.array([-2.0, -1, 0, 1, 2]))), rtol=1e-6)
    assert units.curve("relu", lo=-1, hi=1, n=3)[1].tolist() == [0, 0, 1]
    assert units.curve_range([np.array([0.5, -2.0])]) == (-6.0, 6.0)  # at least +-6
    assert units.curve_range([np.array([1.0]), np.array([-9.2])]) == (-11.0, 11.0)  # |a| max + 1, rounded up


def test_the_default_curve_spans_minus_8_to_8_in_tenths():
    a, z = units.curve("sigmoid")
    np.testing.assert_allclose(a, np.arange(-80, 81) / 10, atol=1e-12)
    np.testing.assert_allclose(z, 1 / (1 + np.exp(-a)), rtol=1e-12)


def test_curve_range_skips_empty_layers_and_has_the_margin_alone_without_values():
    assert units.curve_range([]) == (-6.0, 6.0)
    assert units.curve_range([np.array([]), np.array([7.5])]) == (-9.0, 9.0)  # the empty layer adds nothing: ceil(7.5 + 1)
    assert units.curve_range([np.array([])], at_least=0.0) == (-1.0, 1.0)  # no values: just the margin


def test_saturation_counts_flat_sigmoid_units_and_off_relu_units():
    a = np.array([-7.0, -5.1, -4.9, 0.0, 3.0, 5.5, 12.0])
    assert units.saturation(a, activation="sigmoid") == 4  # |a| > 5: sigmoid'(5) = 0.0066, under 3% of its peak 0.25
    assert units.saturation(a, activation="relu") == 4  # a <= 0


def test_saturation_boundaries_differ_between_sigmoid_and_relu():
    a = np.array([-6.0, -5.0, -0.5, 0.0, 0.5, 1.0, 5.0, 5.01, 8.0])
    # sigmoid: strictly beyond |a| = 5, so -5 and 5 still react: -6, 5.01, 8
    assert units.saturation(a, activation="sigmoid") == sum(abs(v) > units.SATURATED for v in a.tolist()) == 3
    # ReLU: off where a <= 0 (gradient 0), on for any positive a however small: -6, -5, -0.5, 0
    assert units.saturation(a, activation="relu") == sum(v <= 0 for v in a.tolist()) == 4
    assert units.saturation(a[4:7], activation="relu") == 0  # 0.5, 1, 5 all pass their gradient


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


def test_logit_parts_split_the_terms_into_their_positive_and_negative_sums():
    rng = np.random.default_rng(4)
    params = {"W1": rng.normal(0, 0.3, (784, 12)), "b1": rng.normal(0, 0.3, 12),
              "W2": rng.normal(0, 1.0, (12, 10)), "b2": rng.normal(0, 0.5, 10)}
    model = MLP(params, preprocess=Preprocess("unit"))
    tr = explain.trace(model, rng.integers(0, 256, 784))
    p = units.logit_parts(model, tr, 6)
    plus = minus = 0.0
    for zj, wj in zip(p.z.tolist(), params["W2"][:, 6].tolist(), strict=True):
        if zj * wj > 0:
            plus += zj * wj
        else:
            minus += zj * wj
    assert p.cls == 6
    np.testing.assert_allclose(p.terms, p.z * params["W2"][:, 6], rtol=1e-6)
    assert p.plus == pytest.approx(plus, rel=1e-6) and p.minus == pytest.approx(minus, rel=1e-6)
    assert p.bias == pytest.approx(params["b2"][6], rel=1e-6)


def test_logit_parts_of_a_net_without_hidden_layers_split_the_inputs():
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(0, 0.05, (784, 10)), "b1": rng.normal(0, 0.5, 10)}
    model = MLP(params, preprocess=Preprocess("unit"))
    pixels = rng.integers(0, 256, 784)
    p = units.logit_parts(model, explain.trace(model, pixels), np.int64(2))
    x = pixels / 255  # the prepared input is what the one weight layer sees
    terms = x * params["W1"][:, 2]
    assert p.cls == 2 and type(p.cls) is int
    np.testing.assert_allclose(p.z, x, rtol=1e-6)
    np.testing.assert_allclose(p.w, params["W1"][:, 2], rtol=1e-6)
    np.testing.assert_allclose(p.terms, terms, rtol=1e-5, atol=1e-7)
    assert p.plus == pytest.approx(terms[terms > 0].sum(), rel=1e-5)
    assert p.minus == pytest.approx(terms[terms < 0].sum(), rel=1e-5)
    assert p.bias == pytest.approx(params["b1"][2], rel=1e-6)
    assert p.logit == pytest.approx(x @ params["W1"][:, 2] + params["b1"][2], rel=1e-5, abs=1e-5)
