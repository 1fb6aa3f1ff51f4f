"""ui.evaluate.state without a page run: fingerprints, split keys, headline numbers, cell picking, sorting and the CSV exports.

The evaluation comes from engine.evaluation.evaluate on a tiny net and random inputs; every expected number is worked
out here from its raw arrays (proba, t) with plain loops or NumPy.
"""
import io
import re

import numpy as np
import pandas as pd
import pytest

from engine.evaluation import evaluate
from engine.model import MLP
from engine.preprocess import Preprocess
from engine.train import TrainConfig, split
from ui.evaluate import state


def tiny_params(seed=3):
    """A 6-12-10 net whose answers spread over the digits, with confidences from about 0.4 to 1."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0, 1.0, (6, 12)), "b1": np.zeros(12), "W2": rng.normal(0, 3, (12, 10)), "b2": np.zeros(10)}


@pytest.fixture(scope="module")
def ev():
    """An Evaluation of 60 inputs, about 70 % right, every confidence and loss distinct."""
    rng = np.random.default_rng(3)
    model = MLP(tiny_params())
    x = rng.normal(0, 3, (60, 6)).astype(np.float32)
    p = model.predict_proba(x)
    t = np.where(rng.random(60) < 0.6, p.argmax(axis=1), rng.integers(0, 10, 60))  # some right, some wrong
    return evaluate(model, x, t)


def plain(ev):
    """(pred, correct, confidence, loss) from ev.proba and ev.t alone, in float64; the loss is the book's -log(p + 1e-7)."""
    p = np.asarray(ev.proba, np.float64)
    pred = p.argmax(axis=1)
    return pred, pred == ev.t, p.max(axis=1), -np.log(p[np.arange(len(p)), ev.t] + 1e-7)


class Bare:
    """The three things fingerprint reads, on an object that takes a weak reference."""

    def __init__(self, params, activation="sigmoid", preprocess=None):
        self.params, self.activation, self.preprocess = params, activation, preprocess


# --- fingerprint


def test_a_fingerprint_is_20_hex_digits_and_equal_for_equal_models():
    """Two separate models with the same numbers share one fingerprint: the cache is per content, not per object."""
    a, b = MLP(tiny_params()), MLP(tiny_params())
    fa = state.fingerprint(a)
    assert re.fullmatch(r"[0-9a-f]{20}", fa)
    assert state.fingerprint(b) == fa and state.fingerprint(a) == fa


def test_a_fingerprint_changes_with_any_weight_the_activation_or_the_preprocessing():
    """Each thing that decides a model's answers changes the digest."""
    base = state.fingerprint(MLP(tiny_params()))
    for key in ("W1", "b1", "W2", "b2"):
        p = tiny_params()
        p[key] = p[key].copy()
        p[key].flat[-1] += 0.5  # one number, the last one
        assert state.fingerprint(MLP(p)) != base, key
    assert state.fingerprint(MLP(tiny_params(), activation="relu")) != base
    mean = np.arange(6, dtype=np.float32)
    prints = {state.fingerprint(MLP(tiny_params(), preprocess=pre))
              for pre in (Preprocess("raw"), Preprocess("unit"), Preprocess("center", mean=mean),
                          Preprocess("center", mean=mean + 1), Preprocess("standardize", mean=mean, std=mean + 1))}
    assert len(prints) == 5 and base not in prints


def test_a_fingerprint_tells_apart_the_same_bytes_under_other_names():
    """The array names are part of the digest: the same numbers as b1 or as b2 are two models."""
    v = np.ones(4, np.float32)
    assert state.fingerprint(Bare({"b1": v})) != state.fingerprint(Bare({"b2": v}))
    assert state.fingerprint(Bare({"b1": v, "b2": 2 * v})) != state.fingerprint(Bare({"b1": 2 * v, "b2": v}))


