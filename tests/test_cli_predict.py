"""`python -m engine predict`: FILE<TAB>DIGIT<TAB>PROBABILITY per good file, one stderr line per bad one, exit 1 if any failed."""
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from engine.cli.predict import weights_path
from engine.errors import ModelFormatError
from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.picture import digitize_bytes
from engine.preprocess import Preprocess
from tests.conftest import ROOT, WriteRecorder
from tests.photos import encode, render_photo, ring, seven

LINE = re.compile(r"^(?P<file>[^\t]+)\t(?P<digit>\d)\t(?P<p>[01]\.\d{4})$")


def predict(*args):
    return subprocess.run([sys.executable, "-m", "engine", "predict", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Two good pictures (PNG, JPEG), three bad ones (text, blank page, missing) and a random model."""
    d = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(0, 0.1, (784, 16)), "b1": np.zeros(16), "W2": rng.normal(0, 1, (16, 10)), "b2": np.zeros(10)}
    model = MLP({k: v.astype(np.float32) for k, v in params.items()}, preprocess=Preprocess("unit"), card={"name": "random"})
    out = {"model": save_model(model, d / "random.npz"), "png": d / "seven.png", "jpg": d / "zero photo.jpg",
           "text": d / "notes.png", "blank": d / "blank.png", "missing": d / "missing.png"}
    out["png"].write_bytes(encode(seven(), "PNG"))
    out["jpg"].write_bytes(encode(ring().convert("RGB"), "JPEG"))
    out["text"].write_text("this is not a picture\n")
    out["blank"].write_bytes(encode(Image.new("L", (200, 200), 250), "PNG"))
    return out


def test_good_and_bad_files(files):
    r = predict("--weights", files["model"], files["png"], files["text"], files["jpg"], files["blank"], files["missing"])
    assert r.returncode == 1
    rows = [LINE.match(line) for line in r.stdout.splitlines()]
    assert all(rows) and [m["file"] for m in rows] == [str(files["png"]), str(files["jpg"])], r.stdout
    model = load_model(files["model"])
    for m in rows:
        proba = model.predict_proba(digitize_bytes(open(m["file"], "rb").read()).pixels)[0]
        assert int(m["digit"]) == proba.argmax() and float(m["p"]) == pytest.approx(proba.max(), abs=6e-5)
    errors = r.stderr.splitlines()
    assert len(errors) == 3 and all(e.startswith("error: ") for e in errors), r.stderr
    for e, key, words in zip(errors, ("text", "blank", "missing"), ("is not a picture", "shows no ink", "cannot be read"), strict=True):
        assert str(files[key]) in e and words in e, e


def test_all_good_files_exit_zero(files):
    r = predict("--weights", files["model"], files["png"], files["jpg"])
    assert r.returncode == 0 and r.stderr == ""
    assert len(r.stdout.splitlines()) == 2


def test_a_missing_weights_file_is_one_error_line(files, tmp_path):
    r = predict("--weights", tmp_path / "nope.npz", files["png"])
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "nope.npz does not exist" in r.stderr


def test_the_default_model_is_used_when_present_and_named_when_missing(tmp_path):
    with pytest.raises(ModelFormatError, match=r"default model .*absent.npz is missing: .* --weights PATH"):
        weights_path(None, default=tmp_path / "absent.npz")
    (tmp_path / "here.npz").write_bytes(b"")
    assert weights_path(None, default=tmp_path / "here.npz") == tmp_path / "here.npz"
    assert str(weights_path("given.pkl", default=tmp_path / "absent.npz")) == "given.pkl"


@pytest.mark.mnist
def test_photos_of_mnist_digits_are_read(mnist_dir, book_weights, tmp_path):
    from engine.data import load_raw
    raw = load_raw(mnist_dir)
    rng = np.random.default_rng(11)
    names = []
    for i, fmt in zip(range(6), ["PNG", "JPEG"] * 3, strict=True):
        name = tmp_path / f"digit{i}.{fmt.lower()}"
        name.write_bytes(render_photo(raw["test_img"][i], rng=rng, side=400, fmt=fmt))
        names.append(name)
    r = predict("--weights", book_weights, *names)
    assert r.returncode == 0, r.stderr
    digits = [int(LINE.match(line)["digit"]) for line in r.stdout.splitlines()]
    assert np.mean(np.array(digits) == raw["test_label"][:6]) >= 5 / 6, (digits, raw["test_label"][:6])


def test_run_in_process_answers_the_good_files_and_names_each_bad_one(files, capsys, monkeypatch):
    import argparse

    from engine.cli import predict as command
    real = command.digitize_bytes

    def digitize(data, *, name):  # a decoder bug on one file must not stop the others
        if name.endswith("boom.png"):
            raise ValueError("decoder bug")
        return real(data, name=name)
    monkeypatch.setattr(command, "digitize_bytes", digitize)
    boom = files["png"].with_name("boom.png")
    boom.write_bytes(files["png"].read_bytes())
    names = [str(files["png"]), str(boom), str(files["missing"]), str(files["jpg"])]
    assert command.run(argparse.Namespace(weights=str(files["model"]), files=names)) == 1
    out, err = capsys.readouterr()
    model = load_model(files["model"])
    expected = []
    for name in (files["png"], files["jpg"]):
        proba = model.predict_proba(real(name.read_bytes(), name=str(name)).pixels)[0]
        expected.append(f"{name}\t{proba.argmax()}\t{proba.max():.4f}")
    assert out.splitlines() == expected
    assert err.splitlines() == [f"error: {boom} could not be read as a picture (ValueError: decoder bug).",
                                f"error: {files['missing']} cannot be read (No such file or directory): check the path."]
    assert command.run(argparse.Namespace(weights=str(files["model"]), files=[str(files["jpg"])])) == 0
    assert capsys.readouterr().out == expected[1] + "\n"
    assert command.run(argparse.Namespace(weights=str(files["model"]), files=[str(files["jpg"]), str(boom)])) == 1  # alone too


def test_without_weights_the_shipped_default_model_is_used(files, capsys):
    import argparse

    from engine.cli import predict as command
    assert command.DEFAULT_WEIGHTS == ROOT / "models" / "default.npz"
    assert command.run(argparse.Namespace(weights=None, files=[str(files["png"])])) == 0
    proba = load_model(ROOT / "models" / "default.npz").predict_proba(
        digitize_bytes(files["png"].read_bytes(), name=str(files["png"])).pixels)[0]
    assert capsys.readouterr().out == f"{files['png']}\t{proba.argmax()}\t{proba.max():.4f}\n"


def test_one_unreadable_file_among_good_ones_makes_the_exit_code_1(files, capsys):
    import argparse

    from engine.cli import predict as command
    args = argparse.Namespace(weights=str(files["model"]), files=[str(files["png"]), str(files["missing"])])
    assert command.run(args) == 1
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1 and err.startswith(f"error: {files['missing']} cannot be read")


def test_the_usage_names_the_pictures_file():
    import argparse

    from engine.cli import predict as command
    sub = argparse.ArgumentParser(prog="python -m engine").add_subparsers()
    command.add_parser(sub)
    assert sub.choices["predict"].format_usage().rstrip().endswith("[--weights WEIGHTS] FILE [FILE ...]")


def test_each_answer_is_flushed_before_the_next_file_is_read(files, monkeypatch):
    """Piped into another program, answers arrive as each file is read, not all at the end."""
    import argparse

    from engine.cli import predict as command
    events = []
    real = command.read_file
    monkeypatch.setattr(command, "read_file", lambda name: (events.append(("read", name)), real(name))[1])
    monkeypatch.setattr(command.sys, "stdout", WriteRecorder(events))
    assert command.run(argparse.Namespace(weights=str(files["model"]), files=[str(files["png"]), str(files["jpg"])])) == 0
    kinds = [e[0] for e in events]
    assert kinds[0] == "read" and kinds.index("flush") < kinds.index("read", 1) and kinds[-1] == "flush"
