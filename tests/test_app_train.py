"""AppTest of the training page on synthetic MNIST: settings and URL, a 1-epoch run in the background thread, its curves,
the sidebar list, download and re-upload, Stop, and the clear messages for nonsense settings and a NaN loss."""
import time

import numpy as np
import pytest

from engine.modelfile import model_bytes
from tests import apptest_helpers
from tests.apptest_helpers import array, assert_no_exception, figure_titled, page_text, run_page

app_env = apptest_helpers.app_env  # fixture this module uses
JOB = "train_job"


def train_now(at, **widgets):
    """Set widgets by key, press Train, wait for the background thread, rerun until the page shows the result."""
    for key, value in widgets.items():
        if key == "tr_epochs":
            at.slider(key=key).set_value(value).run()
        elif key in ("tr_lr", "tr_w1", "tr_w2", "tr_wd"):
            at.number_input(key=key).set_value(value).run()
        elif key in ("tr_act", "tr_opt"):
            at.radio(key=key).set_value(value).run()
        elif key == "tr_pre":
            at.selectbox(key=key).select(value).run()
        elif key == "tr_bs":
            at.select_slider(key=key).set_value(value).run()
    at.button(key="tr_start").click().run()
    job = at.session_state[JOB]
    job.thread.join(timeout=60)
    assert not job.thread.is_alive()
    at.run()  # the fragment sees the end, registers the model and reruns the app
    assert_no_exception(at)
    return at, job


def test_defaults_are_the_books_network_and_the_url_stays_empty(app_env):
    at = run_page("train")
    assert at.segmented_control(key="tr_layers").value == 2
    assert [at.number_input(key=k).value for k in ("tr_w1", "tr_w2")] == [50, 100]
    assert at.radio(key="tr_act").value == "sigmoid" and at.selectbox(key="tr_pre").value == "unit"
    assert "Nothing trained yet" in page_text(at) and "at most 3 hidden layers of 256 units, 15 epochs" in page_text(at)
    assert dict(at.query_params) == {}
    assert not at.button(key="tr_start").disabled


def test_one_epoch_draws_the_curves_and_the_model_joins_the_sidebar(app_env):
    x_test, t_test = app_env["test"]
    at, job = train_now(run_page("train"), tr_epochs=1, tr_lr=0.01)
    model = job.models[job.names[0]]
    card = model.card
    # the curves: training loss and accuracy reported during the epoch, validation accuracy at its end
    loss = figure_titled(at, "Loss while training")["data"][0]
    x = array(loss["x"]).astype(float)
    assert x[-1] == 1.0 and np.all(np.diff(x) > 0) and len(x) >= 3  # several reports inside the one epoch, then its end
    # each point is the mean over the batches since the previous one: weighted by their images they give the epoch's mean
    images = np.diff(np.minimum(np.concatenate([[0], x]) * 6 * 100, 550))  # 550 training images in 6 batches of 100
    acc = {tr["name"]: tr for tr in figure_titled(at, "Accuracy while training")["data"]}
    assert np.dot(images, array(loss["y"])) / 550 == pytest.approx(card["history"][0]["loss"], rel=1e-6)
    assert np.dot(images, array(acc["training accuracy"]["y"])) / 550 == pytest.approx(card["history"][0]["train_acc"], rel=1e-6)
    assert array(acc["validation accuracy"]["y"]).tolist() == [card["history"][0]["val_acc"]]
    # the result: test accuracy measured on the synthetic test set, the same as scoring the model independently
    assert card["test_accuracy"] == float(np.mean(model.predict(x_test.reshape(len(x_test), -1)) == t_test))
    text = page_text(at)
    mid = "session:50-100-sigmoid-unit-e1-s0"
    assert f"test accuracy {card['test_accuracy']:.2%}" in text and mid in text
    picker = at.selectbox(key="model_pick")
    assert any(o.startswith("50-100-sigmoid-unit-e1-s0 (trained here): ") for o in picker.options)
    assert model.sizes == [784, 50, 100, 10] and card["training"]["epochs"] == 1 and len(card["history"]) == 1
    # 'Use it on every page' selects it in the sidebar, so every other page shows this model
    at.button(key="tr_use").click().run()
    assert at.selectbox(key="model_pick").value == mid and at.query_params["model"] == mid
    assert at.button(key="tr_start").disabled is False  # the settings unlock once the run ended


def test_a_downloaded_model_uploads_again_in_the_sidebar(app_env):
    at, job = train_now(run_page("train"), tr_epochs=1, tr_w1=20, tr_w2=10)
    model = job.models[job.names[0]]
    data = model_bytes(model)  # exactly what the Download .npz button serves
    assert at.get("download_button")[0].proto.label == "Download .npz"
    at.file_uploader(key="model_upload_file").set_value(("20-10-sigmoid-unit-e1-s0.npz", data, "application/zip")).run()
    assert_no_exception(at)
    assert at.selectbox(key="model_pick").value == "upload:20-10-sigmoid-unit-e1-s0"
    x_test, _ = app_env["test"]
    from ui import models  # the uploaded copy predicts exactly what the trained one does
    uploaded = at.session_state[models._KINDS["upload"]]["20-10-sigmoid-unit-e1-s0"]
    flat = x_test.reshape(len(x_test), -1)
    np.testing.assert_array_equal(uploaded.predict_proba(flat), model.predict_proba(flat))
    assert uploaded.card["history"] == model.card["history"]


