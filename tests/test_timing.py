"""Timing rows have the requested shape and consistent numbers; FLOP arithmetic and machine info. Speed is never asserted."""
import os
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

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
    with pytest.raises(ValueError) as e:
        book_loop_rate(two_layers, x)
    assert str(e.value) == "The book's loop needs W1, b1, W2, b2, W3, b3; got W1, b1."


def test_the_book_loop_runs_the_seed_s_code_verbatim_and_quietly(book_shaped, monkeypatch):
    import engine.book

    model, x = book_shaped
    calls = []
    verbatim = engine.book.predict_verbatim
    monkeypatch.setattr(engine.book, "predict_verbatim",
                        lambda net, xi: calls.append((net["W1"].dtype, net["W1"].shape, xi.dtype, xi.shape)) or verbatim(net, xi))
    huge = {k: v * 1000 for k, v in model.params.items()}  # exp(-x) overflows in the book's sigmoid: no warning may escape
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        book_loop_rate(huge, model.prepare(x), n_images=5, repeats=1, dtype=np.float64)
    assert calls == [(np.float64, (784, 50), np.float64, (784,))] * 5  # one image per call, weights and image in the dtype asked for


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
    assert limit_images_per_s(100.0, 90_400) == pytest.approx(1e11 / 90_400, rel=1e-12)


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


# The arithmetic of the rates on a stand-in clock: every "second" below is a fake clock's, so nothing depends on speed


