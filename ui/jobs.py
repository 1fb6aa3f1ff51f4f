"""Training in the background per session: a relay thread runs engine.trainproc's child process and writes its progress
into the session's Job under a lock; the page polls job.snapshot() from a fragment. The threads never call st.*.

Why a process and not a thread of the server: see engine/trainproc.py. At most MAX_RUNNING trainings run at once on
a server and at most MAX_WAITING more wait for a slot; past that a run is refused and says so. A watchdog thread per
job stops it at MAX_RUN_SECONDS and when its tab has been gone for GRACE seconds: nobody trains for nobody.
"""
import math
import threading
import time
from dataclasses import asdict, replace

import streamlit as st

from engine.compare import run_name
from engine.errors import EngineError
from engine.trainproc import TrainProcess
from ui.slots import SLOTS, session_alive, this_session

NICE = 19  # lowest CPU priority: page reruns first, training in the idle cycles (at nice 10 reruns still spiked past 1 s)
MAX_RUN_SECONDS = 10 * 60  # wall-clock limit of one run (a comparison is one run): pages/train.py's largest fits it
GRACE = 30.0  # seconds a run's tab may be disconnected before the run stops: a reload or a network blip comes back sooner
WATCH_EVERY = 1.0  # seconds between the watchdog's looks at the clock and the tab
KILL_AFTER = 60.0  # seconds a stopped child may take to save and end before it is killed
REDRAWS_PER_EPOCH = 20  # progress reports per epoch from the engine (plus one at each epoch's end)
MAX_VAL = 5000  # validation images, as the shipped models; a small subset holds out a twelfth instead