def test_stop_keeps_the_best_weights_so_far(app_env):
    at = run_page("train")
    at.segmented_control(key="tr_layers").set_value(3).run()
    for key in ("tr_w1", "tr_w2", "tr_w3"):
        at.number_input(key=key).set_value(256).run()
    at.select_slider(key="tr_bs").set_value(10).run()
    at.slider(key="tr_epochs").set_value(15).run()  # 825 steps of the widest net: seconds, so it is still running below
    at.button(key="tr_start").click().run()
    job = at.session_state[JOB]
    assert job.running and at.button(key="tr_start").disabled
    deadline = time.monotonic() + 60
    while not job.snapshot()["epochs"][job.names[0]] and time.monotonic() < deadline:  # stop after the first epoch
        time.sleep(0.02)
    at.button(key="tr_stop").click().run()  # the fragment's Stop button
    job.thread.join(timeout=60)
    at.run()
    assert_no_exception(at)
    card = job.models[job.names[0]].card
    assert job.state == "stopped" and "stopped by the callback" in card["stopped"] and 1 <= len(card["history"]) < 15
    assert card["val_accuracy"] == max(h["val_acc"] for h in card["history"])  # the best epoch's weights were kept
    assert "Stopped. Kept the best weights so far" in page_text(at)


def test_a_run_waits_for_a_free_slot_and_can_be_cancelled(app_env, monkeypatch):
    from ui import jobs, slots
    monkeypatch.setattr(jobs, "SLOTS", slots.Slots(0, 1))  # a server whose slots are all taken, with room in the line
    at = run_page("train")
    at.button(key="tr_start").click().run()
    assert "Waiting for a free training slot" in page_text(at)
    assert at.button(key="tr_start").disabled  # still disabled while waiting
    job = at.session_state[JOB]
    assert jobs.SLOTS.waiting == 1
    at.button(key="tr_stop").click().run()
    job.thread.join(timeout=10)
    at.run()
    assert job.state == "stopped" and not job.models and not at.button(key="tr_start").disabled
    assert jobs.SLOTS.waiting == 0 and "Stopped before the first epoch: no model was kept." in page_text(at)


@pytest.mark.parametrize("widget, value, words", [
    ("tr_w2", 0, "Every hidden layer needs at least 1 unit; got widths [50, 0]."),
    ("tr_lr", 0.0, "The learning rate must be a positive number; got 0.0."),
    ("tr_lr", -0.5, "The learning rate must be a positive number; got -0.5."),
])
def test_nonsense_settings_get_one_clear_message_and_no_train_button(app_env, widget, value, words):
    at = run_page("train")
    at.number_input(key=widget).set_value(value).run()
    assert [e.value.replace("\\", "") for e in at.error] == [words]  # Markdown escapes, as the user never sees them
    assert at.button(key="tr_start").disabled


def test_a_nan_loss_stops_and_says_where(app_env):
    at, job = train_now(run_page("train"), tr_epochs=3, tr_act="relu", tr_opt="sgd", tr_lr=1e30)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Learning rate too high: the loss became "), errors
    step = int(errors[0].split(" at step ")[1].split(";")[0])
    assert 1 <= step <= 3 * 6  # 550 images in batches of 100: 6 steps per epoch
    assert job.state == "failed" and not job.models and not at.button(key="tr_start").disabled


def test_a_copied_url_reopens_the_settings_and_bad_values_fall_back(app_env):
    at = run_page("train", query={"layers": 1, "w1": 32, "act": "relu", "opt": "sgd", "lr": "0.1", "epochs": 2, "pre": "center",
                                  "bs": 50, "seed": 7})
    assert at.segmented_control(key="tr_layers").value == 1 and at.number_input(key="tr_w1").value == 32
    assert (at.radio(key="tr_act").value, at.radio(key="tr_opt").value, at.number_input(key="tr_lr").value) == ("relu", "sgd", 0.1)
    assert (at.slider(key="tr_epochs").value, at.selectbox(key="tr_pre").value, at.select_slider(key="tr_bs").value) == (2, "center", 50)
    assert at.query_params["w1"] == "32" and "w2" not in at.query_params and at.query_params["seed"] == "7"
    bad = run_page("train", query={"layers": "9", "w1": "0", "lr": "-1", "bs": "7", "epochs": "999", "pre": "pca", "act": "tanh"})
    assert not bad.error
    assert (bad.segmented_control(key="tr_layers").value, bad.number_input(key="tr_w1").value, bad.number_input(key="tr_lr").value,
            bad.select_slider(key="tr_bs").value, bad.slider(key="tr_epochs").value) == (2, 50, 0.001, 100, 5)


def test_stop_before_the_first_epoch_keeps_no_model(app_env):
    """Issue 15: the untrained starting weights are no model; Stop before the first epoch's end keeps nothing."""
    at = run_page("train")
    at.button(key="tr_start").click().run()
    job = at.session_state[JOB]
    at.button(key="tr_stop").click().run()  # at once: the child gets the stop before its first report
    job.thread.join(timeout=60)
    at.run()
    assert_no_exception(at)
    assert job.state == "stopped" and not job.models and not at.session_state["models_session"]
    assert "Stopped before the first epoch: no model was kept." in page_text(at)
    assert not any("(trained here)" in o for o in at.selectbox(key="model_pick").options)