class Clock:
    """A stand-in for time.perf_counter that only moves when told to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    import engine.timing
    fake = Clock()
    monkeypatch.setattr(engine.timing, "time", SimpleNamespace(perf_counter=fake))  # this module's clock only
    return fake


class SlowModel:
    """A stand-in model whose predict_proba costs per_image[call] fake seconds per image (cycling), and records its calls."""

    def __init__(self, clock, per_image):
        self.clock, self.per_image, self.calls = clock, per_image, []

    def predict_proba(self, x, *, batch_size):
        self.clock.now += len(x) * self.per_image[len(self.calls) % len(self.per_image)]
        self.calls.append((len(x), batch_size))


def test_time_batches_takes_medians_and_spreads_of_rate_and_latency_per_repeat(clock):
    x = np.zeros((50, 1))
    sizes = (1, 4, 50)
    # after the three warm-ups, calls go round-robin: repeat 0 sizes 1, 4, 50, repeat 1 ... at these costs per image
    costs = {0: (1e-3, 2e-3, 4e-3), 1: (4e-3, 8e-3, 1e-3), 2: (2e-3, 1e-3, 2e-3)}  # repeat -> cost for each size
    model = SlowModel(clock, [0.0, 0.0, 0.0] + [costs[r][i] for r in range(3) for i in range(3)])
    rows = time_batches(model, x, batch_sizes=sizes, repeats=3, max_batches=10)
    assert model.calls[:3] == [(1, 1), (4, 4), (50, 50)]  # one warm-up batch per size first
    assert model.calls[3:] == [(10, 1), (40, 4), (50, 50)] * 3  # k = min(50 // b, 10) full batches
    for i, (row, b, k) in enumerate(zip(rows, sizes, (10, 10, 1), strict=True)):
        per_image = np.array([costs[r][i] for r in range(3)])
        rates, latency = 1 / per_image, per_image * b * 1000  # images/s, and ms per batch of b
        assert row == pytest.approx({"batch_size": b, "images_per_s": np.median(rates), "images_per_s_min": rates.min(),
                                     "images_per_s_max": rates.max(), "latency_ms": np.median(latency),
                                     "latency_ms_min": latency.min(), "latency_ms_max": latency.max(),
                                     "repeats": 3, "batches": k, "images": k * b})
        assert isinstance(row["images_per_s"], float) and isinstance(row["latency_ms_max"], float)


def test_time_batches_defaults_every_size_five_repeats_and_at_most_200_batches(clock):
    from engine.timing import BATCH_SIZES
    model = SlowModel(clock, [1e-6])
    calls = []
    rows = time_batches(model, np.zeros((10_000, 1)), progress=lambda *a: calls.append(a))
    assert [r["batch_size"] for r in rows] == list(BATCH_SIZES) == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]
    assert [r["batches"] for r in rows] == [min(10_000 // b, 200) for b in BATCH_SIZES] and all(r["repeats"] == 5 for r in rows)
    m = len(BATCH_SIZES)
    assert calls == [(f"repeat {r + 1}/5", r * m + i + 1, 5 * m) for r in range(5) for i in range(m)]


@pytest.mark.parametrize("sizes, bad", [((0, 5), [0]), ((5, 11, 12), [11, 12]), ((-1,), [-1])])
def test_time_batches_refuses_sizes_outside_1_to_the_number_of_images(clock, sizes, bad):
    with pytest.raises(ValueError) as e:
        time_batches(SlowModel(clock, [0.0]), np.zeros((10, 1)), batch_sizes=sizes)
    assert str(e.value) == f"Batch sizes {bad} do not fit 10 images: each must be between 1 and the number of images."
    assert len(time_batches(SlowModel(clock, [1e-3]), np.zeros((10, 1)), batch_sizes=(1, 10), repeats=1)) == 2  # both ends fit


def test_the_book_loop_rate_is_the_median_of_the_per_repeat_rates(clock, monkeypatch):
    import engine.book
    costs = iter([1e-3] * 4 + [3e-3] * 4)  # repeat 1: 4 images at 1 ms, repeat 2: at 3 ms

    def predict(network, xi):
        clock.now += next(costs)
        return np.zeros(10)

    monkeypatch.setattr(engine.book, "predict_verbatim", predict)
    params = {f"{p}{i}": np.zeros(1) for i in (1, 2, 3) for p in "Wb"}
    rate = book_loop_rate(params, np.zeros((4, 784)), repeats=2)  # fewer images than n_images: all of them
    assert rate == pytest.approx((4 / 4e-3 + 4 / 12e-3) / 2)  # the median of 1000 and 333.3 images/s, not 4 / median(s)
    costs = iter([1e-3] * 1000)
    assert book_loop_rate(params, np.zeros((1500, 784)), repeats=1) == pytest.approx(1000)  # 1,000 images by default
    costs = iter([1e-3] * 4 + [3e-3] * 4 + [2e-3] * 4 + [9.0])  # three passes by default: the fourth cost is never reached
    assert book_loop_rate(params, np.zeros((4, 784))) == pytest.approx(500) and next(costs) == 9.0


class OneImageModel:
    """A stand-in three-layer model (float16 weights, so that no loop's dtype is theirs by chance) that records its calls."""

    n_layers = 3

    def __init__(self, clock, cost):
        self.clock, self.cost, self.repeat, self.calls = clock, cost, -1, []
        self.params = {f"{p}{i}": np.zeros((2, 2), np.float16) for i in (1, 2, 3) for p in "Wb"}

    def prepare(self, x):
        return np.asarray(x, np.float16)

    def predict(self, x):
        self.calls.append(len(x))
        self.clock.now += self.cost[self.repeat] if self.repeat >= 0 else 0.0  # the warm-up, before any pass, is free


def track_passes(monkeypatch, model, cost, order):
    """Make every timed pass of per_image_rates say which loop runs it, and the book's predict cost cost[loop][repeat]."""
    import engine.book
    import engine.timing
    seen = {"float32": -1, "float64": -1}
    current = {}

    def predict(network, xi):
        name = current["name"]
        assert network["W1"].dtype == xi.dtype == np.dtype(name) and network["W1"].shape == (2, 2) and xi.shape == (784,)
        model.clock.now += cost[name][seen[name]]

    monkeypatch.setattr(engine.book, "predict_verbatim", predict)

    def track(name, make):
        def wrapped(*args, **kwargs):
            run = make(*args, **kwargs)

            def timed():
                if name == "engine":
                    model.repeat += 1
                else:
                    seen[name] += 1
                current["name"] = name
                order.append(name)
                return run()
            return timed
        return wrapped

    engine_loop, book_loop = engine.timing._engine_loop, engine.timing._book_loop
    monkeypatch.setattr(engine.timing, "_engine_loop", track("engine", engine_loop))
    monkeypatch.setattr(engine.timing, "_book_loop", lambda params, x, *, n_images, dtype: track(
        np.dtype(dtype).name, book_loop)(params, x, n_images=n_images, dtype=dtype))


def test_per_image_rates_rotate_who_goes_first_and_take_the_median_ratios(clock, monkeypatch):
    cost = {"engine": [1e-3, 1e-3, 4e-3], "float32": [2e-3, 2e-3, 2e-3], "float64": [3e-3, 6e-3, 3e-3]}  # per image, per repeat
    model, order = OneImageModel(clock, cost["engine"]), []
    track_passes(monkeypatch, model, cost, order)
    out = per_image_rates(model, np.zeros((5, 784)), n_images=4, repeats=3)
    assert order == ["engine", "float32", "float64", "float32", "float64", "engine", "float64", "engine", "float32"]
    assert model.calls == [1] * (1 + 3 * 4)  # one warm-up, then one image per call
    seconds = {k: 4 * np.array(v) for k, v in cost.items()}
    assert out == pytest.approx({"engine": np.median(4 / seconds["engine"]), "book": np.median(4 / seconds["float32"]),
                                 "book_float64": np.median(4 / seconds["float64"]),
                                 "engine_vs_book": np.median(seconds["float32"] / seconds["engine"]),
                                 "engine_vs_book_float64": np.median(seconds["float64"] / seconds["engine"])}, rel=1e-12)


def test_per_image_rates_default_to_five_passes_over_1000_images(clock, monkeypatch):
    cost = {"engine": [1e-6] * 5, "float32": [1e-6] * 5, "float64": [1e-6] * 5}
    model, order = OneImageModel(clock, cost["engine"]), []
    track_passes(monkeypatch, model, cost, order)
    per_image_rates(model, np.zeros((1500, 784)))
    assert len(order) == 3 * 5 and len(model.calls) == 1 + 5 * 1000


def test_matmul_rates_count_two_size_cubed_flops_over_the_median_time(clock, monkeypatch):
    import engine.timing
    durations = iter([0.5, 1e-3, 3e-3, 2e-3, 0.5, 4e-3, 1e-3, 1e-3])  # per size: a warm-up, then three repeats
    real = np.matmul

    def matmul(a, b, out):
        clock.now += next(durations)
        return real(a, b, out=out)

    monkeypatch.setattr(engine.timing.np, "matmul", matmul)
    assert matmul_rates(sizes=(4, 8), repeats=3) == pytest.approx({4: 2 * 4**3 / 2e-3 / 1e9, 8: 2 * 8**3 / 1e-3 / 1e9}, rel=1e-12)


def test_matmul_rates_default_to_two_sizes_three_repeats_into_one_float32_buffer(clock, monkeypatch):
    import engine.timing
    calls = []

    def matmul(a, b, out):  # nothing is multiplied: only what would be is recorded
        calls.append((a.shape, a.dtype, b.shape, b.dtype, out))
        clock.now += 1e-3 * len(calls)

    monkeypatch.setattr(engine.timing.np, "matmul", matmul)
    rates = matmul_rates()
    assert list(rates) == [1024, 2048] and len(calls) == 2 * (1 + 3)
    for size, group in ((1024, calls[:4]), (2048, calls[4:])):
        assert all(c[:4] == ((size, size), np.float32, (size, size), np.float32) for c in group)
        assert all(c[4] is group[0][4] and c[4].dtype == np.float32 and c[4].shape == (size, size) for c in group)


def test_the_matmul_roof_is_the_best_rate_of_the_quick_size_by_default(monkeypatch):
    import engine.timing
    asked = []
    monkeypatch.setattr(engine.timing, "matmul_rates", lambda *, sizes, repeats: asked.append((sizes, repeats)) or {1: 3.0, 2: 7.0, 3: 5.0})
    assert matmul_gflops() == 7.0 and asked == [((1024,), 5)]
    assert matmul_gflops(sizes=(2,), repeats=2) == 7.0 and asked[-1] == ((2,), 2)


def test_load_average_is_rounded_and_none_where_the_os_has_none(monkeypatch):
    import engine.timing
    monkeypatch.setattr(engine.timing.os, "getloadavg", lambda: (1.23456, 0.5, 2.0))
    assert load_average() == (1.23, 0.5, 2.0)

    def fail():
        raise OSError("no load average")

    monkeypatch.setattr(engine.timing.os, "getloadavg", fail)
    assert load_average() is None
    monkeypatch.delattr(engine.timing.os, "getloadavg")
    assert load_average() is None


def test_blas_info_reads_threadpoolctl_and_falls_back_to_numpys_build(monkeypatch):
    import threadpoolctl

    import engine.timing
    monkeypatch.setattr(engine.timing, "_blas_name", lambda: "built-in BLAS 1.0")
    info = [{"user_api": "openmp", "internal_api": "openmp", "num_threads": 8},
            {"user_api": "blas", "internal_api": "openblas", "version": "0.3.27", "num_threads": 2, "architecture": "Haswell"},
            {"user_api": "blas", "internal_api": "mkl", "version": "2024", "num_threads": 4}]
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: info)
    assert blas_info() == {"library": "openblas 0.3.27", "threads": 2, "kernel": "Haswell"}
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: [{"user_api": "blas"}])
    assert blas_info() == {"library": "unknown", "threads": None, "kernel": None}
    monkeypatch.setattr(threadpoolctl, "threadpool_info", lambda: info[:1])
    assert blas_info() == {"library": "built-in BLAS 1.0", "threads": None, "kernel": None}

    def fail():
        raise RuntimeError("cannot inspect")

    monkeypatch.setattr(threadpoolctl, "threadpool_info", fail)
    assert blas_info() == {"library": "built-in BLAS 1.0", "threads": None, "kernel": None}


