"""Training in the background per session: a relay thread runs engine.trainproc's child process and writes its progress
into the session's Job under a lock; the page polls job.snapshot() from a fragment. The thread never touches Streamlit.

Why a process and not a thread of the server: see engine/trainproc.py. At most MAX_RUNNING trainings run at once on
a server; later ones wait for a free slot and say so.
"""
import math
import threading
import time
from dataclasses import asdict, replace

import streamlit as st

from engine.errors import EngineError
from engine.trainproc import TrainProcess
from ui import panels
from ui.curves import live_curves
from ui.i18n import t

NICE = 19  # lowest CPU priority: page reruns first, training in the idle cycles (at nice 10 reruns still spiked past 1 s)
MAX_RUNNING = 2  # the machine has 2 cores: a third run in parallel would only slow the others and every page
POLL = 0.5  # seconds between redraws of the progress bar and the speed figures
CHART_EVERY = 2.0  # seconds between redraws of the curves: measured, redraws every 1 s delayed other pages past 1 s
REDRAWS_PER_EPOCH = 20  # progress reports per epoch from the engine (plus one at each epoch's end)
MAX_VAL = 5000  # validation images, as the shipped models; a small subset holds out a twelfth instead


class Slots:
    """A counting semaphore that can also say how many slots are taken (for the "waiting for a free slot" line)."""

    def __init__(self, n):
        self._free, self._lock, self.taken = threading.Semaphore(n), threading.Lock(), 0

    def acquire(self, *, timeout):
        if not self._free.acquire(timeout=timeout):
            return False
        with self._lock:
            self.taken += 1
        return True

    def release(self):
        with self._lock:
            self.taken -= 1
        self._free.release()


@st.cache_resource(show_spinner=False)
def _slots():
    """The server-wide training slots, shared by every session."""
    return Slots(MAX_RUNNING)


def val_size(n):
    """Validation images held out of n training images: 5,000 of 60,000, a twelfth of a small subset."""
    return min(MAX_VAL, max(1, n // 12))


class Job:
    """One background run (one net, or one net per preprocessing choice): live progress, a stop flag, the result."""

    def __init__(self, names, config, *, n_train):
        self.names, self.config, self.n_train = list(names), config, n_train
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._steps = {n: [] for n in self.names}  # per run: (fractional epoch, loss, train accuracy) since the last report
        self._marks = {}  # per run: (epoch, images done, summed loss, correct) at the last report
        self._epochs = {n: [] for n in self.names}  # per run: the engine's end-of-epoch info dicts
        self._latest, self._current = None, self.names[0]
        self.state = "waiting"  # waiting -> preparing -> running -> done | stopped | failed
        self.error, self.models, self.claimed, self.model_id = None, {}, False, None
        self.started, self.ended = time.monotonic(), None
        self.thread = self.child = None

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
                    "elapsed": (self.ended or time.monotonic()) - self.started,
                    "steps": {n: list(v) for n, v in self._steps.items()},
                    "epochs": {n: list(v) for n, v in self._epochs.items()}}

    def finish(self, state, *, error=None, models=None):
        with self._lock:
            self.state, self.error, self.models, self.ended = state, error, models or {}, time.monotonic()


def _work(job, slots, spec):
    """The relay thread: wait for a slot, run the child process, collect its models; always ends in job.finish()."""
    while not slots.acquire(timeout=0.2):
        if job.stop.is_set():
            job.finish("stopped")
            return
    try:
        job.state = "preparing"
        child = TrainProcess(spec, on_info=job.report, nice=NICE)
        job.attach(child)
        models, stopped = child.wait()
        job.finish("stopped" if stopped or job.stop.is_set() else "done", models=models)
    except (OSError, ValueError, EngineError) as e:
        job.finish("failed", error=str(e) if isinstance(e, EngineError) else f"Training could not run ({type(e).__name__}: {e}).")
    finally:
        slots.release()


def launch(data_dir, names, config, *, n_train, comparison=False):
    """A started Job training on the first n_train training images of the MNIST files in data_dir."""
    config = replace(config, val_size=val_size(n_train))
    every = max(1, math.ceil((n_train - config.val_size) / config.batch_size / REDRAWS_PER_EPOCH))
    spec = {"names": list(names), "comparison": comparison, "n_train": n_train, "data_dir": data_dir, "every": every,
            "config": {**asdict(config), "hidden": list(config.hidden)}}
    job = Job(names, config, n_train=n_train)
    job.thread = threading.Thread(target=_work, args=(job, _slots(), spec), name="train-relay", daemon=True)
    job.thread.start()
    return job


def start(key, ds, names, config, *, n_train, comparison=False):
    """Start a Job for this session in st.session_state[key] (see launch) on the Dataset ds."""
    st.session_state[key] = job = launch(ds.folder, names, config, n_train=n_train, comparison=comparison)
    return job


def job_of(key):
    """This session's job under key, or None."""
    return st.session_state.get(key)


def stop(key):
    """Button callback: ask the session's job to stop after the current batch (the best weights so far are kept)."""
    job = job_of(key)
    if job is not None:
        job.request_stop()


def busy():
    """How many training slots of the server are taken right now."""
    return _slots().taken


def speed(snap):
    """{'epoch_seconds', 'images_per_s', 'eta'} of a running job's snapshot (None where not known yet)."""
    latest, ends = snap["latest"], snap["epochs"].get(snap["current"], [])
    if latest is None:
        return {"epoch_seconds": None, "images_per_s": None, "eta": None}
    rate = latest["images_per_s"]
    if len(ends) >= 2:
        per_epoch = ends[-1]["seconds"] - ends[-2]["seconds"]  # wall time of the last epoch, validation included
    elif ends:
        per_epoch = ends[-1]["seconds"]
    else:
        per_epoch = None
    left = 1.0 - snap["fraction"]
    eta = snap["elapsed"] * left / snap["fraction"] if snap["fraction"] > 0.02 else None
    return {"epoch_seconds": per_epoch, "images_per_s": rate, "eta": eta}


def show_live_curves(job, *, charts):
    """Draw a job's live loss and accuracy charts side by side; charts: [(kind 'loss'|'acc', how_to_read, filename, key)], left first."""
    text = {k: t(f"train.curve_{k}") for k in ("loss_title", "acc_title", "x_title", "loss_y", "acc_y", "train_loss", "train_acc",
                                                 "val_acc")}
    figs = dict(zip(("loss", "acc"), live_curves(job.snapshot(), names=job.names, epochs=job.config.epochs, text=text), strict=True))
    for column, (kind, how_to_read, filename, key) in zip(st.columns(2), charts, strict=True):
        with column:
            panels.chart(figs[kind], how_to_read=how_to_read, filename=filename, key=key)
