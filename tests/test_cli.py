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


# --- the same commands called in this process (fast, and what mutation testing can follow) ------------------------

def ns(**kw):
    import argparse
    return argparse.Namespace(**kw)


def test_evaluate_in_process_prints_the_seeds_accuracy_and_the_rate(synth, capsys, monkeypatch, tmp_path):
    from engine.cli import evaluate
    from engine.train import TrainConfig, train
    folder, _, arrays = synth
    x, t = arrays["test"]
    # a net that reads these digits (fitted on them: only so that its accuracy depends on being given raw pixels)
    model = train(x.reshape(40, 784), t, config=TrainConfig(hidden=(16,), epochs=30, val_size=5, lr=0.01))
    path = save_model(model, tmp_path / "fitted.npz")
    clock = iter([10.0, 10.25])  # the forward pass takes a quarter of a second
    monkeypatch.setattr(evaluate, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: next(clock))}))
    evaluate.run(ns(weights=str(path), batch_size=1, data_dir=str(folder)))
    expected = float((model.predict(x.reshape(40, 784)) == t).sum()) / 40
    assert expected > 0.5
    assert capsys.readouterr().out.splitlines() == ["Accuracy:" + str(expected),
                                                    "40 images in 250.0 ms at batch size 1: 160 images/s"]
    with pytest.raises(SystemExit, match=r"^error: --batch-size must be at least 1.$"):
        evaluate.run(ns(weights=str(path), batch_size=0, data_dir=str(folder)))


def test_evaluate_in_process_matches_the_seed_code(synth, capsys):
    from engine.cli import evaluate
    folder, model_path, arrays = synth
    x, t = arrays["test"]
    y = book_predict(book_params(), x.reshape(40, 784).astype(np.float32) / 255)
    evaluate.run(ns(weights=str(model_path), batch_size=7, data_dir=str(folder)))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Accuracy:" + str(float((y.argmax(axis=1) == t).sum()) / 40)
    assert re.fullmatch(r"40 images in [\d.]+ ms at batch size 7: [\d,]+ images/s", lines[1])


def test_the_progress_bar_draws_its_share_on_one_line():
    import io

    from engine.cli.progress import bar
    s = io.StringIO()
    bar("load", 5, 20, width=8, stream=s)
    assert s.getvalue() == "\r" + "load".ljust(28) + " [##------]  25.0%"
    s = io.StringIO()
    bar("x", 20, 20, stream=s)  # done: the line is ended
    assert s.getvalue() == "\r" + "x".ljust(28) + " [" + "#" * 30 + "] 100.0%\n"
    s = io.StringIO()
    bar("x", 3, 0, stream=s)  # an unknown total: an empty bar, no line end
    assert s.getvalue() == "\r" + "x".ljust(28) + " [" + "-" * 30 + "]   0.0%"
    s = io.StringIO()
    bar("x", 29, 30, width=10, stream=s)
    assert s.getvalue().endswith(" [#########-]  96.7%")  # a share is floored, never shown full before the end


def test_the_progress_bar_goes_to_stderr_by_default(capsys):
    from engine.cli.progress import bar
    bar("y", 1, 2)
    out = capsys.readouterr()
    assert out.out == "" and out.err == "\r" + "y".ljust(28) + " [" + "#" * 15 + "-" * 15 + "]  50.0%"


def test_download_in_process_draws_bars_and_names_the_folder(tmp_path, capsys, monkeypatch):
    from engine.cli import data_cmds

    def fake(dest, *, progress):
        progress("train-images-idx3-ubyte.gz", 5, 10)
        progress("train-images-idx3-ubyte.gz", 10, 10)
        return dest
    monkeypatch.setattr(data_cmds, "download_mnist", fake)
    data_cmds.run_download(ns(data_dir=str(tmp_path / "d")))
    out = capsys.readouterr()
    assert out.out == f"MNIST is ready in {tmp_path / 'd'}\n"
    assert out.err.count("\r") == 2 and out.err.endswith("100.0%\n")
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    data_cmds.run_download(ns(data_dir=None))
    assert capsys.readouterr().out == f"MNIST is ready in {tmp_path / 'cache' / 'mnist'}\n"  # the cache by default