def test_the_blas_name_is_numpys_build_dependency_or_unknown(monkeypatch):
    from engine.timing import _blas_name
    build = {"Build Dependencies": {"blas": {"name": "scipy-openblas", "version": "0.3.28"}}}
    monkeypatch.setattr(np, "show_config", lambda mode: build if mode == "dicts" else None)  # None: numpy printed instead
    assert _blas_name() == "scipy-openblas 0.3.28"
    monkeypatch.setattr(np, "show_config", lambda mode: {"Build Dependencies": {"blas": {}}})
    assert _blas_name() == "unknown"
    monkeypatch.setattr(np, "show_config", lambda mode: {})
    assert _blas_name() == "unknown"


def test_machine_info_reads_the_cpu_model_and_the_usable_cores(monkeypatch):
    import platform

    import engine.timing
    m = machine_info()
    assert m["python"] == platform.python_version() and m["host"] == platform.node()
    assert m["system"] == f"{platform.system()} {platform.machine()}" and m["cores"] == os_cpu_count()
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        assert m["cpu"] == (names[0] if names else platform.processor() or platform.machine() or "unknown")
    monkeypatch.setattr(engine.timing.os, "sched_getaffinity", lambda pid: {0, 3} if pid == 0 else set())
    assert machine_info()["cores_usable"] == 2
    monkeypatch.delattr(engine.timing.os, "sched_getaffinity")
    assert machine_info()["cores_usable"] == os_cpu_count()


