"""`python -m engine`: evaluate prints the seed's accuracy line; every failure is one `error:` line, exit != 0, nothing run or written."""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

from engine.book import predict as book_predict
from engine.model import MLP
from engine.modelfile import save_model
from engine.preprocess import Preprocess
from tests.conftest import ROOT
from tests.httpserver import closed_port_url
from tests.synth import write_mnist


def run(args, tmp_path, **env_extra):
    """Run the CLI from the repo root with a private cache and no MNIST_DIR / BOOK_WEIGHTS unless given."""
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "BOOK_WEIGHTS", "MNIST_MIRRORS")}
    env["MNIST_EXPLORER_CACHE"] = str(tmp_path / "cache")
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "engine", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def snapshot(folder):
    """{relative path: bytes} of every file under folder (the cache folder excluded)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "cache" not in p.relative_to(folder).parts}


def assert_one_error_line(r, *words):
    """Exit != 0, nothing on stdout, and stderr is exactly one line `error: ...` holding each of words."""
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    assert r.stdout == ""
    return lines[0]


def book_params(seed=0, **shapes):
    rng = np.random.default_rng(seed)
    sizes = {"W1": (784, 50), "b1": (50,), "W2": (50, 100), "b2": (100,), "W3": (100, 10), "b3": (10,), **shapes}
    return {k: (rng.normal(size=s) / 10).astype(np.float32) for k, s in sizes.items()}


@pytest.fixture
def synth(tmp_path):
    """A synthetic data folder (raw IDX, so it can be cut) and a saved .npz model: (data folder, model path, arrays)."""
    folder, arrays = write_mnist(tmp_path / "data", n_train=30, n_test=40, gz=False, seed=7)
    model = MLP(book_params(), preprocess=Preprocess("unit"), card={"name": "synthetic"})
    return folder, save_model(model, tmp_path / "models" / "synthetic"), arrays


# --- evaluate ---------------------------------------------------------------------------------------------------

@pytest.mark.mnist
def test_evaluate_book_weights_prints_the_seed_accuracy_line(mnist_dir, book_weights, tmp_path):
    r = run(["evaluate", "--weights", book_weights, "--data-dir", mnist_dir], tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Accuracy:0.9352"  # the book's figure, in the seed's format, on its own line
    assert re.fullmatch(r"10,000 images in [\d.]+ ms at batch size 100: [\d,]+ images/s", lines[1]), lines[1]
    assert len(lines) == 2 and r.stderr == ""


def test_evaluate_synthetic_matches_the_seed_code(synth, tmp_path):
    folder, model_path, arrays = synth
    x, t = arrays["test"]
    network = book_params()
    # the seed's own forward pass on the book's normalized input, done here independently of the CLI
    y = book_predict(network, x.reshape(40, 784).astype(np.float32) / 255)
    expected = float((y.argmax(axis=1) == t).sum()) / 40
    for batch in ("100", "7", "1"):
        r = run(["evaluate", "--weights", model_path, "--data-dir", folder, "--batch-size", batch], tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout.splitlines()[0] == "Accuracy:" + str(expected)
        assert "40 images in " in r.stdout and f"at batch size {batch}:" in r.stdout


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_idx_file_is_one_error_line_and_writes_nothing(tmp_path, gz):
    folder, _ = write_mnist(tmp_path / "data", n_train=30, n_test=40, gz=gz)
    model_path = save_model(MLP(book_params(), preprocess=Preprocess("unit")), tmp_path / "models" / "m")
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    path = folder / name
    path.write_bytes(path.read_bytes()[:-100])
    before = snapshot(tmp_path)
    r = run(["evaluate", "--weights", model_path, "--data-dir", folder], tmp_path)
    line = assert_one_error_line(r, name, "truncated")
    assert line.startswith(f"error: {name} is " + ("a truncated gzip file" if gz else "truncated: expected"))
    assert snapshot(tmp_path) == before  # the data folder and the model folder are untouched
    cached = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert not any(n.startswith("t10k-images") for n in cached)  # the broken file was never cached


def test_pickle_that_runs_code_is_refused_and_nothing_runs(synth, tmp_path):
    folder, _, _ = synth
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({**book_params(), "W1": Payload()}, protocol=3))
    before = snapshot(tmp_path)
    r = run(["evaluate", "--weights", evil, "--data-dir", folder], tmp_path)
    assert_one_error_line(r, "evil.pkl", "system", "refused")
    assert not marker.exists()
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "cache").exists()  # refused before any data was even read


@pytest.mark.parametrize("key, shape, expected", [("W1", (784, 51), "(784, 50)"), ("W3", (100, 9), "(100, 10)")])
def test_weights_of_the_wrong_shape_are_one_error_line(synth, tmp_path, key, shape, expected):
    folder, _, _ = synth
    path = tmp_path / "wrong.pkl"
    path.write_bytes(pickle.dumps(book_params(**{key: shape}), protocol=3))
    before = snapshot(tmp_path)
    assert_one_error_line(run(["evaluate", "--weights", path, "--data-dir", folder], tmp_path),
                          "wrong.pkl", f"layer {key[1]}", key, str(shape), f"expected {expected}")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("name", ["nowhere.pkl", "nowhere.npz", "nowhere"])
def test_missing_weights_file_is_one_error_line_naming_it(synth, tmp_path, name):
    folder, _, _ = synth
    missing = tmp_path / "no-such-dir" / name
    assert_one_error_line(run(["evaluate", "--weights", missing, "--data-dir", folder], tmp_path), str(missing))


def test_missing_data_is_one_error_line_naming_the_files(synth, tmp_path):
    _, model_path, _ = synth
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_error_line(run(["evaluate", "--weights", model_path, "--data-dir", empty], tmp_path),
                          str(empty), "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", "python -m engine download")


def test_bad_batch_size_is_one_error_line(synth, tmp_path):
    folder, model_path, _ = synth
    assert_one_error_line(run(["evaluate", "--weights", model_path, "--data-dir", folder, "--batch-size", "0"], tmp_path),
                          "--batch-size")


@pytest.mark.parametrize("args, words", [
    (["evaluate"], "the following arguments are required: --weights"),
    (["evaluate", "--weights"], "expected one argument"),
    (["evaluate", "--weights", "w.pkl", "--batch-size", "ten"], "invalid int value"),
    (["no-such-command"], "invalid choice"),
    ([], "the following arguments are required: command"),
])
def test_bad_arguments_are_a_usage_error_without_traceback(tmp_path, args, words):
    r = run(args, tmp_path)
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    last = r.stderr.splitlines()[-1]
    assert last.startswith("python -m engine") and "error: " in last and words in last


# --- info ----------------------------------------------------------------------------------------------------------

def test_info_says_where_the_data_is(synth, tmp_path):
    folder, _, _ = synth
    missing_weights = tmp_path / "sample_weight.pkl"
    r = run(["info"], tmp_path, MNIST_DIR=str(folder), BOOK_WEIGHTS=str(missing_weights))
    assert r.returncode == 0 and r.stderr == ""
    out = r.stdout
    assert f"cache directory: {tmp_path / 'cache'}" in out
    assert f"MNIST_DIR: {folder}" in out and f"MNIST: found in {folder}" in out
    for stem, size in (("train-images-idx3-ubyte", 16 + 30 * 784), ("t10k-labels-idx1-ubyte", 8 + 40)):
        assert re.search(rf"^  {stem} +{stem} \({size:,} bytes\)$", out, re.M), out
    assert f"BOOK_WEIGHTS: {missing_weights} (missing)" in out


def test_info_says_what_is_missing(tmp_path):
    r = run(["info"], tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert "MNIST_DIR: (not set)" in r.stdout and "BOOK_WEIGHTS: (not set)" in r.stdout
    line = next(x for x in r.stdout.splitlines() if x.startswith("MNIST:"))
    assert line.startswith("MNIST: missing.")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz", "python -m engine download", str(tmp_path / "cache" / "mnist")):
        assert name in line


def test_download_with_a_wrong_mnist_dir_refuses_to_fill_the_unread_cache(tmp_path):
    missing = tmp_path / "nowhere"
    r = run(["download"], tmp_path, MNIST_DIR=str(missing), MNIST_MIRRORS=closed_port_url())
    assert_one_error_line(r, f"MNIST_DIR is set to {missing}", "never from the cache", "unset it")
    assert not (tmp_path / "cache" / "mnist").exists()


def test_info_names_a_missing_mnist_dir_and_the_fix(tmp_path):
    missing = tmp_path / "nowhere"
    r = run(["info"], tmp_path, MNIST_DIR=str(missing))
    assert r.returncode == 0 and r.stderr == ""
    line = next(x for x in r.stdout.splitlines() if x.startswith("MNIST:"))
    assert line == (f"MNIST: missing. MNIST_DIR points to {missing}, which does not exist: "
                    f"fix MNIST_DIR or unset it to use the cache ({tmp_path / 'cache' / 'mnist'}).")