def val_size(n):
    """Validation images held out of n training images: 5,000 of 60,000, a twelfth of a small subset."""
    return min(MAX_VAL, max(1, n // 12))


class Job:
    """One background run (one net, or one net per preprocessing choice): live progress, a stop flag, the result."""

    def __init__(self, names, config, *, n_train, session=None):
        self.names, self.config, self.n_train, self.session = list(names), config, n_train, session
        self.stop, self.ended = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._steps = {n: [] for n in self.names}  # per run: (fractional epoch, loss, train accuracy) since the last report
        self._marks = {}  # per run: (epoch, images done, summed loss, correct) at the last report
        self._epochs = {n: [] for n in self.names}  # per run: the engine's end-of-epoch info dicts
        self._latest, self._current = None, self.names[0]
        self.state = "waiting"  # waiting -> preparing -> running -> done | stopped | failed; or refused at once
        self.error, self.models, self.claimed, self.model_id = None, {}, False, None
        self.reason = self.busy = None  # why it stopped: "user" | "time" | "session"; (running, waiting) when refused
        self.started, self.began, self.finished = time.monotonic(), None, None  # created, got its slot, ended
        self.thread = self.watchdog = self.child = None

    @property
    def running(self):
        return self.state in ("waiting", "preparing", "running")

    def report(self, name, info):
        """Record one engine progress report (see engine.train.train's callback) of run name.

        The engine reports running means since the epoch began; the curve gets the mean over the batches since the
        previous report instead, so it does not jump back at every epoch's start.
        """
        step = info["step"] - (info["epoch"] - 1) * info["steps"]  # batches done in this epoch
        done = min(step * self.config.batch_size, self.n_train - self.config.val_size)  # images done in this epoch
        with self._lock:
            self.state, self._current, self._latest = "running", name, dict(info)
            if info["phase"] == "epoch":
                self._epochs[name].append(dict(info))
            epoch, done0, loss0, hits0 = self._marks.get(name) or (info["epoch"], 0, 0.0, 0.0)
            if epoch != info["epoch"]:
                done0, loss0, hits0 = 0, 0.0, 0.0
            if done > done0:  # the epoch's end repeats its last batch's report: nothing new then
                loss, hits = info["loss"] * done, info["train_acc"] * done
                self._steps[name].append((info["epoch"] - 1 + step / info["steps"], (loss - loss0) / (done - done0),
                                          (hits - hits0) / (done - done0)))
                self._marks[name] = (info["epoch"], done, loss, hits)

    def attach(self, child):
        """Remember the training process (engine.trainproc.TrainProcess); a Stop pressed before it started is passed on now."""
        with self._lock:
            self.child = child
        if self.stop.is_set():
            child.stop()

    def begin(self):
        """The run got its slot: its time limit counts from now."""
        with self._lock:
            self.state, self.began = "preparing", time.monotonic()

    def halt(self, reason):
        """Stop for reason ("user", "time" or "session"; the first one given is kept), as request_stop."""
        with self._lock:
            self.reason = self.reason or reason
        self.request_stop()

    def kill(self):
        """End a child that did not stop when asked (its weights are lost; the relay reports the failure)."""
        with self._lock:
            proc = getattr(self.child, "proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def request_stop(self):
        """Stop after the current batch: the process saves the best weights so far and ends."""
        self.stop.set()
        with self._lock:
            child = self.child
        if child is not None:
            child.stop()

    def snapshot(self):
        """A consistent copy of the progress for drawing: state, current run, fraction done, latest info, curves."""
        with self._lock:
            latest = dict(self._latest) if self._latest else None
            done_runs = self.names.index(self._current)
            within = latest["step"] / (latest["steps"] * latest["epochs"]) if latest and self.state == "running" else 0.0
            return {"state": self.state, "current": self._current, "latest": latest, "error": self.error,
                    "fraction": 1.0 if not self.running else (done_runs + within) / len(self.names),
                    "elapsed": (self.finished or time.monotonic()) - self.started,
                    "steps": {n: list(v) for n, v in self._steps.items()},
                    "epochs": {n: list(v) for n, v in self._epochs.items()}}

    def finish(self, state, *, error=None, models=None, busy=None):
        with self._lock:
            self.state, self.error, self.models, self.busy = state, error, models or {}, busy
            self.finished = time.monotonic()
        self.ended.set()


def _work(job, spec):
    """The relay thread: wait for a slot, run the child process, collect its models; always ends in job.finish()."""
    while not SLOTS.acquire(timeout=0.2):
        if job.stop.is_set():
            SLOTS.leave()
            job.finish("stopped")
            return
    try:
        if job.stop.is_set():  # stopped (or its tab gone) just as a slot came free: start no child for nobody
            job.finish("stopped")
            return
        job.begin()
        child = TrainProcess(spec, on_info=job.report, nice=NICE)
        job.attach(child)
        models, stopped = child.wait()
        kept = {n: m for n, m in models.items() if m.card.get("best_epoch")}  # best epoch 0: the untrained starting weights
        job.finish("stopped" if stopped or job.stop.is_set() else "done", models=kept)
    except (OSError, ValueError, EngineError) as e:
        job.finish("failed", error=str(e) if isinstance(e, EngineError) else f"Training could not run ({type(e).__name__}: {e}).")
    finally:
        SLOTS.release()


def _watch(job):
    """The watchdog thread: stop the run at MAX_RUN_SECONDS after it got its slot, or once its tab was gone GRACE seconds."""
    gone = asked = None
    while not job.ended.wait(WATCH_EVERY):
        now = time.monotonic()
        gone = (gone or now) if job.session is not None and not session_alive(job.session) else None
        if gone is not None and now - gone >= GRACE:
            job.halt("session")
        elif job.began is not None and now - job.began >= MAX_RUN_SECONDS:
            job.halt("time")
        asked = (asked or now) if job.stop.is_set() else None
        if asked is not None and now - asked >= KILL_AFTER:
            job.kill()


def launch(data_dir, names, config, *, n_train, comparison=False, seeds=None, session=None):
    """A started Job training on the first n_train training images of the MNIST files in data_dir, owned by session
    (None: by nobody, so no tab can end it). On a full server the Job is refused at once: state "refused", job.busy.
    seeds (a comparison only): train every kind once per seed, seed by seed; the runs are named kind@seed."""
    config = replace(config, val_size=val_size(n_train))
    every = max(1, math.ceil((n_train - config.val_size) / config.batch_size / REDRAWS_PER_EPOCH))
    spec = {"names": list(names), "comparison": comparison, "n_train": n_train, "data_dir": data_dir, "every": every,
            "config": {**asdict(config), "hidden": list(config.hidden)}, **({"seeds": list(seeds)} if seeds else {})}
    runs = [run_name(k, s) for s in seeds for k in names] if seeds else names
    job = Job(runs, config, n_train=n_train, session=session)
    if not SLOTS.enter():
        job.finish("refused", busy=(SLOTS.taken, SLOTS.waiting))
        return job
    job.thread = threading.Thread(target=_work, args=(job, spec), name="train-relay", daemon=True)
    job.watchdog = threading.Thread(target=_watch, args=(job,), name="train-watchdog", daemon=True)
    job.thread.start()
    job.watchdog.start()
    return job


def start(key, ds, names, config, *, n_train, comparison=False, seeds=None):
    """Start a Job for this session in st.session_state[key] (see launch) on the Dataset ds."""
    st.session_state[key] = job = launch(ds.folder, names, config, n_train=n_train, comparison=comparison, seeds=seeds,
                                         session=this_session())
    return job


def job_of(key):
    """This session's job under key, or None."""
    return st.session_state.get(key)


def stop(key):
    """Button callback: ask the session's job to stop after the current batch (the best weights so far are kept)."""
    job = job_of(key)
    if job is not None:
        job.halt("user")


def busy():
    """How many training slots of the server are taken right now."""
    return SLOTS.taken
