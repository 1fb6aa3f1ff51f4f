"""Shared models by content address (issue 18), in AppTest on synthetic MNIST: "Share this model" writes an uploaded or
trained model to the store and the link (?model=shared:ADDRESS) opens the same model in a fresh session, also after a
restart and from another server process using the same store; bad addresses give a notice and the default model."""
import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np
import pytest

from engine import modelstore
from engine.modelfile import model_bytes
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, clear_caches, plotly_figures, random_model, run_page
from tests.test_app_links import copied_link, reopen
from ui import models

app_env = apptest_helpers.app_env  # fixture


def store():
    return Path(os.environ["MNIST_EXPLORER_CACHE"]) / "store"


def upload(at, name="mine.npz", *, seed=3, sizes=(784, 12, 10)):
    data = model_bytes(random_model(list(sizes), seed=seed, title="Mine"))
    at.file_uploader(key="model_upload_file").set_value((name, data, "application/octet-stream")).run()
    assert_no_exception(at)
    return data


def probabilities(at, model_id):
    # read as one line: a long id breaks the chart's title into lines that fit a phone
    [fig] = [f for f in plotly_figures(at) if f["layout"]["title"]["text"].replace("<br>", " ") == f"Probabilities of model {model_id}"]
    return apptest_helpers.array(fig["data"][0]["y"]).astype(float)


def share(at):
    [button] = [b for b in at.sidebar.button if b.key == "model_share"]
    button.click().run()
    assert_no_exception(at)
    return at.selectbox(key="model_pick").value


def test_nothing_is_shared_until_the_button_is_pressed(app_env):
    at = run_page("home")
    assert not [b for b in at.sidebar.button if b.key == "model_share"]  # a shipped model needs no sharing
    upload(at)
    assert at.selectbox(key="model_pick").value == "upload:mine"
    assert [b.label for b in at.sidebar.button if b.key == "model_share"] == ["Share this model"]
    assert not store().exists() or list(store().iterdir()) == []  # opt-in: the upload is not in the store


def test_a_shared_model_reopens_from_its_link_in_a_fresh_session(app_env):
    at = run_page("single", query={"index": 5})
    upload(at)
    before = probabilities(at, "upload:mine")
    mid = share(at)
    addr = mid.removeprefix("shared:")
    assert mid.startswith("shared:") and modelstore.is_address(addr)
    assert any(f"Shared as {mid}" in s.value for s in at.sidebar.success)
    # the store holds the model's .npz under its content address, and its card beside it
    npz = store() / f"{addr}.npz"
    assert hashlib.sha256(npz.read_bytes()).hexdigest()[:16] == addr and (store() / f"{addr}.json").is_file()
    link = copied_link(at)
    assert dict(parse_qsl(urlsplit(link).query)) == {"index": "5", "model": mid}
    assert "shared:" in unquote(link) and len(link) < 60
    assert not at.sidebar.warning  # the link carries this model now: no "exists only in this session"
    np.testing.assert_allclose(probabilities(at, mid), before, atol=1e-6)

    fresh = reopen(link)  # another visitor
    assert fresh.selectbox(key="model_pick").value == mid
    label = fresh.selectbox(key="model_pick").format_func(mid)  # built from the model, not from the card's "Mine"
    assert label.startswith(f"{addr} (shared): ") and "784-12-10" in label and "Mine" not in label
    assert not fresh.sidebar.warning
    np.testing.assert_allclose(probabilities(fresh, mid), before, atol=1e-6)
    assert copied_link(fresh) == link

    clear_caches()  # a restart: nothing in memory, the store on disk
    again = reopen(link)
    np.testing.assert_allclose(probabilities(again, mid), before, atol=1e-6)


def test_the_same_model_shared_twice_is_one_entry(app_env):
    first = run_page("home")
    upload(first, "a.npz")
    mid = share(first)
    second = run_page("home")
    upload(second, "b.npz")  # the same weights under another name: the card's name differs, so is the address ...
    other = share(second)
    assert other.startswith("shared:")
    third = run_page("home")
    upload(third, "a.npz")
    assert share(third) == mid  # ... but the same file is the same address
    assert len(list(store().glob("*.npz"))) == 2


