"""engine/cli/train.py called directly on small synthetic data: options map onto TrainConfig, a card's command parses back
to its config, `train` shows its progress and writes what it says, `train-all` runs each recorded command once."""
import argparse
import json
import re
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.cli import train as command
from engine.errors import EngineError
from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import Preprocess
from engine.train import TrainConfig
from tests.conftest import ROOT, WriteRecorder


def parsers():
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    command.add_parser(sub)
    return sub.choices


def parse(*argv):
    return parsers()["train"].parse_args(list(argv))


def test_a_wrong_choice_or_a_word_for_a_number_is_a_usage_error(capsys):
    for argv in (["--activation", "tanh"], ["--optimizer", "rmsprop"], ["--schedule", "cyclic"], ["--preprocess", "pca"],
                 ["--recipe", "best"], ["--epochs", "ten"], ["--lr", "fast"]):
        with pytest.raises(SystemExit) as e:
            parse(*argv, "--out", "m.npz")
        assert e.value.code == 2 and "invalid" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parsers()["train-all"].parse_args(["--only", "best"])
    assert parsers()["train-all"].parse_args(["--jobs", "2", "--only", "relu", "default"]).jobs == 2
    assert parsers()["train-all"].parse_args(["--only", "relu", "default"]).only == ["relu", "default"]


def test_no_options_are_the_trainers_defaults():
    args = parse("--out", "m.npz")
    assert command.config_from(args) == TrainConfig()
    assert (args.recipe, args.title, args.data_dir, args.out) == (None, None, None, "m.npz")
    every = parsers()["train-all"].parse_args([])
    assert (every.only, every.jobs, every.out_dir, every.data_dir) == (None, 1, str(ROOT / "models"), None)
    assert every.run is command.run_all and args.run is command.run


def test_every_option_sets_its_own_setting():
    args = parse("--hidden", "30", "20", "--activation", "relu", "--optimizer", "momentum", "--lr", "0.05", "--schedule", "step",
                 "--epochs", "7", "--batch-size", "32", "--weight-decay", "0.0001", "--preprocess", "standardize",
                 "--global-stats", "--eps", "0.5", "--augment", "--shift", "3", "--degrees", "12", "--shear", "9",
                 "--scale", "0.25", "--pen", "0.2", "--elastic", "1.5", "--patience", "4", "--val-size", "123",
                 "--seed", "9", "--out", "m.npz", "--title", "T", "--data-dir", "d")
    assert command.config_from(args) == TrainConfig(
        hidden=(30, 20), activation="relu", optimizer="momentum", lr=0.05, schedule="step", epochs=7, batch_size=32,
        weight_decay=0.0001, preprocess="standardize", per_pixel=False, eps=0.5, augment=True, shift=3, degrees=12,
        distort=False, shear=9.0, scale=0.25, pen=0.2, elastic=1.5, patience=4, val_size=123, seed=9)
    assert (args.title, args.data_dir) == ("T", "d")
    assert command.config_from(parse("--distort", "--out", "m")).distort


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(hidden=(7,), preprocess="standardize", per_pixel=False, augment=True, shift=2, degrees=5, lr=0.0125,
                weight_decay=1e-4, eps=0.25, patience=3, val_size=77, seed=5, batch_size=64, schedule="cosine"),
    TrainConfig(hidden=(256, 128), activation="relu", distort=True, shift=2, degrees=15, shear=20.5, scale=0.2, pen=0.25,
                elastic=1.5, optimizer="sgd", epochs=3),
])
def test_the_command_of_a_config_spells_every_setting_and_parses_back_to_it(config):
    line = command.command_of(config, "my models/m 1.npz")
    words = shlex.split(line)
    assert words[:4] == ["python", "-m", "engine", "train"] and words[-2:] == ["--out", "my models/m 1.npz"]
    args = parse(*words[4:])
    assert command.config_from(args) == config
    assert line.count("--shift") == int(config.augment or config.distort)  # the augmentation options only when used
    assert ("--global-stats" in words) == (not config.per_pixel)


def test_tuned_rate_reads_a_pre_models_card(tmp_path, monkeypatch):
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    cards = {"pre-whiten": {"family": {"tuned": {"lr": 0.016, "eps": 1.0}}}, "pre-unit": {"family": {"tuned": {"lr": 0.004,
             "eps": None}}}, "pre-center": {"family": {}}, "pre-raw": {"family": {"tuned": {"eps": 2.0}}}, "relu": {
             "family": {"tuned": {"lr": 0.5, "eps": 9.0}}}}
    for name, card in cards.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(card), encoding="utf-8")
    assert command.tuned_rate("pre-whiten", lr=0.1, eps=0.2) == (0.016, 1.0)
    assert command.tuned_rate("pre-unit", lr=0.1, eps=0.2) == (0.004, 0.2)  # no tuned eps: the one given
    assert command.tuned_rate("pre-center", lr=0.1, eps=0.2) == (0.1, 0.2)
    assert command.tuned_rate("pre-raw", lr=0.1, eps=0.2) == (0.1, 2.0)
    assert command.tuned_rate("relu", lr=0.1, eps=0.2) == (0.1, 0.2)  # only the pre-* family is tuned
    assert command.tuned_rate("pre-standardize", lr=0.1, eps=0.2) == (0.1, 0.2)  # no card


