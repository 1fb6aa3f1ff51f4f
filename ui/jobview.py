"""What a page shows of a training job (ui/jobs.py): redraw paces, speed figures, live curves and why a run ended empty."""
import streamlit as st

from ui import jobs, panels
from ui.curves import live_curves
from ui.i18n import t

POLL = 0.5  # seconds between redraws of the progress bar and the speed figures while running
WAIT_POLL = 4.0  # the same while waiting for a slot: a queue of tabs polling every 0.5 s slowed every other page
CHART_EVERY = 2.0  # seconds between redraws of the curves: measured, redraws every 1 s delayed other pages past 1 s


def minutes():
    """MAX_RUN_SECONDS in minutes, as the pages say it."""
    return f"{jobs.MAX_RUN_SECONDS / 60:g}"  # read at call time: tests and benchmarks change it


def busy_message(job):
    """Why a refused job did not start, and what to do."""
    running, waiting = job.busy
    return t("train.busy", running=running, waiting=waiting)


def stopped_empty(job):
    """Why a stopped job kept no model: it stopped before its first epoch ended (by Stop, the clock or a closed tab)."""
    return t("train.time_limit_empty", minutes=minutes()) if job.reason == "time" else t("train.stopped_empty")


def poll_every(job):
    """Seconds between redraws of a job's progress: quick while it runs, slow while it waits, None once it ended."""
    if job is None or not job.running:
        return None
    return WAIT_POLL if job.state == "waiting" else POLL


def chart_every(job):
    """Seconds between redraws of a job's curves: None while it waits (nothing to draw) and once it ended."""
    return CHART_EVERY if job is not None and job.running and job.state != "waiting" else None


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
    snap = job.snapshot()
    if not any(snap["steps"].values()):  # no batch reported yet: empty axes would read accuracy -100 %...400 %
        if job.running:
            st.info(t("train.curves_waiting"), icon="⏳")
        return
    text = {k: t(f"train.curve_{k}") for k in ("loss_title", "acc_title", "x_title", "loss_y", "acc_y", "train_loss", "train_acc",
                                                 "val_acc")}
    figs = dict(zip(("loss", "acc"), live_curves(snap, names=job.names, epochs=job.config.epochs, text=text), strict=True))
    for column, (kind, how_to_read, filename, key) in zip(st.columns(2), charts, strict=True):
        with column:
            panels.chart(figs[kind], how_to_read=how_to_read, filename=filename, key=key)