@pytest.mark.parametrize(("drawn", "newline"), [((5, 10), True), ((10, 10), False), ((0, 0), True)])
def test_a_failed_download_starts_its_error_on_a_fresh_line_only_after_a_half_drawn_bar(tmp_path, capsys, monkeypatch,
                                                                                         drawn, newline):
    from engine.cli import data_cmds
    from engine.errors import EngineError

    def fake(dest, *, progress):
        progress("t10k-labels-idx1-ubyte.gz", *drawn)
        raise EngineError("the mirror is down")
    monkeypatch.setattr(data_cmds, "download_mnist", fake)
    with pytest.raises(EngineError, match="the mirror is down"):
        data_cmds.run_download(ns(data_dir=str(tmp_path)))
    err = capsys.readouterr().err
    assert err.endswith("\n") == (newline or drawn[0] >= drawn[1] > 0)
    assert err.count("\n") == (drawn[0] >= drawn[1] > 0) + newline


def test_info_in_process_lists_files_models_and_weights(synth, tmp_path, capsys, monkeypatch):
    from engine.cli import data_cmds
    folder, _, _ = synth
    weights = tmp_path / "w.pkl"
    weights.write_bytes(b"x")
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNIST_DIR", str(folder))
    monkeypatch.setenv("BOOK_WEIGHTS", str(weights))
    models = tmp_path / "shipped"
    models.mkdir()
    for name in ("b", "a"):
        (models / f"{name}.npz").write_bytes(b"")
    monkeypatch.setattr(data_cmds, "MODELS_DIR", models)
    data_cmds.run_info(ns())
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [f"cache directory: {tmp_path / 'cache'}", f"MNIST_DIR: {folder}", f"MNIST: found in {folder}"]
    assert lines[3] == f"  {'train-images-idx3-ubyte':<26} train-images-idx3-ubyte ({16 + 30 * 784:,} bytes)"
    assert lines[-2:] == [f"models ({models}): a, b", f"BOOK_WEIGHTS: {weights}"]  # present: no "(missing)"
    for name in ("a", "b"):
        (models / f"{name}.npz").unlink()
    monkeypatch.delenv("MNIST_DIR")
    monkeypatch.delenv("BOOK_WEIGHTS")
    data_cmds.run_info(ns())
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "MNIST_DIR: (not set)" and lines[2].startswith("MNIST: missing. MNIST was not found")
    assert lines[-2:] == [f"models ({models}): none", "BOOK_WEIGHTS: (not set)"]
    monkeypatch.setenv("BOOK_WEIGHTS", str(tmp_path / "gone.pkl"))
    data_cmds.run_info(ns())
    assert capsys.readouterr().out.splitlines()[-1] == f"BOOK_WEIGHTS: {tmp_path / 'gone.pkl'} (missing)"


def test_main_runs_a_command_and_turns_failures_into_one_line(capsys, monkeypatch):
    from engine import __main__ as entry
    from engine.cli import data_cmds
    from engine.errors import EngineError
    assert entry.main(["info"]) == 0 and "cache directory: " in capsys.readouterr().out

    def fail(args):
        raise EngineError("it broke")
    monkeypatch.setattr(data_cmds, "run_info", fail)
    assert entry.main(["info"]) == 1
    assert capsys.readouterr().err == "error: it broke\n"

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(data_cmds, "run_info", interrupted)
    assert entry.main(["info"]) == 130
    assert capsys.readouterr().err == "error: interrupted.\n"
    monkeypatch.setattr(data_cmds, "run_info", lambda args: 3)
    assert entry.main(["info"]) == 3  # a command's own exit code is passed on
    with pytest.raises(SystemExit) as e:
        entry.main([])
    assert e.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "python -m engine: error: the following arguments are required: command"
    with pytest.raises(SystemExit) as e:
        entry.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: python -m engine [-h]") and "MNIST Explorer engine" in out
    for name in ("benchmark", "download", "evaluate", "info", "predict", "train", "train-all", "train-family", "train-job"):
        assert name in out