def test_a_recipe_is_its_recorded_options_at_the_rate_its_card_chose():
    card = json.loads((ROOT / "models" / "pre-whiten.json").read_text(encoding="utf-8"))
    c = command.config_from(parse("--recipe", "pre-whiten", "--lr", "9", "--hidden", "3"))  # given options are ignored
    assert (c.lr, c.eps) == (card["family"]["tuned"]["lr"], card["family"]["tuned"]["eps"])
    assert (c.preprocess, c.epochs, c.optimizer, c.schedule, c.hidden) == ("whiten", 15, "adam", "cosine", (50, 100))
    relu = command.config_from(parse("--recipe", "relu"))
    assert relu == TrainConfig(epochs=15, optimizer="adam", lr=0.001, schedule="cosine", activation="relu", seed=0)


@pytest.fixture
def data(tmp_path):
    """A synthetic MNIST folder: 500 training images, 60 test images."""
    from tests.synth import write_mnist
    return write_mnist(tmp_path / "data", n_train=500, n_test=60, seed=4)


@pytest.fixture
def no_offmnist(monkeypatch):
    """The off-MNIST set takes seconds to draw: stand-in entries (typed unknown first, then hand), and the models given."""
    given = []
    entries = iter([{"accuracy": 0.5, "typed": None, "hand": 0.25}, {"accuracy": 0.75, "typed": 0.125, "hand": None}])
    monkeypatch.setattr(command, "build_offmnist", lambda x, t: ("set", len(x), int(t.sum())))
    monkeypatch.setattr(command, "offmnist_entry", lambda model, s: (given.append(model), {**next(entries), "set": s})[1])
    return given


def test_train_needs_somewhere_to_write(data):
    with pytest.raises(EngineError, match=r"^Say where to write the model: --out models/mine.npz \(or --recipe NAME"):
        command.run(parse("--data-dir", str(data[0])))


def test_train_shows_about_20_redraws_an_epoch_and_writes_the_model_it_reports(data, tmp_path, capsys, no_offmnist):
    folder, arrays = data
    out = tmp_path / "out" / "tiny.npz"
    args = parse("--hidden", "8", "--epochs", "2", "--batch-size", "10", "--val-size", "100", "--data-dir", str(folder),
                 "--out", str(out))
    command.run(args)
    captured = capsys.readouterr()
    m = load_model(out)
    x_test, t_test = arrays["test"]
    assert m.card["test_accuracy"] == m.score(x_test.reshape(60, 784), t_test)
    assert m.card["name"] == "tiny" and m.card["title"] == "784-8-10 sigmoid, unit, adam"
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["name"] == "tiny"  # the readable card too
    assert m.card["command"] == command.command_of(command.config_from(args), str(out))
    assert m.card["offmnist_accuracy"] == 0.5 and m.card["offmnist"]["set"] == ["set", 60, int(t_test.sum())]  # the test set
    [given] = no_offmnist
    np.testing.assert_array_equal(given.params["W1"], m.params["W1"])  # the trained model is the one scored
    assert captured.out == (f"{out}: best epoch {m.card['best_epoch']}, validation accuracy {m.card['val_accuracy']:.4f}, "
                            f"test accuracy {m.card['test_accuracy']:.4f}, on digits unlike MNIST's 0.5000 (typed -, "
                            f"handwriting-like 0.2500), {m.card['seconds']:.1f} s\n")
    # 400 training images in batches of 10: 40 steps an epoch, a redraw every 2 steps, then one at the epoch's end
    draws = captured.err.split("\r")[1:]
    shown = [float(re.search(r"(\d+\.\d)%$", d.rstrip("\n")).group(1)) for d in draws]
    steps = [s for e in range(2) for s in [*range(e * 40 + 2, e * 40 + 41, 2), e * 40 + 40]]
    assert shown == [round(100 * s / 80, 1) for s in steps]
    assert draws[0].startswith("epoch 1/2 loss ") and " val - " in draws[0]  # no validation accuracy yet
    val = m.card["history"][0]["val_acc"]
    assert draws[21].startswith("epoch 2/2 loss ") and f" val {val:.4f} " in draws[21]
    assert re.match(r"epoch 1/2 loss \d\.\d{4} acc \d\.\d{4} val ", draws[1])
    assert captured.err.endswith("\n") and draws[-1].count("\n") == 2  # the bar's own line end, then train's


def test_a_short_epoch_redraws_at_every_step(data, tmp_path, capsys, no_offmnist):
    """400 images in batches of 19: 22 steps (the last of one image), too few for 20 redraws: one per step."""
    command.run(parse("--hidden", "4", "--epochs", "1", "--batch-size", "19", "--val-size", "100", "--data-dir",
                      str(data[0]), "--out", str(tmp_path / "m.npz")))
    draws = capsys.readouterr().err.split("\r")[1:]
    shown = [float(re.search(r"(\d+\.\d)%$", d.rstrip("\n")).group(1)) for d in draws]
    assert shown == [round(100 * s / 22, 1) for s in [*range(1, 23), 22]]


def test_train_never_downloads_what_is_missing(fresh_cache, monkeypatch, tmp_path):
    from engine.errors import MnistNotFoundError
    from tests.httpserver import closed_port_url
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    with pytest.raises(MnistNotFoundError, match="python -m engine download"):
        command.run(parse("--out", str(tmp_path / "m.npz")))
    assert not any(fresh_cache.rglob("*.gz"))