def test_a_fingerprint_is_computed_once_per_model_object():
    """Models are shared read-only, so the first digest is kept even if the arrays were (wrongly) changed later."""
    model = Bare({"W1": np.zeros((2, 2), np.float32)})
    first = state.fingerprint(model)
    model.params["W1"] += 1
    assert state.fingerprint(model) == first
    assert state.fingerprint(Bare({"W1": np.ones((2, 2), np.float32)})) != first


# --- the validation split


def card_model(card):
    """A model with only a card (val_settings and split_key read nothing else)."""
    return MLP(tiny_params(), card=card)


def test_val_settings_read_the_card_or_fall_back_to_the_trainers_defaults():
    """Recorded size and seed (numbers or numeric text) with from_card True; missing or bad ones: TrainConfig's defaults."""
    d = TrainConfig()
    assert state.val_settings(card_model({})) == (d.val_size, d.seed, False)
    assert state.val_settings(card_model({"training": {"val_size": 500, "seed": 3}})) == (500, 3, True)
    assert state.val_settings(card_model({"training": {"val_size": "250", "seed": "7"}})) == (250, 7, True)
    assert state.val_settings(card_model({"training": {"seed": 9}})) == (d.val_size, 9, False)
    assert state.val_settings(card_model({"training": {"val_size": 400}})) == (400, d.seed, True)
    for bad in ({"val_size": "many", "seed": 1}, {"val_size": 10, "seed": None}, {"val_size": [1], "seed": 1}):
        assert state.val_settings(card_model({"training": bad})) == (d.val_size, d.seed, False), bad
    assert state.val_settings(card_model({"training": [("val_size", 10)]})) == (d.val_size, d.seed, False)
    assert d.val_size != 500 and d.seed not in (3, 7, 9)  # else the cases above could not tell a default from the card


def test_split_keys_name_test_or_the_models_own_validation_split():
    """'test' for anything but 'val'; 'val:SIZE:SEED' from the card."""
    m = card_model({"training": {"val_size": 123, "seed": 45}})
    assert state.split_key(m, "test") == "test" and state.split_key(m, "train") == "test"
    assert state.split_key(m, "val") == "val:123:45"
    d = TrainConfig()
    assert state.split_key(card_model({}), "val") == f"val:{d.val_size}:{d.seed}"


class Sizes:
    """A dataset stand-in: only its split sizes."""

    def __init__(self, n_test, n_train):
        self._n = {"test": n_test, "train": n_train}

    def size(self, name):
        return self._n[name]


def test_a_split_key_names_the_test_set_or_the_trainers_held_out_images():
    """'test' is every test image; 'val:SIZE:SEED' the training images engine.train.split held out, size kept in range."""
    state._source.clear()
    name, idx = state.source(Sizes(37, 90), "test")
    assert name == "test" and np.array_equal(idx, np.arange(37))
    name, idx = state.source(Sizes(37, 90), "val:20:4")
    assert name == "train" and np.array_equal(idx, split(90, val_size=20, seed=4)[1]) and len(idx) == 20
    assert not np.array_equal(idx, split(90, val_size=20, seed=5)[1])  # the seed is the card's
    _, idx = state.source(Sizes(37, 90), "val:0:4")
    assert np.array_equal(idx, split(90, val_size=1, seed=4)[1])  # at least one image
    _, idx = state.source(Sizes(37, 90), "val:500:4")
    assert np.array_equal(idx, split(90, val_size=89, seed=4)[1])  # at most all but one


class Data:
    """A dataset stand-in with train and test images and labels, and the key the cache files results under."""

    def __init__(self, key, seed):
        rng = np.random.default_rng(seed)
        self.key = key
        self._x = {"test": rng.normal(0, 3, (40, 6)).astype(np.float32), "train": rng.normal(0, 3, (90, 6)).astype(np.float32)}
        self._t = {"test": rng.integers(0, 10, 40), "train": rng.integers(0, 10, 90)}

    def size(self, name):
        return len(self._t[name])

    def images(self, name):
        return self._x[name]

    def labels(self, name):
        return self._t[name]


