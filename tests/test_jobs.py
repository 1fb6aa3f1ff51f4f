"""The server's training guard (ui/jobs.py) through the pages: the 2-run cap survives a client's clear_cache, the queue is
bounded and says so, waiting tabs poll slowly, a run stops at its time limit or when its tab is gone, no empty charts.

The engine child is replaced by PausedProcess: the real engine.train in a thread, paused at a chosen point until stopped,
so a test decides how long a run lasts and what it had finished when it was stopped.
"""
import threading
import time

import pytest
import streamlit as st

from engine.data import load_raw
from engine.train import TrainConfig, train
from tests import apptest_helpers
from tests.apptest_helpers import figure_titled, page_text, plotly_figures, run_page

app_env = apptest_helpers.app_env  # fixture this module uses
JOB = "train_job"
MAX_RUNNING = 2  # ui/jobs.py: the cap this machine's 2 cores allow
MAX_WAITING = 4  # ui/jobs.py: the bound of the queue


class PausedProcess:
    """Stands in for engine.trainproc.TrainProcess: trains a tiny net on the spec's data and pauses until stop().

    PAUSE_AT None pauses before any report, 0 after the first batch's report, k after epoch k's end.
    """
    PAUSE_AT = None
    made = []

    def __init__(self, spec, *, on_info, nice):
        self.spec, self.on_info, self.stopped = spec, on_info, threading.Event()
        PausedProcess.made.append(self)

    def stop(self):
        self.stopped.set()

    def _pause(self):
        self.stopped.wait(20)  # long enough for any test; never forever, should the code under test not stop it

    def wait(self):
        if self.PAUSE_AT is None:
            self._pause()
            return {}, True
        name, raw = self.spec["names"][0], load_raw(self.spec["data_dir"])
        x, t = raw["train_img"][:self.spec["n_train"]].reshape(-1, 784), raw["train_label"][:self.spec["n_train"]]

        def relay(info):
            self.on_info(name, info)
            if (info["phase"] == "step" and self.PAUSE_AT == 0) or (info["phase"] == "epoch" and info["epoch"] == self.PAUSE_AT):
                self._pause()
                return False
            return True

        config = TrainConfig(hidden=(8,), epochs=self.PAUSE_AT + 1, val_size=self.spec["config"]["val_size"])
        model = train(x, t, config=config, callback=relay, every=1)
        model.card["test_accuracy"] = model.score(raw["test_img"].reshape(-1, 784), raw["test_label"])
        return {name: model}, True


@pytest.fixture
def paused(app_env, monkeypatch):
    """Every training in this test runs as a PausedProcess; all are stopped and their relay threads ended afterwards."""
    from ui import jobs
    monkeypatch.setattr(jobs, "TrainProcess", PausedProcess)
    monkeypatch.setattr(PausedProcess, "made", [])
    launched = []
    yield launched
    for p in PausedProcess.made:
        p.stop()
    for job in launched:
        job.request_stop()
    for job in launched:
        for thread in (job.thread, getattr(job, "watchdog", None)):
            if thread is not None:  # a refused run has none
                thread.join(timeout=30)
                assert not thread.is_alive()
    deadline = time.monotonic() + 10
    while jobs.busy() and time.monotonic() < deadline:  # the last relay threads release their slots
        time.sleep(0.05)
    assert jobs.busy() == 0