def test_a_recipe_writes_to_models_under_its_name_with_its_title(data, tmp_path, monkeypatch, capsys, no_offmnist):
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    monkeypatch.setitem(command.SHIPPED, "relu", ("A tiny recorded net", "--hidden 6 --epochs 1 --val-size 100"))
    command.run(parse("--recipe", "relu", "--data-dir", str(data[0])))
    m = load_model(tmp_path / "relu.npz")
    assert m.card["title"] == "A tiny recorded net" and m.card["sizes"] == [784, 6, 10]
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'relu.npz'}: best epoch 1,")
    command.run(parse("--recipe", "relu", "--data-dir", str(data[0]), "--out", str(tmp_path / "x.npz"), "--title", "Mine"))
    assert load_model(tmp_path / "x.npz").card["title"] == "Mine"
    assert "on digits unlike MNIST's 0.7500 (typed 0.1250, handwriting-like -), " in capsys.readouterr().out


def fake_children(calls, folder, *, fail=()):
    """A subprocess.run stand-in: records each command and writes the model(s) it would have written."""
    def run(cmd, **kwargs):
        calls.append((cmd, kwargs))
        if "--kinds" in cmd:
            names = [f"pre-{k}" for k in cmd[cmd.index("--kinds") + 1:cmd.index("--jobs")]]
        else:
            names = [Path(cmd[cmd.index("--out") + 1]).stem]
        for i, name in enumerate(names):
            card = {"test_accuracy": 0.9 + i / 100, "val_accuracy": 0.8, "best_epoch": 3 + i}
            if name != "relu":
                card.update(title=f"t {name}", offmnist={"typed": 0.61, "hand": 0.55 if name == "pre-whiten" else None})
            save_model(MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)}, card=card),
                       folder / f"{name}.npz")
        return type("Done", (), {"returncode": int(any(n in fail for n in names))})()
    return run


def test_train_all_runs_each_model_once_and_the_family_in_one_run(tmp_path, monkeypatch, capsys):
    repo = tmp_path / "repo"
    models = repo / "models"
    models.mkdir(parents=True)
    monkeypatch.setattr(command, "MODELS_DIR", models)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    calls = []
    monkeypatch.setattr(command.subprocess, "run", fake_children(calls, models))
    ticks = iter([100.0, 112.4, 200.0, 230.0, 231.0])
    monkeypatch.setattr(command.time, "perf_counter", lambda: next(ticks))
    command.run_all(parsers()["train-all"].parse_args(["--only", "pre-unit", "relu", "pre-whiten", "--jobs", "3",
                                                       "--out-dir", str(models), "--data-dir", "data"]))
    assert len(calls) == 2
    (family, kw1), (relu, kw2) = calls
    assert family == [sys.executable, "-m", "engine", "train-family", "--kinds", "unit", "whiten", "--jobs", "3",
                      "--out-dir", str(models.resolve()), "--data-dir", str(Path("data").resolve())]
    assert relu == [sys.executable, "-m", "engine", "train", *shlex.split(command.SHIPPED["relu"][1]), "--out",
                    "models/relu.npz", "--title", command.SHIPPED["relu"][0], "--data-dir", str(Path("data").resolve())]
    for kw in (kw1, kw2):
        assert kw["cwd"] == repo and kw["env"]["OPENBLAS_NUM_THREADS"] == "1"
        assert {k: v for k, v in kw["env"].items() if k != "OPENBLAS_NUM_THREADS"} == {
            k: v for k, v in __import__("os").environ.items()}
    out = capsys.readouterr().out
    assert out.startswith(f"== pre-unit, pre-whiten: {shlex.join(family[1:])}\n== relu: {shlex.join(relu[1:])}\n")
    assert ("\n| model | test accuracy | validation accuracy | best epoch | seconds | typed digits | handwriting-like | what |\n"
            "|---|---|---|---|---|---|---|---|\n") in out
    assert out.endswith(f"| pre-unit | 0.9000 | 0.8000 | 3 | 12 | 0.6100 | - | t pre-unit |\n"
                        f"| pre-whiten | 0.9100 | 0.8000 | 4 | 100 | 0.6100 | 0.5500 | t pre-whiten |\n"
                        f"| relu | 0.9000 | 0.8000 | 3 | 1 | - | - | {command.SHIPPED['relu'][0]} |\n")


def test_train_all_writes_outside_the_repo_by_full_path_and_keeps_a_thread_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path / "repo" / "models")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    calls = []
    monkeypatch.setattr(command.subprocess, "run", fake_children(calls, tmp_path / "elsewhere"))
    (tmp_path / "elsewhere").mkdir()
    command.run_all(parsers()["train-all"].parse_args(["--only", "default", "--out-dir", str(tmp_path / "elsewhere")]))
    [(cmd, kw)] = calls
    assert cmd[cmd.index("--out") + 1] == str(tmp_path / "elsewhere" / "default.npz") and "--data-dir" not in cmd
    assert kw["env"]["OPENBLAS_NUM_THREADS"] == "2"
    assert "| default | 0.9000 |" in capsys.readouterr().out