def test_the_cpu_model_falls_back_to_platform_names(monkeypatch, tmp_path):
    import builtins
    import platform

    import engine.timing
    from engine.timing import _cpu_model
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_bytes(b"processor\t: 0\nvendor_id\t: \xff\xfe\nmodel name\t: Test CPU: 9 GHz \nmodel name\t: Other\n")  # not all UTF-8
    real_open = builtins.open
    monkeypatch.setattr(engine.timing, "open", lambda path, **kw: real_open(cpuinfo if path == "/proc/cpuinfo" else path, **kw),
                        raising=False)
    assert _cpu_model() == "Test CPU: 9 GHz"
    cpuinfo.write_text("processor\t: 0\n")
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    assert _cpu_model() == "riscv64"

    def fail(path, **kw):
        raise OSError("no /proc")

    monkeypatch.setattr(engine.timing, "open", fail, raising=False)
    monkeypatch.setattr(platform, "processor", lambda: "arm")
    assert _cpu_model() == "arm"
    monkeypatch.setattr(platform, "processor", lambda: "")
    monkeypatch.setattr(platform, "machine", lambda: "")
    assert _cpu_model() == "unknown"


def os_cpu_count():
    return os.cpu_count()


def test_machine_info_stamps_utc_whatever_the_local_time_zone():
    import calendar
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC-9"  # nine hours ahead of UTC, as in Tokyo
    time.tzset()
    try:
        stamp = machine_info()["measured_at"]
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
    assert abs(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) - time.time()) < 60