def until(check, *, timeout=15.0):
    """Wait until check() is true (polling); returns its last value."""
    deadline = time.monotonic() + timeout
    while not (ok := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return ok


def press_train(launched, *, at=None):
    """A tab of the training page that pressed Train; its job joins launched (so the fixture ends it)."""
    at = at or run_page("train")
    at.button(key="tr_start").click().run()
    launched.append(at.session_state[JOB])
    return at, at.session_state[JOB]


def fill(launched, app_env_folder, n):
    """n jobs started outside any page (the other visitors of the server)."""
    from ui import jobs
    for _ in range(n):
        launched.append(jobs.launch(str(app_env_folder), ["other"], TrainConfig(), n_train=600))


def test_clearing_the_caches_keeps_the_cap_of_two_trainings(paused):
    """Issue 13 row 3: a client's clear_cache message (st.cache_resource.clear()) must not reset the server's slots."""
    first = [press_train(paused)[1] for _ in range(MAX_RUNNING)]
    assert until(lambda: all(j.state == "preparing" for j in first))  # both hold a slot
    st.cache_resource.clear()  # what Streamlit does for any client's clear_cache message
    at, job = press_train(paused)
    time.sleep(0.5)  # time enough for the relay thread to take a slot, were one free
    at.run()
    assert job.state == "waiting"
    assert f"Waiting for a free training slot: {MAX_RUNNING} of {MAX_RUNNING} are in use" in page_text(at)


def test_the_queue_is_bounded_and_a_full_server_says_so(paused, synth_mnist):
    """Issue 13 row 9: past MAX_WAITING waiting runs nothing is queued; the visitor reads why and what to do."""
    from ui import jobs
    fill(paused, synth_mnist[0], MAX_RUNNING + MAX_WAITING)
    assert until(lambda: sum(j.state == "preparing" for j in paused) == MAX_RUNNING)
    threads = threading.active_count()
    at, job = press_train(paused)
    assert (f"The server is busy: {MAX_RUNNING} trainings are running and {MAX_WAITING} are waiting. "
            "Try again in a minute.") in page_text(at)
    assert not job.running and not job.models and threading.active_count() == threads  # no relay thread, no queue place
    assert (jobs.busy(), sum(j.state == "waiting" for j in paused)) == (MAX_RUNNING, MAX_WAITING)
    assert not at.button(key="tr_start").disabled  # free to try again
    for other in paused[:-1]:  # the server empties: the next press is accepted
        other.request_stop()
    assert until(lambda: not any(j.running for j in paused[:-1]), timeout=30)
    at2, job2 = press_train(paused, at=at)
    assert job2.running and "The server is busy" not in page_text(at2)


def test_the_comparison_tab_is_refused_on_a_full_server_too(paused, synth_mnist):
    fill(paused, synth_mnist[0], MAX_RUNNING + MAX_WAITING)
    at = run_page("preprocess", query={"tab": "compare"})
    at.button(key="pp_start").click().run()
    paused.append(job := at.session_state["prep_job"])
    assert not job.running
    assert f"The server is busy: {MAX_RUNNING} trainings are running and {MAX_WAITING} are waiting." in page_text(at)


@pytest.fixture
def paces(monkeypatch):
    """{fragment function name: run_every} as the pages declare them (st.fragment is wrapped to record it)."""
    seen, real = {}, st.fragment

    def spy(func=None, *, run_every=None, **kw):
        def deco(f):
            seen[f.__name__] = run_every
            return real(f, run_every=run_every, **kw)
        return deco(func) if func is not None else deco

    monkeypatch.setattr(st, "fragment", spy)
    return seen


def test_a_waiting_tab_polls_slowly_and_a_running_one_quickly(paused, synth_mnist, paces):
    """Issue 13 row 9: queued tabs redrew every 0.5 s and slowed every other page; now every 3 s or more."""
    fill(paused, synth_mnist[0], MAX_RUNNING)
    assert until(lambda: all(j.state == "preparing" for j in paused))
    at, job = press_train(paused)
    assert job.state == "waiting"
    assert paces["progress"] >= 3 and (paces["curves"] is None or paces["curves"] >= 3), paces
    PausedProcess.made[0].stop()  # a slot comes free
    assert until(lambda: job.state == "preparing")
    at.run()
    assert paces["progress"] <= 1 and paces["curves"] <= 3, paces  # running: the progress moves twice a second


def test_a_run_stops_when_its_tab_is_gone(paused, monkeypatch, synth_mnist):
    """Issue 13 row 9: a closed tab's run stops (after a short grace for reconnects) and frees its slot."""
    from ui import jobs
    gone = set()
    monkeypatch.setattr(jobs, "session_alive", lambda sid: sid not in gone, raising=False)
    monkeypatch.setattr(jobs, "GRACE", 0.5, raising=False)
    monkeypatch.setattr(jobs, "WATCH_EVERY", 0.05, raising=False)
    _, mine = press_train(paused)
    paused.append(other := jobs.launch(str(synth_mnist[0]), ["other"], TrainConfig(), n_train=600, session="another tab"))
    assert until(lambda: mine.state == other.state == "preparing")
    assert getattr(mine, "session", None) == "test session id"  # the page's session (AppTest gives every test this one)
    gone.add(mine.session)  # the tab closed: Streamlit no longer lists its session as active
    assert until(lambda: not mine.running, timeout=10)
    assert mine.state == "stopped" and PausedProcess.made[0].stopped.is_set()
    assert other.running and not PausedProcess.made[1].stopped.is_set()  # another tab's run goes on
    assert until(lambda: jobs.busy() == 1)


def test_a_short_disconnect_within_the_grace_keeps_the_run(paused, monkeypatch):
    from ui import jobs
    away = threading.Event()
    monkeypatch.setattr(jobs, "session_alive", lambda sid: not away.is_set(), raising=False)
    monkeypatch.setattr(jobs, "WATCH_EVERY", 0.05, raising=False)
    monkeypatch.setattr(jobs, "GRACE", 1.5, raising=False)
    _, job = press_train(paused)
    assert until(lambda: job.state == "preparing")
    away.set()
    time.sleep(0.5)  # a reload or a network blip: the tab reconnects within the grace
    away.clear()
    time.sleep(1.5)
    assert job.running and not PausedProcess.made[0].stopped.is_set()


def test_the_time_limit_stops_the_run_and_keeps_the_best_weights(paused, monkeypatch):
    """Issue 13 row 9: each run has a wall-clock limit; at it the engine stops as with Stop and the best epoch is kept."""
    from ui import jobs
    monkeypatch.setattr(PausedProcess, "PAUSE_AT", 1)
    monkeypatch.setattr(jobs, "MAX_RUN_SECONDS", 1.0, raising=False)
    monkeypatch.setattr(jobs, "WATCH_EVERY", 0.05, raising=False)
    at, job = press_train(paused)
    job.thread.join(timeout=30)
    assert job.state == "stopped" and PausedProcess.made[0].stopped.is_set()
    at.run()
    model = job.models[job.names[0]]
    assert model.card["best_epoch"] == 1
    assert "Stopped at the time limit of" in page_text(at) and "Kept the best weights so far" in page_text(at)
    assert at.session_state["models_session"]  # a usable model in the sidebar's list


def test_the_time_limit_before_the_first_epoch_keeps_no_model(paused, monkeypatch):
    from ui import jobs
    monkeypatch.setattr(PausedProcess, "PAUSE_AT", 0)
    monkeypatch.setattr(jobs, "MAX_RUN_SECONDS", 1.0, raising=False)
    monkeypatch.setattr(jobs, "WATCH_EVERY", 0.05, raising=False)
    at, job = press_train(paused)
    job.thread.join(timeout=30)
    at.run()
    assert job.state == "stopped" and not job.models and not at.session_state["models_session"]
    assert "before the first epoch ended: no model was kept" in page_text(at)


def test_the_form_states_the_time_limit_and_offers_only_runs_that_fit(app_env):
    at = run_page("train", query={"w1": 512, "epochs": 30})
    limit = "10 minutes"
    assert limit in at.button(key="tr_start").help and limit in page_text(at)
    # the largest offered run, measured on real MNIST (see pages/train.py), fits the limit; wider or longer is not offered
    assert at.number_input(key="tr_w1").value == 50 and at.number_input(key="tr_w1").max == 256
    assert at.slider(key="tr_epochs").value == 5 and at.slider(key="tr_epochs").max == 15


def test_while_preparing_a_placeholder_stands_where_the_curves_go(paused):
    """Issue 15: empty axes read accuracy -100 %...400 % and loss 0.1...10k; until the first report, a sentence instead."""
    at, job = press_train(paused)
    assert job.running
    at.run()
    assert not [f for f in plotly_figures(at) if "while training" in f["layout"].get("title", {}).get("text", "")]
    assert "The curves appear here once the first batches are trained." in page_text(at)


def test_once_a_batch_is_reported_the_curves_replace_the_placeholder(paused, monkeypatch):
    monkeypatch.setattr(PausedProcess, "PAUSE_AT", 0)
    at, job = press_train(paused)
    assert until(lambda: job.snapshot()["latest"] is not None)
    at.run()
    assert len(figure_titled(at, "Loss while training")["data"][0]["x"]) == 1
    assert "The curves appear here" not in page_text(at)