def test_train_all_stops_at_a_failed_run_naming_the_command_to_rerun(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    calls = []
    monkeypatch.setattr(command.subprocess, "run", fake_children(calls, tmp_path, fail={"relu"}))
    with pytest.raises(EngineError, match=r"^Training relu failed \(see the error above\); fix it and rerun "
                                          r"`python -m engine train-all --only relu`.$"):
        command.run_all(parsers()["train-all"].parse_args(["--only", "relu", "default", "--out-dir", str(tmp_path)]))
    assert len(calls) == 1


def test_train_all_without_only_runs_every_shipped_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    calls = []
    monkeypatch.setattr(command.subprocess, "run", fake_children(calls, tmp_path))
    command.run_all(parsers()["train-all"].parse_args(["--out-dir", str(tmp_path)]))
    assert len(calls) == 3  # default, the pre-* family in one run, relu
    rows = [line.split(" | ")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1:] == [f"| {n}" for n in command.SHIPPED]


def test_a_config_replaced_field_by_field_changes_its_command():
    base = TrainConfig()
    line = command.command_of(base, "m.npz")
    for field, value in [("lr", 0.5), ("epochs", 3), ("seed", 4), ("patience", 2), ("val_size", 10), ("eps", 2.0),
                         ("weight_decay", 0.25), ("batch_size", 50), ("schedule", "step"), ("optimizer", "sgd")]:
        other = command.command_of(replace(base, **{field: value}), "m.npz")
        assert other != line and command.config_from(parse(*shlex.split(other)[4:])) == replace(base, **{field: value})


# --- train-job: the dashboard's trainer, called in this process --------------------------------------------------

@pytest.fixture
def raw_data(tmp_path):
    """A synthetic MNIST folder of raw IDX files: 300 training images, 40 test images, and their arrays."""
    from tests.synth import write_mnist
    return write_mnist(tmp_path / "raw", n_train=300, n_test=40, gz=False, seed=6)


@pytest.fixture
def quiet_stdin(monkeypatch):
    """A stdin that sends nothing until the test ends (as a parent that never says stop)."""
    import threading
    release = threading.Event()

    class Lines:
        def __iter__(self):  # each job's watcher reads its own (empty, blocking) stream
            release.wait()
            return iter(())
    monkeypatch.setattr(sys, "stdin", Lines())
    yield
    release.set()


def job(tmp_path, spec, name="spec.json"):
    import argparse
    path = tmp_path / name
    path.write_text(json.dumps(spec), encoding="utf-8")
    return argparse.Namespace(spec=str(path), nice=0)


def events(text):
    return [json.loads(line) for line in text.splitlines()]


def test_watch_stdin_stops_at_a_stop_line_or_at_the_end(monkeypatch):
    import threading

    from engine.cli.train_job import watch_stdin
    read = []

    def lines(items):
        for item in items:
            read.append(item)
            yield item
    for items, n_read in ((["go\n", " stop \n", "never read\n"], 2), (["go\n", "on\n"], 2)):
        read.clear()
        stop = threading.Event()
        monkeypatch.setattr(sys, "stdin", lines(items))
        watch_stdin(stop)
        assert stop.is_set() and len(read) == n_read


def test_config_of_a_spec_reads_trainconfig_fields_only():
    from engine.cli.train_job import config_of
    assert config_of({}) == TrainConfig() and config_of({"config": None}) == TrainConfig()
    assert config_of({"config": {"hidden": [4, 3], "lr": 0.5}}) == TrainConfig(hidden=(4, 3), lr=0.5)
    with pytest.raises(EngineError, match=r"^The training spec has unknown settings \['color', 'size'\]: use the fields"):
        config_of({"config": {"size": 1, "lr": 0.1, "color": 2}})


def test_emit_writes_one_json_line(capsys):
    from engine.cli.train_job import emit
    emit("info", name="unit", info={"epoch": 1})
    assert capsys.readouterr().out == '{"event": "info", "name": "unit", "info": {"epoch": 1}}\n'


def test_a_job_trains_on_the_first_n_images_and_reports_each_step(raw_data, tmp_path, capsys, quiet_stdin):
    from engine.cli import train_job
    from engine.train import train
    folder, arrays = raw_data
    config = {"hidden": [8], "epochs": 2, "val_size": 50, "batch_size": 50}
    spec = {"names": ["solo"], "n_train": 250, "data_dir": str(folder), "out_dir": str(tmp_path / "out"), "config": config,
            "every": 2}
    assert train_job.run(job(tmp_path, spec)) == 0
    got = events(capsys.readouterr().out)
    assert got[-2:] == [{"event": "model", "name": "solo", "path": str(tmp_path / "out" / "solo.npz")},
                        {"event": "done", "stopped": False}]
    info = [e["info"] for e in got if e["event"] == "info"]
    assert all(e["name"] == "solo" for e in got if e["event"] == "info")
    assert [(i["phase"], i["epoch"], i["step"]) for i in info] == [("step", 1, 2), ("step", 1, 4), ("epoch", 1, 4),
                                                                   ("step", 2, 6), ("step", 2, 8), ("epoch", 2, 8)]
    m = load_model(tmp_path / "out" / "solo.npz")
    x, t = arrays["train"]
    ref = train(x[:250].reshape(250, 784), t[:250], config=TrainConfig(hidden=(8,), epochs=2, val_size=50, batch_size=50))
    for k in ref.params:  # the first 250 training images, nothing else
        np.testing.assert_array_equal(m.params[k], ref.params[k])
    x_test, t_test = arrays["test"]
    assert m.card["test_accuracy"] == ref.score(x_test.reshape(40, 784), t_test)


def test_a_comparison_job_trains_each_choice_and_a_seeded_one_each_seed(raw_data, tmp_path, capsys, quiet_stdin):
    from engine.cli import train_job
    folder, _ = raw_data
    base = {"n_train": 200, "data_dir": str(folder), "config": {"hidden": [4], "epochs": 1, "val_size": 40, "batch_size": 40}}
    assert train_job.run(job(tmp_path, {**base, "names": ["unit", "center"], "comparison": True,
                                        "out_dir": str(tmp_path / "a")})) == 0
    got = events(capsys.readouterr().out)
    assert [e["name"] for e in got if e["event"] == "model"] == ["unit", "center"]
    phases = sorted((e["name"], e["info"]["phase"]) for e in got if e["event"] == "info")
    assert phases == [("center", "epoch"), ("unit", "epoch")]  # no "every": a report per epoch only
    assert load_model(tmp_path / "a" / "center.npz").preprocess.kind == "center"
    assert train_job.run(job(tmp_path, {**base, "names": ["unit", "raw"], "comparison": True, "every": 2,
                                        "out_dir": str(tmp_path / "e")})) == 0
    phases = sorted((e["name"], e["info"]["phase"], e["info"]["step"]) for e in events(capsys.readouterr().out)
                    if e["event"] == "info")
    assert phases == [(k, p, s) for k in ("raw", "unit") for p, s in (("epoch", 4), ("step", 2), ("step", 4))]
    assert train_job.run(job(tmp_path, {**base, "names": ["unit"], "comparison": True, "seeds": [3, "5"], "every": 2,
                                        "out_dir": str(tmp_path / "b")})) == 0
    got = events(capsys.readouterr().out)
    assert [e["name"] for e in got if e["event"] == "model"] == ["unit@3", "unit@5"]
    phases = sorted((e["name"], e["info"]["phase"], e["info"]["step"]) for e in got if e["event"] == "info")
    assert phases == [(k, p, s) for k in ("unit@3", "unit@5") for p, s in (("epoch", 4), ("step", 2), ("step", 4))]
    assert load_model(tmp_path / "b" / "unit@5.npz").card["training"]["seed"] == 5
    assert train_job.run(job(tmp_path, {**base, "names": ["unit", "raw"], "out_dir": str(tmp_path / "c")})) == 0
    got = events(capsys.readouterr().out)
    assert [e["name"] for e in got if e["event"] == "model"] == ["unit"]  # no comparison: the first name, one run
    assert load_model(tmp_path / "c" / "unit.npz").preprocess.kind == "unit"  # the config's choice, not the name's


def test_a_stop_line_ends_the_run_after_the_current_step_and_keeps_the_model(raw_data, tmp_path, monkeypatch):
    import io
    import threading

    from engine.cli import train_job
    stopped, go = threading.Event(), threading.Event()

    class Event(threading.Event):
        def set(self):
            super().set()
            stopped.set()

    class Out(io.StringIO):
        def write(self, text):
            if '"event": "info"' in text and not go.is_set():
                go.set()  # the parent reads the first report and answers "stop"
                stopped.wait(30)
            return super().write(text)

    def lines():
        go.wait(30)
        yield "stop\n"
    out = Out()
    made = []
    plain = threading.Event
    monkeypatch.setattr(train_job.threading, "Event", lambda: made.append(1) or (Event() if len(made) == 1 else plain()))
    monkeypatch.setattr(sys, "stdin", lines())
    monkeypatch.setattr(sys, "stdout", out)
    spec = {"names": ["solo"], "n_train": 250, "data_dir": str(raw_data[0]), "out_dir": str(tmp_path / "out"),
            "config": {"hidden": [8], "epochs": 3, "val_size": 50, "batch_size": 10}, "every": 1}
    assert train_job.run(job(tmp_path, spec)) == 0
    got = events(out.getvalue())
    assert [e["event"] for e in got] == ["info", "model", "done"] and got[-1] == {"event": "done", "stopped": True}
    assert load_model(tmp_path / "out" / "solo.npz").card["stopped"].startswith("stopped by the callback")


@pytest.mark.parametrize(("spec", "words"), [
    (None, "is unusable (FileNotFoundError: "),
    ("{not json", "is unusable (JSONDecodeError: "),
    ({"n_train": 10, "out_dir": "o"}, "is unusable (KeyError: 'names')"),
    ({"names": ["a"], "n_train": "many", "out_dir": "o"}, "is unusable (ValueError: "),
    ({"names": ["a"], "n_train": 10, "out_dir": "o", "seeds": 3}, "is unusable (TypeError: "),
    ({"names": ["a"], "n_train": 10, "out_dir": "o", "config": {"colour": 1}}, "The training spec has unknown settings"),
])
def test_an_unusable_spec_is_one_error_event(tmp_path, capsys, quiet_stdin, spec, words):
    import argparse

    from engine.cli import train_job
    path = tmp_path / "spec.json"
    if spec is not None:
        path.write_text(spec if isinstance(spec, str) else json.dumps(spec), encoding="utf-8")
    assert train_job.run(argparse.Namespace(spec=str(path), nice=0)) == 1
    [event] = events(capsys.readouterr().out)
    assert event["event"] == "error" and words in event["message"]
    if "unusable" in words:
        assert event["message"].startswith(f"The training spec {path} is unusable (")


def test_a_job_whose_data_is_missing_says_so_in_one_error_event(tmp_path, capsys, quiet_stdin, monkeypatch):
    from engine.cli import train_job
    niced = []
    monkeypatch.setattr(train_job.os, "nice", niced.append)
    args = job(tmp_path, {"names": ["a"], "n_train": 10, "out_dir": str(tmp_path), "data_dir": str(tmp_path / "none")})
    args.nice = 5
    assert train_job.run(args) == 1
    [event] = events(capsys.readouterr().out)
    assert event["event"] == "error" and str(tmp_path / "none") in event["message"]
    assert niced == [5]  # its priority lowered first, by the amount asked


# --- train-family, called in this process ----------------------------------------------------------------------

def family_parse(*argv):
    from engine.cli import train_family
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    train_family.add_parser(sub)
    return sub.choices["train-family"].parse_args(list(argv))


def test_train_family_defaults_are_the_plans():
    from engine.cli import train_family
    from engine.family import Plan
    from engine.preprocess import KINDS
    a, plan = family_parse(), Plan()
    assert (a.kinds, a.rates, a.eps, a.extend, a.seeds) == (list(KINDS), list(plan.rates), list(plan.eps), plan.extend, 5)
    assert (a.epochs, a.val_size, a.jobs, a.cache_dir, a.out_dir, a.data_dir) == (None, None, 1, None, str(ROOT / "models"), None)
    assert a.run is train_family.run


def test_the_base_config_is_the_shared_pre_budget_and_a_trial_may_shorten_it():
    from engine.cli.train_family import base_config
    shared = TrainConfig(epochs=15, optimizer="adam", lr=0.002, schedule="cosine", seed=0, preprocess="unit")
    assert base_config() == shared
    assert base_config(epochs=2, val_size=70) == replace(shared, epochs=2, val_size=70)
    assert base_config(epochs=3) == replace(shared, epochs=3)


def test_a_run_is_cached_by_its_config_and_a_diverged_one_is_none(raw_data, tmp_path, monkeypatch):
    import engine.train
    from engine.cli import train_family
    from engine.errors import TrainingError
    monkeypatch.setattr(train_family, "_DATA", {})
    train_family._load(str(raw_data[0]), str(tmp_path / "cache"))
    x, t = raw_data[1]["train"]
    np.testing.assert_array_equal(train_family._DATA["train"][0], x.reshape(300, 784))  # raw pixels, flat
    c = TrainConfig(hidden=(4,), epochs=1, val_size=50)
    (tmp_path / "cache").mkdir()
    first = train_family._train(c)
    [cached] = list((tmp_path / "cache").glob("*.npz"))
    assert len(cached.stem) == 20
    monkeypatch.setattr(engine.train, "train", lambda *a, **k: pytest.fail("a cached run is not trained again"))
    again = train_family._train(c)
    np.testing.assert_array_equal(again.params["W1"], first.params["W1"])

    def diverge(*a, **k):
        raise TrainingError("the loss became NaN")
    monkeypatch.setattr(engine.train, "train", diverge)
    assert train_family._train(replace(c, seed=1)) is None
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    train_family._load(str(raw_data[0]))
    assert train_family._DATA["cache"] is None
    assert train_family._train(replace(c, seed=2)) is None


def test_the_trainer_logs_each_run(monkeypatch):
    from engine.cli import train_family
    loads, lines = [], []
    monkeypatch.setattr(train_family, "_DATA", {})
    monkeypatch.setattr(train_family, "_load", lambda d, c=None: (loads.append((d, c)), train_family._DATA.update(train=1)))

    def fake(config):
        if config.lr > 1:
            return None
        return MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)},
                   card={"val_accuracy": 0.91234, "best_epoch": 4})
    monkeypatch.setattr(train_family, "_train", fake)
    train_many = train_family.trainer("d", jobs=1, log=lines.append, cache_dir="c")
    configs = [TrainConfig(lr=0.004, seed=2), TrainConfig(preprocess="whiten", eps=0.5, lr=0.01), TrainConfig(lr=5)]
    models = train_many(configs)
    assert [m is None for m in models] == [False, False, True] and loads == [("d", "c")]
    train_many(configs[:1])
    assert loads == [("d", "c")]  # the data is loaded once
    pattern = r"run {}: {}: {}, \d+ s since the start\n"
    for line, (n, what, result) in zip(lines, [
            (1, "unit lr 0.004 seed 2", "validation 0.9123, best epoch 4"),
            (2, "whiten lr 0.01 eps 0.5 seed 0", "validation 0.9123, best epoch 4"),
            (3, "unit lr 5 seed 0", "diverged"), (4, "unit lr 0.004 seed 2", "validation 0.9123, best epoch 4")], strict=True):
        assert re.fullmatch(pattern.format(n, re.escape(what), re.escape(result)), line), line