def test_a_cached_evaluation_belongs_to_its_model_its_dataset_and_its_split(monkeypatch):
    """Each (model numbers, dataset, split) has its own result: another model or dataset never gets a cached one."""
    state._evaluation.clear()  # nothing left from another test
    a, b = MLP(tiny_params(3)), MLP(tiny_params(4))
    one, two = Data("synthetic-1", 1), Data("synthetic-2", 2)

    def check(ds, model, key, x, t):
        monkeypatch.setattr(state.loaders, "dataset", lambda: ds)  # the page's loader: the data of this run
        got = state.evaluation(ds, model, key)
        assert np.allclose(got.proba, model.predict_proba(x), atol=1e-6) and np.array_equal(got.t, t)

    check(one, a, "test", one.images("test"), one.labels("test"))
    check(one, b, "test", one.images("test"), one.labels("test"))
    check(two, a, "test", two.images("test"), two.labels("test"))
    held = split(90, val_size=20, seed=4)[1]
    check(one, a, "val:20:4", one.images("train")[held], one.labels("train")[held])
    check(one, MLP(tiny_params(3)), "test", one.images("test"), one.labels("test"))  # an equal copy: the same numbers


# --- headline numbers


def ece_by_loop(conf, ok, n_bins=10):
    """Sum over bins of (count / n) * |accuracy - mean confidence|; a confidence on an edge belongs to the bin below."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        inside = [i for i in range(len(conf)) if (lo < conf[i] <= hi) or (b == 0 and conf[i] == 0)]
        if inside:
            total += len(inside) / len(conf) * abs(np.mean([ok[i] for i in inside]) - np.mean([conf[i] for i in inside]))
    return total


def test_summary_counts_right_and_wrong_and_averages_loss_confidence_and_the_calibration_gap(ev):
    """Every headline number against the raw arrays."""
    _, ok, conf, loss = plain(ev)
    s = state.summary(ev)
    assert s["right"] == int(ok.sum()) and s["wrong"] == len(ok) - int(ok.sum()) and 0 < s["wrong"] < 30
    assert isinstance(s["right"], int)
    assert s["mean_loss"] == pytest.approx(loss.mean(), rel=1e-5)
    assert s["mean_conf"] == pytest.approx(conf.mean(), rel=1e-6)
    assert s["ece"] == pytest.approx(ece_by_loop(ev.confidence.astype(np.float64), ok), abs=1e-6) and s["ece"] > 0.01
    assert set(s) == {"right", "wrong", "mean_loss", "mean_conf", "ece"}


# --- picking a cell


def test_parse_cell_reads_exactly_two_digits_joined_by_a_dash():
    """'4-9' is (true 4, predicted 9); anything else, even with the same digits inside, is None."""
    assert state.parse_cell("4-9") == (4, 9) and state.parse_cell("0-0") == (0, 0) and state.parse_cell("9-1") == (9, 1)
    for bad in ("", None, "49", "4-9x", " 4-9", "4-9 ", "x4-9", "10-1", "4--9", "a-b", "4_9", "4-"):
        assert state.parse_cell(bad) is None, bad


def test_a_clicked_marker_becomes_true_and_predicted_digits():
    """x is the predicted digit, y the true one; whole floats count, anything off the 10 x 10 grid is skipped."""
    assert state.cell_from_points([{"x": 2, "y": 7}]) == (7, 2)
    got = state.cell_from_points([{"x": 3.0, "y": 5.0}])
    assert got == (5, 3) and all(type(v) is int for v in got)
    assert state.cell_from_points([{"x": 0, "y": 0}]) == (0, 0) and state.cell_from_points([{"x": 9, "y": 9}]) == (9, 9)
    for x, y in ((-1, 3), (3, -1), (10, 3), (3, 10), (2.5, 3), (3, 2.5), ("3", 4), (3, None), (None, 3)):
        assert state.cell_from_points([{"x": x, "y": y}]) is None, (x, y)
    assert state.cell_from_points(["4-9", 7, {"y": 1}, {"x": 10, "y": 1}, {"x": 1, "y": 8}, {"x": 4, "y": 4}]) == (8, 1)
    assert state.cell_from_points([]) is None and state.cell_from_points(None) is None


def test_the_default_cell_is_the_largest_mistake_or_0_0_without_mistakes():
    """The biggest off-diagonal count (the first in reading order on a tie), never a diagonal one; the matrix is untouched."""
    cm = np.diag(np.full(10, 50))
    cm[2, 7], cm[6, 1], cm[8, 3] = 4, 9, 9
    before = cm.copy()
    assert state.default_cell(cm) == (6, 1) and np.array_equal(cm, before)
    assert state.default_cell(cm.tolist()) == (6, 1)
    assert state.default_cell(np.diag(np.arange(1, 11))) == (0, 0)
    assert state.default_cell(np.zeros((10, 10), int)) == (0, 0)
    one = np.zeros((10, 10), int)
    one[9, 0] = 1
    assert state.default_cell(one) == (9, 0)
    got = state.default_cell(cm)
    assert all(type(v) is int for v in got)


def test_ordered_sorts_the_given_positions_by_confidence_or_loss_either_way(ev):
    """Each SORTS choice against Python's stable sort of the same positions; 'index' keeps them as given."""
    _, _, conf, loss = plain(ev)
    positions = [41, 3, 17, 58, 0, 22, 9, 33]
    want = {"conf_desc": sorted(positions, key=lambda i: -conf[i]), "conf_asc": sorted(positions, key=lambda i: conf[i]),
            "loss_desc": sorted(positions, key=lambda i: -loss[i]), "loss_asc": sorted(positions, key=lambda i: loss[i]),
            "index": positions}
    assert set(want) == set(state.SORTS)
    for sort, expected in want.items():
        assert np.asarray(state.ordered(ev, positions, sort)).tolist() == expected, sort
    assert want["conf_desc"] != want["loss_asc"]  # confidence and loss orders differ here, so a mix-up shows
    assert isinstance(state.ordered(ev, positions, "index"), np.ndarray)


