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
from tests.conftest import ROOT
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