def test_the_trainer_can_run_in_a_pool_with_the_same_results(raw_data, monkeypatch):
    from engine.cli import train_family
    monkeypatch.setattr(train_family, "_DATA", {})
    configs = [TrainConfig(hidden=(4,), epochs=1, val_size=50, seed=s) for s in (0, 1)]
    lines = []
    pooled = train_family.trainer(str(raw_data[0]), jobs=2, log=lines.append)(configs)
    assert "train" not in train_family._DATA  # loaded in the workers, not here
    here = train_family.trainer(str(raw_data[0]), jobs=1, log=lines.append)(configs)
    for a, b in zip(pooled, here, strict=True):
        np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert len(lines) == 4


def family_entry(kind, tuned_eps=None):
    rows = lambda accs, to95: [{"test_accuracy": a, "to95": e} for a, e in zip(accs, to95, strict=True)]  # noqa: E731
    return {"tuned": {"lr": 0.004, "eps": tuned_eps}, "sweep": [{}, {}, {}],
            "runs": {"tuned": rows([0.9, 0.92], [3, 5]), "shared": rows([0.8, None], [None, None])}}


def test_the_family_table_gives_mean_sd_and_95_interval_of_each_choice():
    from engine.cli.train_family import table
    t1 = 12.7062047  # Student's t, 97.5 % quantile, 1 degree of freedom
    rows = lambda accs, to95: [{"test_accuracy": a, "to95": e} for a, e in zip(accs, to95, strict=True)]  # noqa: E731
    whiten = {"tuned": {"lr": 0.016, "eps": 0.5}, "sweep": [],
              "runs": {"tuned": rows([0.95, None], [6, None]), "shared": rows([0.5, 0.7], [2, None])}}
    lines = table({"unit": family_entry("unit"), "whiten": whiten}, shared=0.002).splitlines()
    assert lines[:2] == ["| choice | chosen rate | test accuracy % (chosen) | test accuracy % (shared 0.002) | "
                         "epochs to 95 % (chosen) | epochs to 95 % (shared) |", "|---|---|---|---|---|---|"]
    sd = np.std([90.0, 92.0], ddof=1)
    acc = f"91.00 ± {sd:.2f} [{91 - t1 * sd / np.sqrt(2):.2f}, {91 + t1 * sd / np.sqrt(2):.2f}]"
    sd95 = np.std([3.0, 5.0], ddof=1)
    epochs = f"4.0 ± {sd95:.1f} [{4 - t1 * sd95 / np.sqrt(2):.1f}, {4 + t1 * sd95 / np.sqrt(2):.1f}]"
    assert lines[2] == f"| unit | 0.004 | {acc} | 80.00 ± nan [80.00, 80.00] (1 of 2 reached) | {epochs} | not reached |"
    sd = np.std([50.0, 70.0], ddof=1)
    shared = f"60.00 ± {sd:.2f} [{60 - t1 * sd / np.sqrt(2):.2f}, {60 + t1 * sd / np.sqrt(2):.2f}]"
    assert lines[3] == (f"| whiten | 0.016, eps 0.5 | 95.00 ± nan [95.00, 95.00] (1 of 2 reached) | {shared} | "
                        f"6.0 ± nan [6.0, 6.0] (1 of 2 reached) | 2.0 ± nan [2.0, 2.0] (1 of 2 reached) |")
    assert len(lines) == 4