# --- CSV exports


def read_csv(data, **kw):
    """A DataFrame from CSV bytes."""
    return pd.read_csv(io.BytesIO(data), **kw)


def test_the_confusion_frame_labels_rows_true_and_columns_predicted():
    """Row i, column j is the count of true i answered j, for any k."""
    cm = np.arange(9).reshape(3, 3)
    df = state.confusion_frame(cm)
    assert list(df.index) == ["true 0", "true 1", "true 2"] and df.index.name == "true \\ predicted"
    assert list(df.columns) == ["predicted 0", "predicted 1", "predicted 2"]
    assert df.loc["true 1", "predicted 2"] == 5 and df.to_numpy().tolist() == cm.tolist()
    text = state.csv_bytes(df, index=True).decode("utf-8").splitlines()
    assert text[0] == "true \\ predicted,predicted 0,predicted 1,predicted 2" and text[2] == "true 1,3,4,5"


def test_the_report_frame_keeps_a_digit_without_mistakes_as_missing_not_nan(ev):
    """One row per digit in a fixed column order; confused_with is a nullable integer."""
    rows = [{"digit": 0, "precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 3, "confused_with": 7, "confused_count": 2},
            {"digit": 1, "precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 4, "confused_with": None, "confused_count": 0}]
    df = state.report_frame(rows)
    assert list(df.columns) == ["digit", "precision", "recall", "f1", "support", "confused_with", "confused_count"]
    assert str(df["confused_with"].dtype) == "Int64" and df["confused_with"][0] == 7
    assert df["confused_with"].isna().tolist() == [False, True]
    lines = state.csv_bytes(df).decode("utf-8").splitlines()
    assert lines[1] == "0,0.5,1,0.666667,3,7,2" and lines[2] == "1,1,1,1,4,,0"  # '7', not '7.0'; an empty cell, not 'nan'
    assert len(state.report_frame(ev.report)) == 10
    shuffled = [dict(reversed(list(r.items()))) for r in rows]  # the CSV's column order does not depend on the rows'
    assert list(state.report_frame(shuffled).columns) == list(df.columns)


def test_the_mistakes_frame_reads_each_position_in_the_split_numbering(ev):
    """Split name, image index in the split, true and predicted digits, confidence, p(true) and loss of each position."""
    pred, ok, conf, loss = plain(ev)
    wrong = np.flatnonzero(~ok)[:5]
    indices = 1000 + 3 * np.arange(ev.n)  # where the evaluated images sit in their split
    df = state.mistakes_frame(ev, list(wrong), split_name="train", indices=indices)
    assert list(df.columns) == ["split", "index", "true", "predicted", "confidence", "p_true", "loss"]
    assert (df["split"] == "train").all() and df["index"].tolist() == [1000 + 3 * int(i) for i in wrong]
    assert df["true"].tolist() == [int(ev.t[i]) for i in wrong] and df["predicted"].tolist() == [int(pred[i]) for i in wrong]
    assert np.allclose(df["confidence"], conf[wrong], rtol=1e-6)
    assert np.allclose(df["p_true"], [float(ev.proba[i][ev.t[i]]) for i in wrong], rtol=1e-6)
    assert np.allclose(df["loss"], loss[wrong], rtol=1e-5)
    assert (df["p_true"] < df["confidence"]).all()  # a mistake's true digit is never its top one
    none = state.mistakes_frame(ev, [], split_name="test", indices=indices)  # a model without mistakes: an empty table
    assert len(none) == 0 and list(none.columns) == list(df.columns)


def test_comparison_and_agreement_frames_label_each_model():
    """Rows in the order given, numbers taken from each evaluation and summary."""
    class E:
        def __init__(self, accuracy):
            self.accuracy = accuracy
    sums = [{"right": 90, "mean_loss": 0.3, "ece": 0.02}, {"right": 80, "mean_loss": 0.5, "ece": 0.04}]
    df = state.comparison_frame(("book", "mine"), [E(0.9), E(0.8)], sums)
    assert list(df.columns) == ["model", "accuracy", "right", "mean_loss", "ece"]
    assert df.to_dict("list") == {"model": ["book", "mine"], "accuracy": [0.9, 0.8], "right": [90, 80], "mean_loss": [0.3, 0.5],
                                  "ece": [0.02, 0.04]}
    ag = state.agreement_frame(("book", "mine"), [[1.0, 0.7], [0.7, 1.0]])
    assert list(ag.index) == ["book", "mine"] and list(ag.columns) == ["book", "mine"] and ag.loc["mine", "book"] == 0.7


def test_answers_name_each_models_digit_and_whether_it_is_right(ev):
    """'name: digit ✓' or '✗' per model, joined by ' · '."""
    pred, ok, _, _ = plain(ev)
    r, w = int(np.flatnonzero(ok)[0]), int(np.flatnonzero(~ok)[0])
    assert state.answers(["a"], [ev], r) == f"a: {pred[r]} ✓"
    assert state.answers(["a", "b"], [ev, ev], w) == f"a: {pred[w]} ✗ · b: {pred[w]} ✗"
    with pytest.raises(ValueError):
        state.answers(["a", "b"], [ev], r)


TIMING = {"rows": [{"batch_size": 1, "images_per_s": 1234.4, "images_per_s_min": 1000.5, "images_per_s_max": 1500.49,
                    "latency_ms": 0.81, "latency_ms_min": 0.66, "latency_ms_max": 1.0, "repeats": 5, "batches": 400, "images": 2000},
                   {"batch_size": 100, "images_per_s": 98765.6, "images_per_s_min": 90000.2, "images_per_s_max": 99999.9,
                    "latency_ms": 1.01, "latency_ms_min": 1.0, "latency_ms_max": 1.11, "repeats": 5, "batches": 500,
                    "images": 50000}],
          "book_rate": 800.0, "book_images": 300, "limit": 2.5e6, "gflops": 40.0, "flops": 16000,
          "machine": {"measured_at": "2026-12-02T10:00:00", "host": "vm", "cpu": "Xeon", "cores_usable": 2, "numpy": "2.1",
                      "blas": "openblas", "blas_threads": 2}, "model": "book"}


def test_timing_rows_round_the_rates_to_whole_images_and_keep_the_latencies():
    """Images/s and their spread as whole numbers; milliseconds untouched; the table's columns only, in its order."""
    df = state.timing_rows(TIMING)
    assert list(df.columns) == ["batch_size", "images_per_s", "images_per_s_min", "images_per_s_max", "latency_ms", "latency_ms_min",
                                "latency_ms_max", "images"]
    assert df["images_per_s"].tolist() == [1234, 98766] and df["images_per_s_min"].tolist() == [1000, 90000]
    assert df["images_per_s_max"].tolist() == [1500, 100000] and str(df["images_per_s"].dtype) == "int64"
    assert df["latency_ms"].tolist() == [0.81, 1.01] and df["images"].tolist() == [2000, 50000]


def test_the_timing_frame_adds_the_book_loop_and_the_machine_limit_with_where_they_were_measured():
    """One row per batch size, the book's loop (when measured), the limit; every row says machine and model."""
    df = state.timing_frame(TIMING)
    assert df["kind"].tolist() == ["batched", "batched", "book_loop", "machine_limit"]
    book, limit = df.iloc[2], df.iloc[3]
    assert book["batch_size"] == 1 and book["images_per_s"] == 800.0 and book["images"] == 300
    assert limit["images_per_s"] == 2.5e6 and limit["gflops"] == 40.0 and limit["flops_per_image"] == 16000
    assert df["images_per_s"].tolist()[:2] == [1234.4, 98765.6]  # the export keeps the measured decimals
    for k, v in TIMING["machine"].items():
        assert df[k].tolist() == [v] * 4, k
    assert (df["model"] == "book").all()
    bare = dict(TIMING, book_rate=None, machine={"host": "vm"})
    bare.pop("model")
    df = state.timing_frame(bare)
    assert df["kind"].tolist() == ["batched", "batched", "machine_limit"] and (df["model"] == "").all()
    assert (df["host"] == "vm").all() and df["cpu"].isna().all()


def test_csv_bytes_are_utf8_with_six_significant_digits_and_no_index_by_default():
    """The format every export shares."""
    df = pd.DataFrame({"name": ["café ✓"], "x": [0.123456789], "big": [1234567.0]}, index=["row"])
    assert state.csv_bytes(df) == "name,x,big\ncafé ✓,0.123457,1.23457e+06\n".encode()
    assert state.csv_bytes(df, index=True).decode("utf-8").splitlines()[1].startswith("row,")


def test_the_exports_hold_the_matrix_the_per_class_table_and_every_mistake_most_confident_first(ev):
    """The three CSV files of an evaluation, read back."""
    state.exports.clear()
    pred, ok, conf, _ = plain(ev)
    indices = np.arange(ev.n) + 500
    out = state.exports("fp-test-exports", "data", "val:60:1", _ev=ev, _indices=indices, split_name="train")
    cm = np.zeros((10, 10), int)
    for i, j in zip(ev.t, pred, strict=True):
        cm[i, j] += 1
    matrix = read_csv(out["matrix"], index_col=0)
    assert matrix.to_numpy().tolist() == cm.tolist() and matrix.index[3] == "true 3"
    per_class = read_csv(out["per_class"])
    assert per_class["support"].tolist() == [int((ev.t == d).sum()) for d in range(10)]
    mistakes = read_csv(out["mistakes"])
    wrong = sorted(np.flatnonzero(~ok).tolist(), key=lambda i: -conf[i])
    assert len(wrong) == ev.n - int(ok.sum()) > 10  # every mistake, not a gallery's worth
    assert mistakes["index"].tolist() == [500 + i for i in wrong] and (mistakes["split"] == "train").all()
