"""Model files: the book's pickle through the safe loader, hostile pickles and .npz files refused, atomic .npz round trips."""
import io
import json
import os
import pickle
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import engine.modelfile
from engine.data import load_raw
from engine.errors import EngineError, ModelFormatError
from engine.functions import softmax
from engine.model import MLP, fold
from engine.modelfile import check_params, load_model, save_model
from engine.preprocess import KINDS, Preprocess, fit
from tests.synth import synthetic_digits

BOOK_SIZES = (784, 50, 100, 10)


def random_params(sizes=BOOK_SIZES, *, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False), start=1):
        params[f"W{i}"] = (rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
        params[f"b{i}"] = rng.normal(0, 0.1, n_out).astype(dtype)
    return params


def write_pickle(path, obj):
    path.write_bytes(pickle.dumps(obj, protocol=3))  # the protocol of the book's own file
    return path


# --- the book's pickle ----------------------------------------------------------------------------------------

@pytest.mark.mnist
def test_book_pickle_loads_safely_and_scores_0_9352(book_weights, mnist_dir):
    model = load_model(book_weights)
    assert model.sizes == [784, 50, 100, 10] and model.activation == "sigmoid"
    assert model.preprocess.kind == "unit"
    assert all(v.dtype == np.float32 for v in model.params.values())
    raw = load_raw(mnist_dir)
    x, t = raw["test_img"].reshape(10000, 784), raw["test_label"]
    # the book reports Accuracy:0.9352 for these weights: 9,352 of the 10,000 test images
    assert int((model.predict(x, batch_size=100) == t).sum()) == 9352
    assert model.score(x, t) == 0.9352


# --- hostile or broken pickles ------------------------------------------------------------------------------

class Payload:
    """With the standard pickle module, loading this runs a shell command that creates `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["top level", "as a weight", "inside a list"])
def test_reduce_payload_is_refused_and_never_runs(tmp_path, where):
    marker = tmp_path / "pwned"
    payload = Payload(marker)
    obj = {"top level": payload, "as a weight": {**random_params(), "W2": payload},
           "inside a list": {**random_params(), "b1": [payload]}}[where]
    path = write_pickle(tmp_path / "evil.pkl", obj)
    with pytest.raises(ModelFormatError) as e:
        load_model(path)
    assert "evil.pkl" in str(e.value) and "refused" in str(e.value)
    assert ("posix.system" in str(e.value)) or ("os.system" in str(e.value))
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cos\nsystem\n(S'touch {m}'\ntR.",  # protocol 0, the classic
    b"cbuiltins\neval\n(S'open(\"{m}\", \"w\")'\ntR.",
    b"csubprocess\ncheck_call\n((S'touch'\nS'{m}'\nltR.",
])
def test_hand_written_code_running_pickles_are_refused(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "w.pkl"
    path.write_bytes(payload.replace(b"{m}", str(marker).encode()))
    with pytest.raises(ModelFormatError, match="w.pkl.*refused"):
        load_model(path)
    assert not marker.exists()


BAD_PICKLES = {
    "a list, not a dict": ([np.zeros((784, 50))], "holds a list, not a dict"),
    "missing b2": ({k: v for k, v in random_params().items() if k != "b2"}, "missing ['b2']"),
    "an extra key": ({**random_params(), "W0x": np.zeros(3)}, "unexpected ['W0x']"),
    "object array": ({**random_params(), "b3": np.array([1, "x"], dtype=object)}, "refused"),
    "a string weight": ({**random_params(), "b3": "0.1"}, "b3 is str, expected a float array"),
    "bool weights": ({**random_params(), "b1": np.ones(50, bool)}, "b1 is bool, expected a float array"),
    "complex weights": ({**random_params(), "b1": np.ones(50, np.complex64)}, "refused"),
}


@pytest.mark.parametrize("case", list(BAD_PICKLES))
def test_malformed_pickles_are_refused_clearly(tmp_path, case):
    obj, words = BAD_PICKLES[case]
    with pytest.raises(ModelFormatError) as e:
        load_model(write_pickle(tmp_path / "w.pkl", obj))
    assert str(e.value).startswith("w.pkl") and words in str(e.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("key", ["W1", "b3"])
def test_nan_or_inf_weights_are_refused(tmp_path, bad, key):
    params = random_params()
    params[key].flat[7] = bad
    with pytest.raises(ModelFormatError, match=f"^w.pkl: {key} contains NaN or infinite values"):
        load_model(write_pickle(tmp_path / "w.pkl", params))


@pytest.mark.parametrize("key, shape, expected", [
    ("W1", (784, 51), "(784, 50)"),
    ("W2", (50, 99), "(50, 100)"),
    ("W3", (100, 9), "(100, 10)"),
    ("W1", (28, 28), "(784, 50)"),
    ("b2", (99,), "(100,)"),
])
def test_wrong_shapes_name_the_layer_and_both_shapes(tmp_path, key, shape, expected):
    params = random_params()
    params[key] = np.zeros(shape, np.float32)
    with pytest.raises(ModelFormatError) as e:
        load_model(write_pickle(tmp_path / "w.pkl", params))
    msg = str(e.value)
    assert f"layer {key[1]}" in msg and key in msg and str(shape) in msg and f"expected {expected}" in msg


@pytest.mark.parametrize("dtype, bad", [(np.float64, 1e300), (np.float64, -4e38), (np.float16, np.inf), (np.float16, np.nan)])
@pytest.mark.parametrize("fmt", ["pkl", "npz"])
def test_weights_infinite_once_stored_as_float32_are_refused(tmp_path, dtype, bad, fmt):
    params = random_params(dtype=dtype)
    params["W2"].flat[7] = bad  # 1e300 is finite in float64: only the float32 copy the model keeps is infinite
    path = tmp_path / f"w.{fmt}"
    write_pickle(path, params) if fmt == "pkl" else np.savez(path, **params)
    with pytest.raises(ModelFormatError, match=f"^w.{fmt}: W2 contains NaN or infinite values as float32 .* re-export the model"):
        load_model(path)


def test_shapes_are_checked_before_any_weight_is_copied():
    params = random_params(dtype=np.float64)
    params["W1"] = np.zeros((784, 600))  # wrong width: refused from its shape, not after a float32 copy and a scan
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match="layer 1 weight W1 has shape"):
            check_params(params, name="w.pkl", expect_sizes=BOOK_SIZES)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000  # the float32 copy of W1 alone would be 1,881,600 bytes


def test_a_pickle_of_the_wrong_depth_is_refused(tmp_path):
    params = random_params((784, 50, 100, 10, 10))
    with pytest.raises(ModelFormatError, match="^w.pkl has 4 weight layers; expected 3"):
        load_model(write_pickle(tmp_path / "w.pkl", params))


def test_integer_weights_are_accepted_as_float32(tmp_path):
    # check_params takes any real numeric dtype (float, int, uint) and converts; bool and complex are refused
    params = random_params(dtype=np.float64)
    params["W2"] = np.arange(5000).reshape(50, 100) % 7 - 3
    model = load_model(write_pickle(tmp_path / "w.pkl", params))
    assert model.params["W2"].dtype == np.float32
    np.testing.assert_array_equal(model.params["W2"], params["W2"].astype(np.float32))
    np.testing.assert_array_equal(model.params["W1"], params["W1"].astype(np.float32))


def test_missing_model_files_are_clear_errors(tmp_path):
    for name in ("nowhere.pkl", "nowhere.npz"):
        with pytest.raises(ModelFormatError) as e:
            load_model(tmp_path / name)
        assert str(tmp_path / name) in str(e.value) and "check the path" in str(e.value)


# --- .npz round trips ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pixels():
    x, _ = synthetic_digits(300, seed=1)
    return x.reshape(300, 784)  # uint8


FITTED = {}  # kind -> Preprocess fitted on the first 200 synthetic images; whitening is worth fitting once


def make_model(kind, pixels, *, activation="sigmoid", sizes=BOOK_SIZES, seed=0):
    if kind not in FITTED:
        FITTED[kind] = fit(kind, pixels[:200])
    return MLP(random_params(sizes, seed=seed), activation=activation, preprocess=FITTED[kind],
               card={"name": f"test-{kind}", "provenance": "tests", "test_accuracy": 0.5})


@pytest.mark.parametrize("kind", KINDS)
def test_npz_round_trip_keeps_params_card_and_preprocessing(tmp_path, pixels, kind):
    model = make_model(kind, pixels, activation="relu" if kind == "center" else "sigmoid")
    path = save_model(model, tmp_path / "m")
    assert path == tmp_path / "m.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]  # and no temp file
    for sidecar in (True, False):  # the card beside the file, then only the one embedded in it
        if not sidecar:
            (tmp_path / "m.json").unlink()
        loaded = load_model(path)
        assert loaded.params.keys() == model.params.keys()
        for k in model.params:
            assert loaded.params[k].dtype == np.float32
            np.testing.assert_array_equal(loaded.params[k], model.params[k])
        assert loaded.card == json.loads(json.dumps(model.card))
        assert loaded.activation == model.activation and loaded.sizes == [784, 50, 100, 10]
        assert loaded.preprocess.kind == kind and loaded.preprocess.to_card() == model.preprocess.to_card()
        assert loaded.preprocess.to_arrays().keys() == model.preprocess.to_arrays().keys()
        for k, v in model.preprocess.to_arrays().items():
            np.testing.assert_array_equal(loaded.preprocess.to_arrays()[k], v)
        np.testing.assert_array_equal(loaded.predict_proba(pixels[200:]), model.predict_proba(pixels[200:]))


def test_card_records_what_the_issue_asks(tmp_path, pixels):
    save_model(make_model("standardize", pixels), tmp_path / "m")
    card = json.loads((tmp_path / "m.json").read_text())
    assert card["sizes"] == [784, 50, 100, 10] and card["activation"] == "sigmoid"
    assert card["preprocess"]["kind"] == "standardize"
    assert card["provenance"] == "tests" and card["test_accuracy"] == 0.5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_fast_predict_matches_the_traced_forward_pass(pixels, kind, activation):
    # predict / predict_proba fold preprocessing and sigmoid's affine parts into the weights: same maths, fewer passes
    model = make_model(kind, pixels, activation=activation, sizes=(784, 30, 20, 10), seed=3)
    x = pixels[200:]
    _, z = model.forward(model.prepare(x))
    reference = z[-1]  # the unfolded softmax probabilities (100, 10)
    for batch_size in (1, 7, 100, 1000):
        proba = model.predict_proba(x, batch_size=batch_size)
        assert proba.dtype == np.float32 and proba.shape == (100, 10)
        np.testing.assert_allclose(proba, reference, rtol=1e-4, atol=2e-6)
        np.testing.assert_array_equal(model.predict(x, batch_size=batch_size), reference.argmax(axis=1))
    np.testing.assert_allclose(model.predict_proba(x.astype(np.float64)), reference, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(model.predict_proba(x.reshape(-1, 28, 28)), reference, rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(reference, softmax(model.scores(model.prepare(x))), rtol=1e-5, atol=1e-7)


def float64_fold(params, *, activation, scale):
    """The fold as it was computed before the float32 cache: every weight copied to float64, then cast back."""
    L = len(params) // 2
    Ws = [params[f"W{i}"].astype(np.float64) for i in range(1, L + 1)]
    bs = [params[f"b{i}"].astype(np.float64) for i in range(1, L + 1)]
    Ws[0] *= scale
    if activation == "sigmoid":
        for i in range(1, L):
            bs[i] += 0.5 * Ws[i].sum(axis=0)
            Ws[i] *= 0.5
        for i in range(L - 1):
            Ws[i] *= 0.5
            bs[i] *= 0.5
    return [(W.astype(np.float32), b.astype(np.float32)) for W, b in zip(Ws, bs, strict=True)]


@pytest.mark.parametrize("sizes", [(784, 10), (784, 30, 10), BOOK_SIZES])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("kind", ["raw", "unit", "center"])
def test_the_float32_fold_gives_the_float64_folds_weights_bit_for_bit(pixels, sizes, activation, kind):
    model = make_model(kind, pixels, activation=activation, sizes=sizes, seed=4)
    layers, rest = fold(model.params, activation=activation, preprocess=model.preprocess)
    assert (rest is None) == (kind != "center")
    scale = float(model.preprocess.scale) if kind == "unit" else 1.0
    for (W, b), (W64, b64) in zip(layers, float64_fold(model.params, activation=activation, scale=scale), strict=True):
        assert W.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(W, W64)
        np.testing.assert_array_equal(b, b64)


def test_predict_with_explicit_or_no_preprocessing(pixels):
    model = make_model("standardize", pixels)
    x = pixels[200:]
    for pre in (None, fit("unit", x), make_model("whiten", pixels).preprocess):
        _, z = model.forward(model.prepare(x, preprocess=pre))
        np.testing.assert_allclose(model.predict_proba(x, preprocess=pre), z[-1], rtol=1e-4, atol=2e-6)


def test_predict_on_no_images_gives_empty_results(pixels):
    model = make_model("unit", pixels)
    assert model.predict(pixels[:0]).shape == (0,) and model.predict_proba(pixels[:0]).shape == (0, 10)


def npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_npz_with_object_arrays_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.npz"
    path.write_bytes(npz_bytes(**random_params(), b9=np.array([Payload(marker)], dtype=object)))
    with pytest.raises(ModelFormatError, match="m.npz holds object arrays, which need pickle to load; refused"):
        load_model(path)
    assert not marker.exists()


@pytest.mark.parametrize("content, words", [
    (np.random.default_rng(0).bytes(3000), "not a valid .npz model file"),
    (b"", "not a valid .npz model file"),
    (npz_bytes(W1=np.zeros((784, 10), np.float32), b1=np.zeros(10, np.float32), W9=np.zeros(3)), "wrong key set"),
    (npz_bytes(b1=np.zeros(10)), "wrong key set"),
    (npz_bytes(W1=np.zeros((784, 10), np.int32), b1=np.zeros(10, np.int8)), None),  # ints: accepted
    (npz_bytes(W1=np.zeros((784, 10), bool), b1=np.zeros(10)), "W1 is bool"),
])
def test_bad_npz_files_are_refused_clearly(tmp_path, content, words):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    if words is None:
        assert load_model(path).params["W1"].dtype == np.float32
        return
    with pytest.raises(ModelFormatError) as e:
        load_model(path)
    assert "m.npz" in str(e.value) and words in str(e.value)


def test_npz_declaring_a_huge_size_is_refused_before_reading(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in random_params((784, 10)).items():
            npy = io.BytesIO()
            np.save(npy, v)
            z.writestr(f"{k}.npy", npy.getvalue())
    data = bytearray(buf.getvalue())
    at = data.find(b"PK\x01\x02")  # the central directory entry of W1.npy
    data[at + 24:at + 28] = (4_000_000_000).to_bytes(4, "little")  # its uncompressed size: 4 GB
    path = tmp_path / "bomb.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match=r"bomb.npz unpacks to 4,000,\d{3},\d{3} bytes; .* refused: use a smaller net\.$"):
        load_model(path)


def test_bad_sidecar_card_of_a_bare_npz_is_refused(tmp_path, pixels):
    np.savez(tmp_path / "m.npz", **make_model("unit", pixels).params)  # weights only, no embedded card
    (tmp_path / "m.json").write_text("{oops")
    with pytest.raises(ModelFormatError, match="m.json is not valid JSON"):
        load_model(tmp_path / "m.npz")


def test_the_embedded_card_wins_over_a_stale_sidecar(tmp_path, pixels):
    path = save_model(make_model("center", pixels), tmp_path / "m")
    (tmp_path / "m.json").write_text('{"preprocess": {"kind": "raw"}, "activation": "relu"}')  # an older save's card
    model = load_model(path)
    assert model.preprocess.kind == "center" and model.activation == "sigmoid"


def test_check_params_accepts_any_depth_and_width():
    params = check_params(random_params((784, 7, 10)), name="x")
    assert [v.shape for v in params.values()] == [(784, 7), (7,), (7, 10), (10,)]


# --- atomic saves -------------------------------------------------------------------------------------------

def test_saving_again_replaces_both_files_and_leaves_no_temp(tmp_path, pixels):
    save_model(make_model("unit", pixels, seed=1), tmp_path / "m")
    save_model(make_model("center", pixels, seed=2), tmp_path / "m.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.npz"]
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.preprocess.kind == "center"
    np.testing.assert_array_equal(loaded.params["W1"], random_params(seed=2)["W1"])


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_a_failed_save_leaves_the_old_files_unchanged(tmp_path, pixels, monkeypatch, fail_on_call):
    path = save_model(make_model("unit", pixels, seed=1), tmp_path / "m")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = []
    real_fsync = os.fsync

    def failing_fsync(fd):  # the disk fills up after the temp file's bytes were written
        calls.append(fd)
        if len(calls) == fail_on_call:
            raise OSError(28, "No space left on device")
        real_fsync(fd)
    monkeypatch.setattr(engine.modelfile.os, "fsync", failing_fsync)
    with pytest.raises(EngineError, match=f"Cannot write {path} .No space left on device"):
        save_model(make_model("center", pixels, seed=2), path)
    assert len(calls) == fail_on_call
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # same two files, same bytes, no temp
    monkeypatch.undo()
    assert load_model(path).preprocess.kind == "unit"


# --- limits, messages and corner cases, one check per thing a mistake in modelfile.py would get wrong ----------

def npy_bytes(array, *, version=None):
    """One .npy member's bytes (version (2, 0) forces the 4-byte header length of large headers)."""
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def zip_of(members, *, compression=zipfile.ZIP_DEFLATED, comment=b""):
    """A zip of {name: bytes} members."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for k, data in members.items():
            z.writestr(k, data)
        z.comment = comment
    return buf.getvalue()


def small_net(sizes=(784, 10)):
    return {f"{k}.npy": npy_bytes(v) for k, v in random_params(sizes).items()}


def zero_net(sizes):
    """W1, b1 ... of zeros for these layer sizes, and their number of weights and biases counted layer by layer."""
    params, n = {}, 0
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"], params[f"b{i}"] = np.zeros((a, b), np.float32), np.zeros(b, np.float32)
        n += a * b + b
    return params, n


def test_the_book_card_names_its_source(tmp_path):
    model = load_model(write_pickle(tmp_path / "sample_weight.pkl", random_params()))
    card = model.card
    assert card["name"] == "book" and card["sizes"] == [784, 50, 100, 10] and card["activation"] == "sigmoid"
    assert card["preprocess"] == Preprocess("unit").to_card()
    assert card["title"].startswith("Book weights") and "sample_weight.pkl" in card["title"]
    assert card["provenance"].startswith("Deep Learning from Scratch, ch. 3") and "(MIT licence)" in card["provenance"]
    assert model.activation == "sigmoid" and model.preprocess.kind == "unit"


@pytest.mark.parametrize("params, message", [
    ({"b1": np.zeros(10)}, "m.npz has the wrong key set: missing ['W1', 'b1'], unexpected ['b1']."),
    ({**random_params(), "x": np.zeros(3)}, "m.npz has the wrong key set: missing none, unexpected ['x']."),
    ({k: v for k, v in random_params().items() if k != "b2"}, "m.npz has the wrong key set: missing ['b2'], unexpected none."),
    (random_params((784, 9)), "m.npz: the net maps 784 inputs to 9 outputs, expected 784 pixels to 10 digits."),
    (random_params((780, 10)), "m.npz: the net maps 780 inputs to 10 outputs, expected 784 pixels to 10 digits."),
    ({**random_params((784, 50, 10)), "W2": np.zeros((51, 10), np.float32)},
     "m.npz: layer 2 weight W2 has shape (51, 10), expected (50, 10)."),
])
def test_check_params_says_exactly_what_is_wrong(params, message):
    with pytest.raises(ModelFormatError) as e:
        check_params(params, name="m.npz")
    assert str(e.value) == message


def test_the_deepest_net_allowed_round_trips_with_every_member_a_model_may_have(tmp_path, pixels):
    # MAX_LAYERS weight layers and their biases, the three fitted preprocessing arrays and the card
    limit = engine.modelfile.MAX_LAYERS
    deep = random_params((784,) + (12,) * (limit - 1) + (10,))
    pre = make_model("whiten", pixels).preprocess
    card = json.dumps({"name": "deep", "preprocess": pre.to_card()}).encode()
    path = tmp_path / "deep.npz"
    np.savez(path, **deep, **pre.to_arrays(), pre_std=np.ones(784, np.float32), card=np.frombuffer(card, np.uint8))
    assert len(zipfile.ZipFile(path).namelist()) == 2 * limit + 4 == engine.modelfile.MAX_MEMBERS
    loaded = load_model(path)
    assert len(loaded.params) == 2 * limit and loaded.preprocess.kind == "whiten"
    np.testing.assert_allclose(loaded.predict_proba(pixels[200:]), MLP(deep, preprocess=pre).predict_proba(pixels[200:]))
    deeper = random_params((784,) + (12,) * limit + (10,))
    with pytest.raises(ModelFormatError) as e:
        check_params(deeper, name="m.npz")
    assert str(e.value) == f"m.npz has {limit + 1} weight layers; at most {limit}: use a net of that depth."


def test_a_net_at_the_parameter_limit_loads_and_one_over_is_refused_from_its_headers(tmp_path):
    limit = engine.modelfile.MAX_PARAMS
    sizes = (784, 2541, 2, 17, 10)  # 784*2541 + 2541 + 2541*2 + 2 + 2*17 + 17 + 17*10 + 10 = 2,000,000
    params, n = zero_net(sizes)
    assert n == limit
    assert check_params(params, name="m.npz").keys() == params.keys()
    path = tmp_path / "m.npz"
    np.savez(path, **params)
    assert load_model(path).sizes == list(sizes)
    over, n = zero_net((784, 2541, 2, 18, 10))  # 13 more
    words = f"declares {n:,} weights and biases, over the limit of {limit:,}: use a smaller net"
    with pytest.raises(ModelFormatError, match=f"^m.npz {words}"):
        check_params(over, name="m.npz")
    np.savez(path, **over)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match=f"^m.npz {words}"):
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # refused from the .npy headers: none of the 8 MB of weights was unpacked


def test_a_float32_overflow_is_refused_without_a_warning(tmp_path):
    params = random_params(dtype=np.float64)
    params["W2"].flat[3] = 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelFormatError, match=r"W2 contains NaN or infinite values .* with finite float32 weights\.$"):
            check_params(params, name="m.npz")


def test_a_sidecar_card_is_read_up_to_its_size_limit(tmp_path, pixels):
    limit = engine.modelfile.MAX_CARD_BYTES
    np.savez(tmp_path / "m.npz", **random_params())  # weights only: the card comes from m.json
    head = '{"activation": "relu", "name": "side", "pad": "'
    (tmp_path / "m.json").write_text(head + "x" * (limit - len(head) - 2) + '"}')
    assert (tmp_path / "m.json").stat().st_size == limit
    model = load_model(tmp_path / "m.npz")
    assert model.activation == "relu" and model.card["name"] == "side"
    (tmp_path / "m.json").write_text(head + "x" * (limit - len(head) - 1) + '"}')
    with pytest.raises(ModelFormatError) as e:
        load_model(tmp_path / "m.npz")
    assert str(e.value) == (f"m.json is {limit + 1:,} bytes; files over {limit:,} bytes are refused here: "
                            "use the model file this app saves.")


def test_a_bare_npz_takes_its_name_from_the_file_and_bad_utf8_in_a_card_is_replaced(tmp_path):
    np.savez(tmp_path / "digits-v2.npz", **random_params())
    assert load_model(tmp_path / "digits-v2.npz").card["name"] == "digits-v2"
    (tmp_path / "digits-v2.json").write_bytes(b'{"title": "caf\xe9"}')  # Latin-1, not UTF-8
    assert load_model(tmp_path / "digits-v2.npz").card["title"] == "caf\ufffd"
    path = tmp_path / "e.npz"
    np.savez(path, **random_params(), card=np.frombuffer(b'{"title": "caf\xe9"}', np.uint8))
    assert load_model(path).card["title"] == "caf\ufffd"


@pytest.mark.parametrize("card, message", [
    (np.zeros(5, np.float32), "m.npz: its embedded card is not JSON bytes."),
    (np.zeros((2, 3), np.uint8), "m.npz: its embedded card is not JSON bytes."),
    (np.frombuffer(b"{oops", np.uint8), "m.npz (embedded card) is not valid JSON"),
    (np.frombuffer(b"[1, 2]", np.uint8), "m.npz (embedded card) holds a JSON list, expected an object."),
    (np.frombuffer(b'{"activation": "tanh"}', np.uint8), "m.npz: the card names activation 'tanh'; expected 'sigmoid' or 'relu'."),
    (np.frombuffer(b'{"preprocess": {"kind": "pca"}}', np.uint8), "m.npz: The model card names preprocessing 'pca'"),
])
def test_bad_embedded_cards_are_refused_with_the_files_name(tmp_path, card, message):
    path = tmp_path / "m.npz"
    np.savez(path, **random_params(), card=card)
    with pytest.raises(ModelFormatError) as e:
        load_model(path)
    assert str(e.value).startswith(message)


def test_a_card_of_exactly_the_limit_is_parsed():
    limit = engine.modelfile.MAX_CARD_BYTES
    text = '{"pad": "' + "x" * (limit - 11) + '"}'
    assert len(text) == limit and len(engine.modelfile.parse_card(text, "c")["pad"]) == limit - 11
    with pytest.raises(ModelFormatError, match="^c is larger than 1,048,576 bytes; a model card is small"):
        engine.modelfile.parse_card(text + " ", "c")


def test_member_count_reads_the_end_record_from_the_last_64_kb_only():
    count = engine.modelfile._member_count
    assert count(io.BytesIO(zip_of({}))) == 0  # an empty zip is just its 22-byte end record
    assert count(io.BytesIO(zip_of({f"x{i}.npy": b"" for i in range(300)}))) == 300  # two bytes, little-endian
    # the record's signature inside a member, and a zip comment of the largest size: the last signature counts
    assert count(io.BytesIO(zip_of({"a.npy": b"PK\x05\x06" + bytes(40), "b.npy": b""}, compression=zipfile.ZIP_STORED))) == 2
    assert count(io.BytesIO(zip_of({"a.npy": b"", "b.npy": b"", "c.npy": b""}, comment=b"c" * 65535))) == 3
    assert count(io.BytesIO(b"not a zip at all" * 100)) is None
    assert count(io.BytesIO(b"x" * 50 + b"PK\x05\x06" + bytes(17))) is None  # a record cut short: 21 bytes
    assert count(io.BytesIO(b"x" * 50 + b"PK\x05\x06" + bytes(6) + b"\x07\x00" + bytes(10))) == 7  # all 22 bytes

def test_member_count_reads_only_the_files_tail_and_rewinds(tmp_path):
    path = tmp_path / "big.npz"  # a real file: reading all of an io.BytesIO from its start copies nothing
    path.write_bytes(zip_of({"a.npy": np.random.default_rng(0).bytes(3_000_000)}, compression=zipfile.ZIP_STORED))
    with open(path, "rb") as f:
        tracemalloc.start()
        try:
            assert engine.modelfile._member_count(f) == 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 200_000 and f.tell() == 0  # the 64 KB tail, never the 3 MB file; rewound for zipfile


def test_a_zip_hiding_its_member_count_is_still_refused():
    members = {f"x{i}.npy": npy_bytes(np.zeros(1)) for i in range(engine.modelfile.MAX_MEMBERS + 1)}
    data = bytearray(zip_of(members))
    at = data.rfind(b"PK\x05\x06")
    data[at + 8:at + 12] = (1).to_bytes(2, "little") * 2  # the end record claims one entry; the directory lists 37
    assert engine.modelfile._member_count(io.BytesIO(bytes(data))) == 1
    message = f"m.npz holds 37 files, more than the {engine.modelfile.MAX_MEMBERS} of any model: save it with np.savez."
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(bytes(data)), "m.npz")
    assert str(e.value) == message
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(zip_of(members)), "m.npz")  # found from the end record
    assert str(e.value) == message


def test_npz_members_in_any_npy_version_are_read_and_empty_arrays_are_not_corrupt():
    params = random_params((784, 10))
    members = {f"{k}.npy": npy_bytes(v, version=(2, 0)) for k, v in params.items()}
    members["extra.npy"] = npy_bytes(np.zeros((0, 3), np.float32))
    arrays = engine.modelfile.read_npz(io.BytesIO(zip_of(members)), "m.npz")
    for k, v in params.items():
        np.testing.assert_array_equal(arrays[k], v)
    assert arrays["extra"].shape == (0, 3)


def test_oddly_compressed_or_encrypted_members_are_refused():
    message = "m.npz: W1.npy is encrypted or oddly compressed; save models with np.savez."
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(zip_of(small_net(), compression=zipfile.ZIP_BZIP2)), "m.npz")
    assert str(e.value) == message
    data = bytearray(zip_of(small_net(), compression=zipfile.ZIP_STORED))
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # the local and the central header of W1.npy: set "encrypted" (bit 0)
        at = data.find(sig) + (6 if sig == b"PK\x03\x04" else 8)
        data[at] |= 1
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(bytes(data)), "m.npz")
    assert str(e.value) == message


@pytest.mark.parametrize("change", ["trailing", "short"])
def test_a_member_longer_or_shorter_than_its_header_says_is_corrupt(change):
    members = small_net()
    members["b1.npy"] = members["b1.npy"] + bytes(8) if change == "trailing" else members["b1.npy"][:-8]
    with pytest.raises(ModelFormatError, match=r"^m.npz: b1.npy holds \d+ bytes, not what its header declares \(\(10,\), float32\)"):
        engine.modelfile.read_npz(io.BytesIO(zip_of(members)), "m.npz")


@pytest.mark.parametrize("key, values", [("card", engine.modelfile.MAX_CARD_BYTES + 1), ("pre_zca", 784 * 784 + 1)])
def test_fixed_members_larger_than_they_can_be_are_refused(key, values):
    members = {**small_net(), f"{key}.npy": npy_bytes(np.zeros(values, np.uint8))}
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(zip_of(members)), "m.npz")
    assert str(e.value) == (f"m.npz: {key} declares {values:,} values, more than the {values - 1:,} it can hold: "
                            "the file is corrupt.")


def test_members_that_are_not_arrays_or_not_npy_are_refused():
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(zip_of({**small_net(), "notes.txt": b"hello"})), "m.npz")
    assert str(e.value) == "m.npz holds 'notes.txt', which is not a .npy array; save models with np.savez."
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(zip_of({**small_net(), "W1.npy": b"\x93NUMPZ garbage"})), "m.npz")
    assert str(e.value).startswith("m.npz is not a valid .npz model file (") and "object arrays" not in str(e.value)
    with pytest.raises(ModelFormatError) as e:
        engine.modelfile.read_npz(io.BytesIO(b"PK\x03\x04 not really a zip"), "m.npz")
    assert str(e.value).startswith("m.npz is not a valid .npz model file (BadZipFile: ")


def test_read_npz_takes_a_path_or_an_open_file():
    data = npz_bytes(**random_params((784, 10)))
    arrays = engine.modelfile.read_npz(io.BytesIO(data), "m.npz")
    assert sorted(arrays) == ["W1", "b1"] and arrays["W1"].shape == (784, 10)


def test_a_file_over_the_size_limit_is_refused_from_its_size_alone(tmp_path):
    limit = engine.modelfile.MAX_NPZ_BYTES
    path = tmp_path / "m.npz"
    with open(path, "wb") as f:
        f.truncate(limit)  # sparse: no disk is used
    with pytest.raises(ModelFormatError, match=r"^m.npz is not a valid .npz model file"):  # at the limit: read, not a zip
        load_model(path)
    with open(path, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelFormatError) as e:
        load_model(path)
    assert str(e.value) == f"m.npz is {limit + 1:,} bytes; model files over {limit:,} bytes are refused: use a smaller net."


def test_a_book_pickle_that_is_a_folder_cannot_be_read(tmp_path):
    (tmp_path / "w.pkl").mkdir()
    with pytest.raises(ModelFormatError, match=r"^Model file .*w.pkl cannot be read \(Is a directory\): check the path."):
        load_model(tmp_path / "w.pkl")


def test_saving_makes_missing_folders_writes_readable_utf8_cards_and_needs_no_preprocessing(tmp_path):
    model = MLP(random_params(), card={"name": "m", "title": "数字 — café"})  # no preprocessing object at all
    path = save_model(model, tmp_path / "a" / "b" / "m")
    text = (tmp_path / "a" / "b" / "m.json").read_text(encoding="utf-8")
    assert "数字 — café" in text and text.endswith("}\n")  # the characters themselves, not \\u escapes
    assert text.splitlines()[1][:3] == '  "'  # one key a line, indented by two spaces
    embedded = np.load(path)["card"].tobytes().decode("utf-8")
    assert "数字 — café" in embedded
    loaded = load_model(path)
    assert loaded.card["title"] == "数字 — café" and loaded.card["sizes"] == [784, 50, 100, 10]


def test_a_model_without_preprocessing_answers_the_same_after_saving(tmp_path):
    """No preprocessing means the input as given: saved as 'raw', never read back as the book's default 'unit'."""
    model = MLP(random_params(), card={"name": "m"})  # preprocess=None: pixels go in as they are
    x = np.random.default_rng(3).integers(0, 256, (50, 784)).astype(np.uint8)
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.card["preprocess"]["kind"] == "raw"
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), rtol=1e-5, atol=1e-6)