def test_train_family_refuses_an_empty_plan(tmp_path):
    from engine.cli import train_family
    for argv in (["--seeds", "0"], ["--jobs", "0"]):
        with pytest.raises(EngineError, match=r"^train-family needs at least 1 seed, 1 rate and 1 job.$"):
            train_family.run(family_parse(*argv, "--out-dir", str(tmp_path)))
    args = family_parse("--out-dir", str(tmp_path))
    args.rates = []
    with pytest.raises(EngineError, match="at least 1 seed, 1 rate"):
        train_family.run(args)


def test_train_family_writes_each_shipped_choice_with_its_card(synth_mnist, tmp_path, monkeypatch, capsys, fresh_cache):
    import itertools

    from threadpoolctl import threadpool_info, threadpool_limits

    from engine.cli import train_family
    from engine.family import Plan
    seen, given = {}, []
    monkeypatch.setattr(train_family, "build_offmnist", lambda x, t: ("set", len(x), int(t.sum())))
    monkeypatch.setattr(train_family, "offmnist_entry",
                        lambda model, s: (given.append((model, s)), {"accuracy": 0.5, "typed": 0.4, "hand": 0.6})[1])
    monkeypatch.setattr(train_family, "_DATA", {})
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    clock = itertools.count(100, 10)  # the run starts at 100, the trainer at 110, its run ends at 120, the whole at 130
    monkeypatch.setattr(train_family, "time", type("Clock", (), {"perf_counter": staticmethod(lambda: next(clock))}))
    rng = np.random.default_rng(0)

    def fake_build(kinds, *, base, plan, train_many, score):
        seen.update(kinds=kinds, base=base, plan=plan)
        [trained] = train_many([TrainConfig(hidden=(4,), epochs=1, val_size=100)])  # one real run through the trainer
        seen["trained"] = trained
        shipped = {}
        for i, k in enumerate(kinds):
            training = json.loads(json.dumps(replace(base, preprocess=k, lr=0.004 * (i + 1)).__dict__))
            shipped[k] = MLP({"W1": rng.normal(0, 1, (784, 10)).astype(np.float32),  # biases: the scale of the input matters
                              "b1": rng.normal(0, 3, 10).astype(np.float32)},
                             preprocess=Preprocess("unit"), card={"training": training})
        seen["scores"] = [score(m) for m in shipped.values()]
        return shipped, {k: family_entry(k) for k in kinds}
    monkeypatch.setattr(train_family, "build", fake_build)
    monkeypatch.setattr(train_family, "MODELS_DIR", tmp_path / "repo" / "models")
    out_dir = tmp_path / "repo" / "models"
    blas = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    with threadpool_limits(limits=2, user_api="blas"):
        train_family.run(family_parse("--kinds", "unit", "center", "--rates", "0.01", "0.02", "--eps", "1", "--seeds", "1",
                                      "--extend", "1", "--epochs", "1", "--val-size", "100", "--cache-dir",
                                      str(tmp_path / "c" / "runs"), "--out-dir", str(out_dir), "--data-dir",
                                      str(synth_mnist[0])))
        if blas:  # BLAS limited to one thread for this process's batch-100 matmuls, and for the pool's workers
            assert {i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"} == {1}
    assert __import__("os").environ["OPENBLAS_NUM_THREADS"] == "1"
    assert seen["plan"] == Plan(rates=(0.01, 0.02), eps=(1.0,), seeds=(0,), extend=1)
    assert (seen["base"].epochs, seen["base"].val_size, seen["kinds"]) == (1, 100, ["unit", "center"])
    assert len(list((tmp_path / "c" / "runs").glob("*.npz"))) == 1  # the trainer keeps its runs in the cache folder
    assert seen["trained"].card["training"]["hidden"] == [4]
    x_test, t_test = synth_mnist[1]["test"]
    for i, kind in enumerate(["unit", "center"]):
        m = load_model(out_dir / f"pre-{kind}.npz")
        card = m.card
        assert card["name"] == f"pre-{kind}" and card["title"] == command.SHIPPED[f"pre-{kind}"][0]
        assert json.loads((out_dir / f"pre-{kind}.json").read_text(encoding="utf-8"))["name"] == f"pre-{kind}"
        assert card["test_accuracy"] == m.score(x_test.reshape(len(x_test), -1), t_test) == seen["scores"][i]
        assert card["family"] == json.loads(json.dumps(family_entry(kind)))
        assert card["command"].startswith(f"python -m engine train --hidden 50 100 --activation sigmoid --optimizer adam "
                                          f"--lr {0.004 * (i + 1):g} ")
        assert card["command"].endswith(f"--preprocess {kind} --eps 0.1 --patience 0 --val-size 100 --seed 0 "
                                        f"--out models/pre-{kind}.npz")
        assert card["offmnist_accuracy"] == 0.5 and card["offmnist"]["typed"] == 0.4
        np.testing.assert_array_equal(given[i][0].params["W1"], m.params["W1"])
        assert given[i][1] == ("set", len(x_test), int(t_test.sum()))  # drawn from the test set
    captured = capsys.readouterr()
    assert captured.out == (train_family.table({k: family_entry(k) for k in ("unit", "center")}, shared=0.002) +
                            "\n\n6 sweep runs and 2 seeded runs per choice (shared with the sweep where equal), 30 s\n")
    assert re.fullmatch(r"run 1: unit lr 0\.001 seed 0: validation \d\.\d{4}, best epoch 1, 10 s since the start\n",
                        captured.err)


def test_train_family_outside_the_repo_names_the_full_path(synth_mnist, tmp_path, monkeypatch, capsys):
    from engine.cli import train_family
    monkeypatch.setattr(train_family, "build_offmnist", lambda x, t: None)
    monkeypatch.setattr(train_family, "offmnist_entry", lambda model, s: {"accuracy": None})
    monkeypatch.setattr(train_family, "MODELS_DIR", tmp_path / "repo" / "models")

    def fake_build(kinds, *, base, plan, train_many, score):
        card = {"training": json.loads(json.dumps(base.__dict__))}
        return ({"unit": MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)}, card=card)},
                {"unit": family_entry("unit")})
    monkeypatch.setattr(train_family, "build", fake_build)
    train_family.run(family_parse("--kinds", "unit", "--out-dir", str(tmp_path / "else"), "--data-dir", str(synth_mnist[0]),
                                  "--cache-dir", str(tmp_path)))  # a cache folder that is already there
    card = load_model(tmp_path / "else" / "pre-unit.npz").card
    assert card["command"].endswith(f"--out {tmp_path / 'else' / 'pre-unit.npz'}")


