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
