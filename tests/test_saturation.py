"""engine.saturation: the mismatch demo's first-layer pre-activations, saturated share, clipped histogram and accuracy."""
import numpy as np
import pytest

from engine import saturation
from engine.model import MLP
from engine.preprocess import fit


@pytest.fixture(scope="module")
def net_and_data():
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.05, (784, 12)), "b1": rng.normal(0, 0.5, 12),
              "W2": rng.normal(0, 0.5, (12, 10)), "b2": rng.normal(0, 0.1, 10)}
    x = rng.integers(0, 256, (40, 784)).astype(np.uint8)
    t = rng.integers(0, 10, 40)
    return MLP(params, activation="sigmoid", preprocess=fit("unit", x)), x, t


def test_first_layer_is_the_prepared_input_times_w1_plus_b1(net_and_data):
    model, x, _ = net_and_data
    W1, b1 = model.params["W1"].astype(np.float64), model.params["b1"].astype(np.float64)
    expect_own = (x / 255.0) @ W1 + b1  # "unit": pixels over 255
    np.testing.assert_allclose(saturation.first_layer(model, x), expect_own, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(saturation.first_layer(model, x, preprocess=None), x.astype(np.float64) @ W1 + b1, rtol=1e-4,
                               atol=1e-3)


def test_saturated_share_counts_values_beyond_the_limit_strictly():
    a = np.array([[-6.0, -5.0, 0.0, 5.0], [5.01, 7.0, -0.1, 4.99]])
    assert saturation.saturated_share(a) == 3 / 8  # -6, 5.01, 7: exactly ±5 is not saturated
    assert saturation.saturated_share(a, limit=4.995) == 5 / 8
    assert saturation.saturated_share(np.array([])) == 0.0
    assert saturation.saturated_share([[1.0, 30.0]]) == 0.5
    assert saturation.saturated_share(np.array([-7.0])) == 1.0  # one value, saturated: all of them


def test_clipped_histogram_counts_outliers_in_its_end_bins():
    a = np.array([-4000.0, -20.0, -19.5, 0.0, 0.2, 19.99, 20.0, 4000.0])
    edges, counts = saturation.clipped_histogram(a)
    np.testing.assert_allclose(edges, np.arange(-20, 21, 1.0))  # 40 bins of 1 over [-20, 20]
    expect = np.zeros(40, int)
    for v in np.clip(a, -20, 20):
        expect[min(int(np.floor(v + 20)), 39)] += 1  # numpy's last bin includes its right edge
    np.testing.assert_array_equal(counts, expect)
    assert counts.sum() == len(a) and counts[0] == 3 and counts[-1] == 3
    edges, counts = saturation.clipped_histogram(a, limit=2, bins=4)
    np.testing.assert_allclose(edges, [-2, -1, 0, 1, 2])
    np.testing.assert_array_equal(counts, [3, 0, 2, 3])


def test_mismatch_reports_each_preprocessing_s_accuracy_saturation_and_histogram(net_and_data):
    model, x, t = net_and_data
    out = saturation.mismatch(model, x, list(t), {"own": "own", "raw": None})
    assert list(out) == ["own", "raw"]
    for name, pre in (("own", "own"), ("raw", None)):
        a1 = saturation.first_layer(model, x, preprocess=pre).astype(np.float64)
        got = out[name]
        assert set(got) == {"accuracy", "saturated", "edges", "counts", "median_abs"}
        assert got["accuracy"] == pytest.approx(np.mean(model.predict(x, preprocess=pre) == t))
        assert got["saturated"] == pytest.approx(np.mean(np.abs(a1) > 5))
        assert got["median_abs"] == pytest.approx(np.median(np.abs(a1)), rel=1e-5)
        np.testing.assert_array_equal(got["counts"], np.histogram(np.clip(a1, -20, 20), bins=np.linspace(-20, 20, 41))[0])
        assert len(got["edges"]) == 41
    assert out["raw"]["saturated"] > out["own"]["saturated"]  # raw 0-255 pixels drive the sigmoids flat
    assert saturation.mismatch(model, x, t, {"raw": None}, limit=1000)["raw"]["saturated"] == pytest.approx(
        np.mean(np.abs(saturation.first_layer(model, x, preprocess=None)) > 1000))