def test_every_help_that_states_a_default_states_the_real_one():
    import argparse

    from engine.cli import COMMANDS
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    for module in COMMANDS:
        module.add_parser(sub)
    checked = 0
    for name, parser in sub.choices.items():
        for action in parser._actions:
            text = action.help or ""
            if action.default is None or action.default == argparse.SUPPRESS or "default" not in text.lower():
                continue
            stated = re.search(r"\(default:? (\([^)]*\)|[^;,)]+)", text)
            assert stated, (name, action.dest, text)  # "(default: X)" as everywhere else, not re-cased
            words = re.findall(r"[^\s,()]+", stated.group(1))
            if words[0] == "all":
                continue  # "(default: all five)": a count, checked below
            d = action.default
            want = [f"{v:g}" if isinstance(v, float) else str(v) for v in (d if isinstance(d, (list, tuple)) else [d])]
            words = [f"{float(w):g}" if re.fullmatch(r"\d+\.\d+", w) else w for w in words]  # 1.0 reads as 1
            if "..." in words:
                assert (words[0], words[-1]) == (want[0], want[-1]), (name, action.dest, text)
            else:
                assert words == want, (name, action.dest, text)
            checked += 1
    assert checked >= 25
    kinds = next(a for a in sub.choices["train-family"]._actions if a.dest == "kinds")
    assert "(default: all five)" in kinds.help and len(kinds.default) == 5


def test_every_command_and_option_explains_itself_and_names_variables_as_the_code_reads_them():
    import argparse

    from engine.cli import COMMANDS
    top = argparse.ArgumentParser(prog="python -m engine")
    sub = top.add_subparsers()
    for module in COMMANDS:
        module.add_parser(sub)
    commands = {a.dest: a.help for a in sub._choices_actions}
    assert set(commands) == set(sub.choices) and all(commands.values()), commands
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if action.dest == "help":
                continue
            assert action.help and action.help.strip(), (name, action.dest)
            for var in re.findall(r"\$(\w+)", action.help):  # a variable the user must type exactly as the code reads it
                assert var in {"MNIST_DIR", "BOOK_WEIGHTS"}, (name, action.dest, action.help)


def test_the_options_of_evaluate_download_and_predict_parse_to_their_types():
    import argparse

    from engine.cli import data_cmds, evaluate, predict
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    for module in (evaluate, data_cmds, predict):
        module.add_parser(sub)
    with pytest.raises(SystemExit):
        sub.choices["evaluate"].parse_args([])  # no weights: nothing to evaluate
    e = sub.choices["evaluate"].parse_args(["--weights", "w.npz"])
    assert (e.weights, e.batch_size, e.data_dir, e.run) == ("w.npz", 100, None, evaluate.run)
    assert sub.choices["evaluate"].parse_args(["--weights", "w", "--batch-size", "7", "--data-dir", "d"]).batch_size == 7
    d = sub.choices["download"].parse_args(["--data-dir", "x"])
    assert (d.data_dir, d.run) == ("x", data_cmds.run_download)
    assert sub.choices["download"].parse_args([]).data_dir is None
    assert sub.choices["info"].parse_args([]).run is data_cmds.run_info
    p = sub.choices["predict"].parse_args(["a.png", "b.jpg"])
    assert (p.files, p.weights, p.run) == (["a.png", "b.jpg"], None, predict.run)
    assert sub.choices["predict"].parse_args(["--weights", "w", "a.png"]).weights == "w"
    with pytest.raises(SystemExit):
        sub.choices["predict"].parse_args([])  # at least one picture


def test_evaluate_never_downloads_what_is_missing(synth, fresh_cache, monkeypatch):
    from engine.cli import evaluate
    from engine.errors import MnistNotFoundError
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    with pytest.raises(MnistNotFoundError, match="python -m engine download"):
        evaluate.run(ns(weights=str(synth[1]), batch_size=100, data_dir=None))
    assert not any(fresh_cache.rglob("*.gz"))
