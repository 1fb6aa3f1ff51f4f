"""Timing rows have the requested shape and consistent numbers; FLOP arithmetic and machine info. Speed is never asserted."""
import time
import warnings

import numpy as np
import pytest

from engine.model import MLP
from engine.preprocess import Preprocess
from engine.timing import (
    blas_info,
    book_loop_rate,
    limit_images_per_s,
    load_average,
    machine_info,
    matmul_gflops,
    matmul_rates,
    network_flops,
    per_image_rates,
    time_batches,
)


@pytest.fixture(scope="module")
def book_shaped():
    """A random 784-50-100-10 net and 100 random pixel images."""
    rng = np.random.default_rng(0)
    sizes = [784, 50, 100, 10]
    params = {}
    for i in range(1, 4):
        params[f"W{i}"], params[f"b{i}"] = rng.normal(0, 0.1, (sizes[i - 1], sizes[i])), np.zeros(sizes[i])
    x = rng.integers(0, 256, (100, 784), dtype=np.uint8)
    return MLP(params, preprocess=Preprocess("unit")), x


def test_time_batches_rows(book_shaped):
    model, x = book_shaped
    calls = []
    rows = time_batches(model, x, batch_sizes=(1, 7, 100), repeats=3, max_batches=10,
                        progress=lambda label, done, total: calls.append((done, total)))
    assert [r["batch_size"] for r in rows] == [1, 7, 100]
    # capped small batches, only full batches: 1 -> 10 batches, 7 -> 10 of 14 possible, 100 -> the one batch there is
    assert [(r["batches"], r["images"]) for r in rows] == [(10, 10), (10, 70), (1, 100)]
    for r in rows:
        assert r["repeats"] == 3 and r["images_per_s"] > 0 and r["latency_ms"] > 0
        assert r["images_per_s_min"] <= r["images_per_s"] <= r["images_per_s_max"]
        assert r["latency_ms_min"] <= r["latency_ms"] <= r["latency_ms_max"]
        # with an odd number of repeats both medians come from the same repeat: rate * latency = batch size
        assert r["images_per_s"] * r["latency_ms"] / 1000 == pytest.approx(r["batch_size"])
    assert calls[-1] == (9, 9) and len(calls) == 9


def test_time_batches_refuses_batches_larger_than_the_data(book_shaped):
    model, x = book_shaped
    with pytest.raises(ValueError, match=r"\[1000\] do not fit 100 images"):
        time_batches(model, x, batch_sizes=(10, 1000), repeats=1)


def test_book_loop_rate(book_shaped):
    model, x = book_shaped
    assert book_loop_rate(model.params, model.prepare(x), n_images=20, repeats=1) > 0
    assert book_loop_rate(model.params, model.prepare(x), n_images=20, repeats=1, dtype=np.float64) > 0
    two_layers = {"W1": np.zeros((784, 10)), "b1": np.zeros(10)}
    with pytest.raises(ValueError, match="W1, b1, W2, b2, W3, b3"):
        book_loop_rate(two_layers, x)


def test_the_book_loop_runs_the_seed_s_code_verbatim_and_quietly(book_shaped, monkeypatch):
    import engine.book

    model, x = book_shaped
    calls = []
    verbatim = engine.book.predict_verbatim
    monkeypatch.setattr(engine.book, "predict_verbatim", lambda net, xi: calls.append((net["W1"].dtype, xi.shape)) or verbatim(net, xi))
    huge = {k: v * 1000 for k, v in model.params.items()}  # exp(-x) overflows in the book's sigmoid: no warning may escape
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book_loop_rate(huge, model.prepare(x), n_images=5, repeats=1, dtype=np.float64)
    assert calls == [(np.float64, (784,))] * 5  # one image per call, in the dtype asked for


def test_per_image_rates_time_the_engine_against_the_book_side_by_side(book_shaped):
    model, x = book_shaped
    r = per_image_rates(model, x, n_images=30, repeats=3)
    assert set(r) == {"engine", "book", "book_float64", "engine_vs_book", "engine_vs_book_float64"}
    assert all(v > 0 for v in r.values())
    deep = MLP({**model.params, "W4": np.eye(10), "b4": np.zeros(10)}, preprocess=Preprocess("unit"))
    assert set(per_image_rates(deep, x, n_images=10, repeats=1)) == {"engine"}  # the seed's predict needs three layers


def test_network_flops_of_the_books_net():
    # by hand: 784*50 + 50*100 + 100*10 = 45,200 multiply-adds, two FLOPs each
    assert network_flops([784, 50, 100, 10]) == 90_400
    assert network_flops([784, 50, 100, 10]) * 10_000 / 1e9 == pytest.approx(0.904)  # the 0.904 GFLOP per 10k
    assert network_flops([784, 10]) == 15_680
    assert limit_images_per_s(100.0, 90_400) == pytest.approx(1e11 / 90_400)


def test_matmul_roof_is_the_best_of_the_sizes():
    rates = matmul_rates(sizes=(32, 64, 128), repeats=3)
    assert list(rates) == [32, 64, 128] and all(v > 0 for v in rates.values())
    assert matmul_gflops(sizes=(64,), repeats=3) > 0


def test_load_average_and_blas_threads_are_reported():
    load = load_average()
    assert load is None or (len(load) == 3 and all(v >= 0 for v in load))
    blas = blas_info()
    assert set(blas) == {"library", "threads", "kernel"} and blas["library"]
    assert blas["threads"] is None or blas["threads"] >= 1


def test_machine_info_says_where_and_when():
    m = machine_info()
    assert {"cpu", "cores", "cores_usable", "numpy", "blas", "host", "measured_at"} <= m.keys()
    assert m["cores"] >= 1 and m["numpy"] == np.__version__ and m["cpu"]
    stamp = time.strptime(m["measured_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(time.mktime(stamp) - time.mktime(time.gmtime())) < 60