def test_train_family_never_downloads_what_is_missing(fresh_cache, monkeypatch, tmp_path):
    from engine.cli import train_family
    from engine.errors import MnistNotFoundError
    from tests.httpserver import closed_port_url
    monkeypatch.setenv("MNIST_MIRRORS", closed_port_url())
    with pytest.raises(MnistNotFoundError, match="python -m engine download"):
        train_family.run(family_parse("--out-dir", str(tmp_path)))
    with pytest.raises(MnistNotFoundError, match="python -m engine download"):
        train_family._load(None)
    assert not any(fresh_cache.rglob("*.gz"))


def test_the_options_of_train_job_and_train_family_parse_to_their_types():
    from engine.cli import train_job
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    train_job.add_parser(sub)
    a = sub.choices["train-job"].parse_args(["s.json"])
    assert (a.spec, a.nice, a.run) == ("s.json", 0, train_job.run)
    assert sub.choices["train-job"].parse_args(["s.json", "--nice", "4"]).nice == 4
    f = family_parse("--kinds", "raw", "whiten", "--rates", "0.5", "--eps", "2", "--extend", "0", "--seeds", "3", "--epochs",
                     "2", "--val-size", "60", "--jobs", "2", "--cache-dir", "c", "--out-dir", "o", "--data-dir", "d")
    assert (f.kinds, f.rates, f.eps, f.extend, f.seeds, f.epochs, f.val_size, f.jobs, f.cache_dir, f.out_dir, f.data_dir) == (
        ["raw", "whiten"], [0.5], [2.0], 0, 3, 2, 60, 2, "c", "o", "d")
    with pytest.raises(SystemExit):
        family_parse("--kinds", "pca")


def test_train_all_flushes_each_header_before_its_child_writes_below_it(tmp_path, monkeypatch):
    """The child writes to the same terminal: its header must be out first, not held in this process's buffer."""
    events = []

    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    child = fake_children([], tmp_path)
    monkeypatch.setattr(command.subprocess, "run", lambda cmd, **kw: (events.append(("child",)), child(cmd, **kw))[1])
    monkeypatch.setattr(sys, "stdout", WriteRecorder(events))
    command.run_all(parsers()["train-all"].parse_args(["--only", "relu", "--out-dir", str(tmp_path)]))
    kinds = [e[0] for e in events]
    assert events[0][1].startswith("== relu: ")
    assert "flush" in kinds[:kinds.index("child")]
