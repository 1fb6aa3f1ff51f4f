"""engine.offmnist: digits unlike MNIST's, typed from this machine's fonts and handwriting-like, the same for one seed,
made into 28x28 like a drawing, and never seen by training."""
import json

import numpy as np
import pytest

from engine import offmnist, restyle, strokes, typed
from engine.pen import width_of
from tests import apptest_helpers
from tests.apptest_helpers import run_page
from tests.conftest import ROOT
from tests.synth import synthetic_digits
from tests.test_imports import import_graph

app_env = apptest_helpers.app_env
MIN_FACES = 4  # Noto CJK alone (what CI installs) gives 6 distinct faces; a desktop with DejaVu and Liberation about 44


@pytest.fixture(scope="module")
def test_digits():
    x, t = synthetic_digits(300, seed=8)
    return x.reshape(300, 784), t


@pytest.fixture(scope="module")
def small_set(test_digits):
    return offmnist.build(*test_digits, n_restyled=60, n_drawn=12, variants=1)


def com(d):
    d = d.reshape(28, 28).astype(np.float64)
    return d.sum(1) @ np.arange(28) / d.sum(), d.sum(0) @ np.arange(28) / d.sum()


def test_the_machine_has_enough_distinct_font_faces():
    faces = typed.faces()
    assert len(faces) >= MIN_FACES, [name for name, *_ in faces]
    assert len({name for name, *_ in faces}) == len(faces) or len(faces) >= MIN_FACES
    assert not any("Emoji" in name for name, *_ in faces)  # a colour-bitmap face cannot type a digit at our sizes


def test_the_set_is_the_same_for_a_seed_and_differs_for_another(test_digits, small_set):
    again = offmnist.build(*test_digits, n_restyled=60, n_drawn=12, variants=1)
    assert again.x.tobytes() == small_set.x.tobytes() and np.array_equal(again.t, small_set.t) and again.what == small_set.what
    other = offmnist.build(*test_digits, n_restyled=60, n_drawn=12, variants=1, seed=1)
    assert other.x.shape == small_set.x.shape and not np.array_equal(other.x, small_set.x)


def test_its_parts_and_labels(small_set):
    s = small_set
    n_typed = 10 * s.n_faces
    assert s.x.dtype == np.uint8 and s.x.shape == (n_typed + 60 + 12, 784) and s.n_faces >= MIN_FACES
    assert list(s.part).count("typed") == n_typed and list(s.part).count("hand") == 72
    assert np.bincount(s.t[s.part == "typed"], minlength=10).tolist() == [s.n_faces] * 10  # every face types 0-9
    drawn = [w for w in s.what if w.startswith("drawn: ")]
    assert {w for w in drawn} == {f"drawn: {f}" for f in strokes.FORMS} and len(drawn) == 12
    assert all(w.startswith("MNIST test #") for w, p in zip(s.what, s.part, strict=True) if p == "hand" and not w.startswith("drawn"))
    for name, (digit, _) in strokes.FORMS.items():
        assert set(s.t[np.array(s.what) == f"drawn: {name}"]) == {digit}


def test_every_image_is_made_like_mnists(small_set):
    for img in small_set.x:
        assert img.max() == 255 and np.allclose(com(img), (14, 14), atol=1.0)  # strongest ink 255, centred by mass
        rows, cols = np.flatnonzero(img.reshape(28, 28).max(1) > 64), np.flatnonzero(img.reshape(28, 28).max(0) > 64)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21  # fitted into MNIST's 20 px box
    typed_widths = [width_of(img.reshape(28, 28) / 255) for img in small_set.x[small_set.part == "typed"]]
    assert np.percentile(typed_widths, 90) < 16 and np.percentile(typed_widths, 10) > 6  # pens evened towards MNIST's


def test_restyling_changes_what_it_says(test_digits):
    x, t = test_digits
    one = x[np.flatnonzero(t == 1)[0]]
    plain = restyle.upscale(one)
    flagged = restyle.flag_and_base(plain, np.random.default_rng(0))
    assert flagged.sum() > plain.sum() and np.all(flagged >= plain)  # strokes added, nothing taken away
    thick, thin = restyle.repen(plain, 4), restyle.repen(plain, -2)
    assert width_of(thick) > width_of(plain) > width_of(thin)
    leaned = restyle.slant(plain, 0.4)
    (top_x, _), (bottom_x, _), _ = restyle.ends(leaned)
    (top0, _), (bottom0, _), height = restyle.ends(plain)
    assert (top_x - bottom_x) - (top0 - bottom0) == pytest.approx(0.4 * height, abs=4)  # the top moved right of the foot
    ink, done = restyle.restyle(one, 1, rng=np.random.default_rng(3))
    assert ink.shape == (112, 112) and "flag" in done and "slant" in done