def test_a_trained_session_model_can_be_shared(app_env):
    at = run_page("home")
    model = random_model([784, 9, 10], seed=11, title="Trained here")
    at.session_state["models_session"] = {"run1": model}  # what ui.models.add_session_model stores after training
    at.run()
    at.selectbox(key="model_pick").select("session:run1").run()
    x = np.random.default_rng(0).integers(0, 256, (5, 784))
    mid = share(at)
    fresh = reopen(copied_link(at))
    assert fresh.selectbox(key="model_pick").value == mid
    opened = fresh.session_state["models_shared"][mid.removeprefix("shared:")]  # the reader's copy, from the store
    np.testing.assert_array_equal(opened.predict_proba(x), model.predict_proba(x))  # no preprocessing (raw) stays raw
    label = models.title(mid, modelstore.load(mid.removeprefix("shared:"), folder=store()))  # outside a run: English
    assert label.startswith(f"{mid.removeprefix('shared:')} (shared): ") and "784-9-10" in label


@pytest.mark.parametrize("bad", [
    "shared:0123456789abcdef",  # a well-formed address that is not in the store
    "shared:0123456",  # cut short
    "shared:../../etc/passwd",
    "shared:" + "a" * 100_000,  # huge
    "shared:ZZZZZZZZZZZZZZZZ",
    "shared:",
])
def test_a_bad_shared_link_gives_a_notice_and_the_default_model(app_env, bad):
    at = run_page("single", query={"model": bad})
    assert at.selectbox(key="model_pick").value == "default"
    [note] = [w.value for w in at.sidebar.warning]
    assert "shared store holds no model with that address" in note and "Showing default instead" in note
    assert len(note) < 600  # a huge id is cut to one short line
    assert "Probabilities of model default" in [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert "model" not in at.query_params  # the link box now offers the default view


def test_a_shared_model_removed_from_the_store_is_a_notice(app_env):
    at = run_page("home")
    upload(at)
    mid = share(at)
    link = copied_link(at)
    for p in store().iterdir():
        p.unlink()  # evicted to keep the budget
    clear_caches()
    fresh = reopen(link)
    assert fresh.selectbox(key="model_pick").value == "default"
    assert "shared store holds no model" in fresh.sidebar.warning[0].value and mid in fresh.sidebar.warning[0].value


def test_a_tampered_store_file_is_not_opened(app_env):
    at = run_page("home")
    upload(at)
    mid = share(at)
    npz = store() / f"{mid.removeprefix('shared:')}.npz"
    data = bytearray(npz.read_bytes())
    data[-300] ^= 0xFF
    npz.write_bytes(bytes(data))
    clear_caches()
    fresh = reopen(copied_link(at))
    assert fresh.selectbox(key="model_pick").value == "default" and fresh.sidebar.warning


def test_opening_shared_models_keeps_the_session_budget(app_env, monkeypatch):
    monkeypatch.setattr(models, "MAX_PER_KIND", 2)
    sharer = run_page("home")
    ids = []
    for i in range(3):
        upload(sharer, f"m{i}.npz", seed=20 + i)
        ids.append(share(sharer))
    reader = run_page("home")
    for mid in ids:
        reader.query_params["model"] = mid
        reader.run()
        assert reader.selectbox(key="model_pick").value == mid
    shared = [f"shared:{a}" for a in reader.session_state["models_shared"]]
    assert shared == ids[1:]  # at most MAX_PER_KIND of them, the oldest gone first
    assert models.MAX_SESSION_MB == 24


def test_a_store_budget_too_small_is_one_error_line(app_env, monkeypatch):
    monkeypatch.setenv("MNIST_EXPLORER_STORE_MB", "0.001")
    at = run_page("home")
    upload(at)
    [button] = [b for b in at.sidebar.button if b.key == "model_share"]
    button.click().run()
    assert_no_exception(at)
    assert at.selectbox(key="model_pick").value == "upload:mine"
    assert "more than the shared store's budget" in at.sidebar.error[0].value
