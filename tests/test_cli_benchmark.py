"""`python -m engine benchmark` prints one table row per requested batch size, the book loop verbatim, the one-image loop,
the machine limit, the load average and the BLAS threads."""
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run_benchmark(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "BOOK_WEIGHTS"}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "engine", "benchmark", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def table_rows(stdout):
    """Batch sizes of the table rows: lines that start with a number followed by the images/s column."""
    return [int(m.group(1).replace(",", "")) for m in re.finditer(r"^\s*([\d,]+)\s+[\d,]+\s+[\d.]+\s", stdout, re.M)]


def test_benchmark_prints_requested_rows(synth_mnist):
    folder, arrays = synth_mnist
    r = run_benchmark("--batch-sizes", "1", "5", "50", "--repeats", "1", "--book-images", "20", "--matmul-sizes", "64", "128",
                      "--data-dir", str(folder), env_extra={"OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert table_rows(r.stdout) == [1, 5, 50]
    assert f"on {len(arrays['test'][0]):,} test images" in r.stdout
    assert "random weights, book shape" in r.stdout
    assert re.search(r"^book loop \(predict one image at a time, 20 images\): [\d,]+ images/s \[the seed's code verbatim: "
                     r"sigmoid 1/\(1\+exp\(-x\)\), float32", r.stdout, re.M)
    assert re.search(r"^book loop in float64 \(weights and input cast\): [\d,]+ images/s$", r.stdout, re.M)
    assert re.search(r"^one image per call \(model.predict\(x\[i:i\+1\]\), 20 images\): [\d,]+ images/s = [\d.]+x the book loop, "
                     r"[\d.]+x its float64 run", r.stdout, re.M)
    assert re.search(r"^machine limit: [\d,.]+ GFLOP/s float32 matmul / 90,400 FLOPs per image = [\d,]+ images/s "
                     r"\[best of 64x64 [\d,.]+, 128x128 [\d,.]+ GFLOP/s square matmuls", r.stdout, re.M)
    assert re.search(r"^load average [\d.]+ [\d.]+ [\d.]+ before, [\d.]+ [\d.]+ [\d.]+ after \(1, 5, 15 min\) on \d+ cores; "
                     r"BLAS threads 1 \(", r.stdout, re.M)
    assert "measured " in r.stdout


def test_benchmark_refuses_a_batch_larger_than_the_test_set(synth_mnist):
    folder, arrays = synth_mnist
    r = run_benchmark("--batch-sizes", "10", "5000", "--data-dir", str(folder))
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == [f"error: --batch-sizes 5000 must lie between 1 and {len(arrays['test'][0]):,}, "
                                             "the number of test images."]


@pytest.mark.mnist
def test_benchmark_on_real_mnist_with_book_weights(mnist_dir, book_weights):
    r = run_benchmark("--batch-sizes", "100", "1000", "--repeats", "1", "--book-images", "100", "--matmul-sizes", "256",
                      env_extra={"MNIST_DIR": str(mnist_dir), "BOOK_WEIGHTS": str(book_weights)})
    assert r.returncode == 0, r.stderr
    assert table_rows(r.stdout) == [100, 1000]
    assert "784-50-100-10 (sample_weight.pkl) on 10,000 test images" in r.stdout


def test_benchmark_refuses_a_zero_matmul_size(synth_mnist):
    folder, _ = synth_mnist
    r = run_benchmark("--batch-sizes", "10", "--matmul-sizes", "0", "--data-dir", str(folder))
    assert r.returncode != 0
    assert r.stderr.strip().splitlines() == ["error: --repeats, --book-images and --matmul-sizes must be at least 1."]


# --- called in this process, with the timers replaced by fixed numbers: every line of the report, exactly ------------

def bench_args(folder, **kw):
    import argparse
    return argparse.Namespace(**{"batch_sizes": [1, 100], "weights": None, "repeats": 3, "book_images": 1000,
                                 "matmul_sizes": [8, 16], "data_dir": folder and str(folder), **kw})


@pytest.fixture
def fixed_timers(monkeypatch):
    """The timing functions the command calls, replaced by stand-ins with known answers; returns what they were given."""
    import numpy as np

    from engine.cli import benchmark
    seen = {}

    def time_batches(model, x, *, batch_sizes, repeats, progress):
        seen["x"], seen["batches"], seen["timed"] = x, (batch_sizes, repeats), model
        progress("batch size 100", 1, 2)
        return [{"batch_size": b, "images_per_s": 12345.6 * b, "latency_ms": 0.0814 * b, "images_per_s_min": 12000.4 * b,
                 "images_per_s_max": 13000.6 * b, "images": 2000 * b} for b in batch_sizes]

    def per_image_rates(model, x, *, n_images, repeats):
        seen["per_image"], seen["one_by_one"] = (n_images, repeats), (model, x)
        return dict(seen.get("rates", {"book": 1234.5, "book_float64": 999.4, "engine": 2345.6, "engine_vs_book": 1.9,
                                       "engine_vs_book_float64": 2.346}))

    def matmul_rates(*, sizes, repeats):
        seen["matmul"] = (sizes, repeats)
        return {s: 7.5 - s / 4 for s in sizes}  # 8: 5.5, 16: 3.5 GFLOP/s: the smaller matmul is the faster here
    loads = iter(seen.setdefault("loads", [(0.5, 0.25, 0.125), (1.0, 2.0, 3.0)]))
    monkeypatch.setattr(benchmark, "time_batches", time_batches)
    monkeypatch.setattr(benchmark, "per_image_rates", per_image_rates)
    monkeypatch.setattr(benchmark, "matmul_rates", matmul_rates)
    monkeypatch.setattr(benchmark, "load_average", lambda: next(loads))
    monkeypatch.setattr(benchmark, "machine_info", lambda: {"cores_usable": 3, "measured_at": "2026-01-02T03:04:05Z",
                                                            "host": "box", "cpu": "CPU X", "numpy": "2.0", "blas": "oblas"})
    monkeypatch.setattr(benchmark, "blas_info", lambda: {"threads": seen.get("threads"), "library": "openblas 0.3",
                                                         "kernel": seen.get("kernel")})
    seen["np"] = np
    return seen


def test_the_report_in_process_holds_every_measurement_in_its_place(synth_mnist, fixed_timers, capsys, monkeypatch):
    from engine.cli import benchmark
    monkeypatch.delenv("BOOK_WEIGHTS", raising=False)
    folder, arrays = synth_mnist
    fixed_timers["threads"], fixed_timers["kernel"] = 2, "Haswell"
    benchmark.run(bench_args(folder))
    out, err = capsys.readouterr()
    x = fixed_timers["x"]
    assert x.dtype == fixed_timers["np"].uint8 and len(x) == 100  # the test images' raw pixels
    assert fixed_timers["batches"] == ([1, 100], 3) and fixed_timers["per_image"] == (100, 3)  # at most the test set
    assert fixed_timers["matmul"] == ([8, 16], 3)
    assert err.startswith("\rbatch size 100") and err.endswith(" 50.0%")  # the progress of the timing, drawn as it goes
    assert fixed_timers["timed"].sizes == [784, 50, 100, 10] and fixed_timers["one_by_one"][0] is fixed_timers["timed"]
    assert fixed_timers["one_by_one"][1] is x
    limit = 5.5e9 / 90_400  # the best matmul rate over the book net's FLOPs per image
    assert out.splitlines() == [
        "784-50-100-10 (random weights, book shape) on 100 test images, median of 3 repeats, spread = min-max",
        f"{'batch size':>10}  {'images/s':>12}  {'latency ms':>11}  {'spread images/s':>23}  {'timed/repeat':>12}",
        f"{1:>10}  {'12,346':>12}  {'0.081':>11}  {'12,000-13,001':>23}  {'2,000':>12}",
        f"{100:>10}  {'1,234,560':>12}  {'8.140':>11}  {'1,200,040-1,300,060':>23}  {'200,000':>12}",
        "book loop (predict one image at a time, 100 images): 1,234 images/s [the seed's code verbatim: sigmoid "
        "1/(1+exp(-x)), float32 weights as sample_weight.pkl stores them]",
        "book loop in float64 (weights and input cast): 999 images/s",
        "one image per call (model.predict(x[i:i+1]), 100 images): 2,346 images/s = 1.90x the book loop, 2.35x its float64 "
        "run (medians of side-by-side ratios)",
        f"machine limit: 5.5 GFLOP/s float32 matmul / 90,400 FLOPs per image = {limit:,.0f} images/s [best of 8x8 5.5, "
        "16x16 3.5 GFLOP/s square matmuls, median of 3 each]",
        "load average 0.50 0.25 0.12 before, 1.00 2.00 3.00 after (1, 5, 15 min) on 3 cores; BLAS threads 2 (openblas 0.3, "
        "Haswell kernels)",
        "measured 2026-01-02T03:04:05Z on box: CPU X, 3 cores, numpy 2.0, oblas",
    ]


def test_a_net_the_book_loop_cannot_run_says_so(synth_mnist, fixed_timers, capsys, tmp_path):
    from engine.cli import benchmark
    from engine.model import MLP
    from engine.modelfile import save_model
    np = fixed_timers["np"]
    path = save_model(MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)}), tmp_path / "flat.npz")
    fixed_timers["rates"] = {"engine": 5000.0}
    fixed_timers["loads"][:] = [None, None]  # no load average on this system
    benchmark.run(bench_args(synth_mnist[0], weights=str(path), book_images=7, batch_sizes=[100]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("784-10 (flat.npz) on 100 test images")
    assert "book loop: skipped, the seed's predict needs exactly three layers" in lines
    assert "one image per call (model.predict(x[i:i+1]), 7 images): 5,000 images/s" in lines
    assert lines[-2].endswith("BLAS threads unknown (openblas 0.3)")  # no thread count, no kernel name
    assert lines[-2].startswith("load average unknown before, unknown after (1, 5, 15 min)")


@pytest.mark.parametrize(("options", "message"), [
    ({"batch_sizes": [0, 100, 101, 5]}, "error: --batch-sizes 0 101 must lie between 1 and 100, the number of test images."),
    ({"repeats": 0}, "error: --repeats, --book-images and --matmul-sizes must be at least 1."),
    ({"book_images": 0}, "error: --repeats, --book-images and --matmul-sizes must be at least 1."),
    ({"matmul_sizes": [16, 0]}, "error: --repeats, --book-images and --matmul-sizes must be at least 1."),
])
def test_bad_options_are_refused_before_any_timing(synth_mnist, fixed_timers, options, message):
    from engine.cli import benchmark
    with pytest.raises(SystemExit) as e:
        benchmark.run(bench_args(synth_mnist[0], **options))
    assert str(e.value) == message and "batches" not in fixed_timers


def test_the_model_timed_is_the_given_file_then_book_weights_then_random_book_shaped_weights(tmp_path, monkeypatch):
    import numpy as np

    from engine.cli.benchmark import pick_model
    from engine.model import MLP
    from engine.modelfile import save_model
    monkeypatch.delenv("BOOK_WEIGHTS", raising=False)
    model, label = pick_model(None)
    rng = np.random.default_rng(0)  # the book's shapes, N(0, 0.1) weights and zero biases from seed 0, layer by layer
    for i, (a, b) in enumerate([(784, 50), (50, 100), (100, 10)], start=1):
        np.testing.assert_allclose(model.params[f"W{i}"], rng.normal(0, 0.1, (a, b)), rtol=1e-6)
        assert not model.params[f"b{i}"].any()
    assert label == "random weights, book shape" and model.preprocess.kind == "unit" and model.sizes == [784, 50, 100, 10]
    a = save_model(MLP({"W1": np.ones((784, 10), np.float32), "b1": np.zeros(10, np.float32)}), tmp_path / "a.npz")
    b = save_model(MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.ones(10, np.float32)}), tmp_path / "b.npz")
    monkeypatch.setenv("BOOK_WEIGHTS", str(b))
    model, label = pick_model(None)
    assert label == "b.npz" and model.params["b1"].all()
    model, label = pick_model(str(a))
    assert label == "a.npz" and model.params["W1"].all()