def test_score_counts_each_part(small_set):
    class Oracle:  # answers right on the typed digits and always 0 on the handwriting-like ones
        def predict(self, x):
            return np.where(small_set.part == "typed", small_set.t, 0)

    r = offmnist.score(Oracle(), small_set)
    hand = small_set.part == "hand"
    assert r["typed"] == 1.0 and r["hand"] == pytest.approx(np.mean(small_set.t[hand] == 0))
    assert r["n"] == len(small_set.t) and r["n_typed"] + r["n_hand"] == r["n"]
    entry = offmnist.card_entry(Oracle(), small_set)
    assert entry["faces"] == small_set.n_faces and f"{r['n_typed']:,} typed in {small_set.n_faces} font faces" in entry["description"]


def test_training_never_sees_the_set():
    graph = import_graph()
    reach, todo = set(), ["engine.train", "engine.trainproc", "engine.cli.train_job", "engine.compare"]
    while todo:
        m = todo.pop()
        if m not in reach:
            reach.add(m)
            todo += graph.get(m, [])
    assert not reach & {"engine.offmnist", "engine.typed", "engine.restyle", "engine.strokes"}


def test_the_evaluation_page_reports_it_beside_the_mnist_accuracy(app_env):
    import os
    from pathlib import Path

    from engine.modelfile import load_model
    at = run_page("evaluate", query={"model": "default"})
    shown = next(m for m in at.metric if m.label == "On digits unlike MNIST's")
    x, t = app_env["test"]
    s = offmnist.build(x.reshape(len(x), -1), t)  # the set of this dataset's test images, as the page builds it
    got = offmnist.score(load_model(Path(os.environ["MNIST_EXPLORER_MODELS"]) / "default.npz"), s)
    assert shown.value == f"{got['accuracy']:.4f}"
    assert f"typed {got['typed']:.4f}, handwriting-like {got['hand']:.4f}" in shown.help
    assert f"{got['n']:,} digits unlike MNIST's" in shown.help and "no model is trained on them" in shown.help
    labels = [m.label for m in at.metric]
    assert labels.index("On digits unlike MNIST's") == labels.index("Accuracy") + 3  # in the row, after the mean loss


@pytest.mark.mnist
def test_the_shipped_cards_report_the_set(mnist_dir):
    from engine.cli.train import SHIPPED
    from engine.data import load_mnist
    from engine.modelfile import load_model
    _, (x, t) = load_mnist(normalize=False, data_dir=mnist_dir, download=False)
    s = offmnist.build(x, t)
    for name in SHIPPED:
        card = json.loads((ROOT / "models" / f"{name}.json").read_text())
        entry = card["offmnist"]
        assert card["offmnist_accuracy"] == entry["accuracy"] and "never trained on" in entry["description"]
        got = offmnist.score(load_model(ROOT / "models" / f"{name}.npz"), s)
        assert got["hand"] == pytest.approx(entry["hand"], abs=1e-9)  # MNIST's test images and the seed: the same anywhere
        if entry["faces"] == s.n_faces:  # the fonts of the machine that made the card
            assert got["typed"] == pytest.approx(entry["typed"], abs=1e-9)


# Fast checks of build, score and the description on a one-font set (Pillow's built-in font, written to a file)

@pytest.fixture(scope="module")
def one_face(tmp_path_factory):
    from PIL import ImageFont
    path = tmp_path_factory.mktemp("fonts") / "Aileron.ttf"
    path.write_bytes(ImageFont.load_default(48).path.getvalue())
    return [("Aileron Regular", str(path), 0)]


@pytest.fixture(scope="module")
def few_digits():
    """Test digits with 5 of each label but 3 of label 2, 1 of label 5 and none of label 8."""
    x, _ = synthetic_digits(41, seed=3)
    t = np.array([d for d in range(10) for _ in range({2: 3, 5: 1, 8: 0}.get(d, 5))])
    return x[:len(t)].reshape(len(t), 28, 28), t  # (n, 28, 28): build takes the images in any shape


def test_build_takes_up_to_a_tenth_of_n_restyled_of_each_label_and_types_each_face(one_face, few_digits):
    x, t = few_digits
    s = offmnist.build(x, t, n_restyled=40, n_drawn=6, variants=2, face_list=one_face, seed=5)
    assert s.seed == 5 and s.n_faces == 1 and s.x.dtype == np.uint8 and s.t.dtype == np.int64
    parts = list(s.part)
    assert parts == ["typed"] * 20 + ["hand"] * (len(parts) - 20)  # typed first, then the hand-like ones
    assert s.t[:20].tolist() == [d for d in range(10) for _ in range(2)] and set(s.what[:20]) == {"typed: Aileron Regular"}
    restyled = [(i, w) for i, w in enumerate(s.what) if w.startswith("MNIST test #")]
    picked = [int(w.removeprefix("MNIST test #").split(":")[0]) for _, w in restyled]
    per_label = {d: [p for p in picked if t[p] == d] for d in range(10)}
    assert {d: len(p) for d, p in per_label.items()} == {d: min(4, int((t == d).sum())) for d in range(10)}
    assert all(p == sorted(set(p)) for p in per_label.values())  # distinct images, in file order within a label
    assert [s.t[i] for i, _ in restyled] == [t[p] for p in picked] == sorted(t[p] for p in picked)  # labels by label
    assert [i for i, _ in restyled] == list(range(20, 20 + len(picked)))
    assert s.what[20 + len(picked):] == tuple(f"drawn: {f}" for f in list(strokes.FORMS) + list(strokes.FORMS)[:2])
    assert s.t[20 + len(picked):].tolist() == [4, 1, 7, 9, 4, 1] and len(s.t) == len(s.x) == len(s.what) == len(s.part)