def test_the_benchmark_options_parse_to_numbers_with_the_documented_defaults():
    import argparse

    from engine.cli import benchmark
    from engine.timing import BATCH_SIZES, MATMUL_SIZES
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    benchmark.add_parser(sub)
    a = sub.choices["benchmark"].parse_args([])
    assert (a.batch_sizes, a.weights, a.repeats, a.book_images, a.matmul_sizes, a.data_dir, a.run) == (
        list(BATCH_SIZES), None, 5, 1000, list(MATMUL_SIZES), None, benchmark.run)
    a = sub.choices["benchmark"].parse_args(["--batch-sizes", "3", "4", "--weights", "w", "--repeats", "2", "--book-images",
                                             "9", "--matmul-sizes", "64", "--data-dir", "d"])
    assert (a.batch_sizes, a.weights, a.repeats, a.book_images, a.matmul_sizes, a.data_dir) == ([3, 4], "w", 2, 9, [64], "d")


def test_benchmark_never_downloads_what_is_missing(fresh_cache, monkeypatch):
    from engine.cli import benchmark
    from engine.errors import MnistNotFoundError
    from tests.httpserver import closed_port_url
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    with pytest.raises(MnistNotFoundError, match="python -m engine download"):
        benchmark.run(bench_args(None))
    assert not any(fresh_cache.rglob("*.gz"))


def test_the_smallest_settings_are_allowed(synth_mnist, fixed_timers, capsys):
    from engine.cli import benchmark
    benchmark.run(bench_args(synth_mnist[0], batch_sizes=[1, 100], repeats=1, book_images=1, matmul_sizes=[1]))
    assert fixed_timers["per_image"] == (1, 1) and fixed_timers["matmul"] == ([1], 3)
    assert "one image per call (model.predict(x[i:i+1]), 1 images)" in capsys.readouterr().out


def test_the_usage_says_the_sizes_are_numbers():
    import argparse

    from engine.cli import benchmark
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    benchmark.add_parser(sub)
    usage = " ".join(sub.choices["benchmark"].format_usage().split())
    assert "[--batch-sizes N [N ...]]" in usage and "[--matmul-sizes N [N ...]]" in usage