def test_the_set_is_drawn_from_four_streams_of_its_seed(one_face, few_digits):
    """Typed digits, the test images picked, their restyling and the drawn forms each come from their own stream of the seed."""
    from engine.picture import digit_of_ink
    x, t = few_digits
    x = x.reshape(len(x), -1)
    s = offmnist.build(x, t, n_restyled=20, n_drawn=3, variants=1, face_list=one_face, seed=4)
    stream = lambda k: np.random.default_rng([4, 16, k])  # noqa: E731
    inks = typed.typed_digits(rng=stream(0), variants=1, face_list=one_face)[0]
    pick, style = stream(1), stream(2)
    what = []
    for d in range(10):
        pool = np.flatnonzero(t == d)
        for i in np.sort(pick.choice(pool, size=min(len(pool), 2), replace=False)):
            ink, done = restyle.restyle(x[i], d, rng=style)
            inks.append(ink)
            what.append(f"MNIST test #{i}: {done}")
    inks += strokes.drawn_digits(3, rng=stream(3))[0]
    assert s.what[10:-3] == tuple(what)
    np.testing.assert_array_equal(s.x, np.stack([digit_of_ink(ink) for ink in inks]))


def test_an_empty_set_scores_none():
    x, t = synthetic_digits(20, seed=1)
    s = offmnist.build(x.reshape(20, 784), t, n_restyled=9, n_drawn=0, face_list=[])  # 9 // 10: no test image of a label
    assert s.x.shape == (0, 784) and s.x.dtype == np.uint8 and len(s.t) == 0 and s.n_faces == 0

    class Never:
        def predict(self, x):
            raise AssertionError("nothing to predict")

    assert offmnist.score(Never(), s) == {"accuracy": None, "typed": None, "hand": None, "n": 0, "n_typed": 0, "n_hand": 0}


def test_score_is_the_share_right_overall_and_per_part():
    part = np.array(["typed"] * 4 + ["hand"] * 6)
    t = np.arange(10) % 10
    s = offmnist.OffMnist(x=np.zeros((10, 784), np.uint8), t=t, part=part, what=("",) * 10, n_faces=2, seed=0)

    class Fixed:
        def predict(self, x):
            assert x is s.x
            return np.array([0, 1, 0, 0, 4, 5, 6, 0, 0, 0])  # 2 of 4 typed right, 3 of 6 hand

    assert offmnist.score(Fixed(), s) == {"accuracy": 0.5, "typed": 0.5, "hand": 0.5, "n": 10, "n_typed": 4, "n_hand": 6}
    only_hand = offmnist.OffMnist(x=s.x, t=t, part=np.array(["hand"] * 10), what=s.what, n_faces=0, seed=0)
    got = offmnist.score(Fixed(), only_hand)
    assert got["typed"] is None and got["hand"] == got["accuracy"] == 0.5 and got["n_typed"] == 0


def test_the_description_counts_the_set_and_names_its_seed_and_sizes():
    part = np.array(["typed"] * 1234 + ["hand"] * 2001)
    s = offmnist.OffMnist(x=np.zeros((3235, 784), np.uint8), t=np.zeros(3235, np.int64), part=part, what=(), n_faces=7, seed=3)
    text = s.description()
    assert text.startswith("3,235 digits unlike MNIST's (seed 3), never trained on: 1,234 typed in 7 font faces of this machine")
    assert f"(sizes {min(typed.SIZES)}-{max(typed.SIZES)} px, slants up to ±14°, extra weight)" in text
    assert "and 2,001 handwriting-like: MNIST test digits with another pen width and slant" in text
    assert text.endswith("small-loop 9s; all through the picture pipeline.")

    class Right:
        def predict(self, x):
            return s.t

    entry = offmnist.card_entry(Right(), s)
    assert entry == {**offmnist.score(Right(), s), "seed": 3, "faces": 7, "description": text}


def test_build_uses_the_machines_faces_by_default(one_face, few_digits, monkeypatch):
    monkeypatch.setattr(typed, "faces", lambda: one_face)
    x, t = few_digits
    s = offmnist.build(x, t, n_restyled=0, n_drawn=0, variants=1)
    assert s.n_faces == 1 and len(s.t) == 10 and s.seed == offmnist.SEED == 0
