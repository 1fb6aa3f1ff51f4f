"""engine.trainproc.TrainProcess against a stand-in child: the command and environment it starts, the lines it relays,
how it stops, the one-sentence errors, and the folder it always removes. (tests/test_faults.py runs the real child.)"""
import errno
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine import debris
from engine import trainproc as module
from engine.errors import TrainingError
from engine.model import MLP
from engine.modelfile import save_model
from engine.trainproc import ROOT, TrainProcess

# The stand-in child: prints the spec's "lines" (JSON objects), optionally after a "stop" line on stdin; writes the
# spec's "stderr" (lone surrogates become the raw bytes they stand for) and exits with its "code". Plain Python: it
# starts in a few tens of milliseconds.
CHILD = r"""
import json, select, sys
spec = json.load(open(sys.argv[1], encoding="utf-8"))
if spec.get("wait_for_stop"):  # at most 10 s, so that a missing stop fails the test instead of hanging it
    got = sys.stdin.readline().strip() if select.select([sys.stdin], [], [], 10)[0] else "nothing"
    print(json.dumps({"event": "done", "stopped": got == "stop"}), flush=True)
for line in spec.get("lines", []):
    print(json.dumps(line), flush=True)
sys.stderr.buffer.write(spec.get("stderr", "").encode("utf-8", "surrogateescape"))
sys.exit(spec.get("code", 0))
"""


@pytest.fixture
def started(monkeypatch, fresh_cache):
    """Every Popen call TrainProcess makes: (its arguments, the spec it was given), the stand-in child run instead."""
    calls = []
    real = subprocess.Popen

    def popen(cmd, **kwargs):
        calls.append({"cmd": cmd, "kwargs": kwargs, "spec": json.loads(open(cmd[4], encoding="utf-8").read())})
        return real([sys.executable, "-c", CHILD, cmd[4]], **kwargs)

    monkeypatch.setattr(module.subprocess, "Popen", popen)
    return calls


def a_model(path, bias):
    """Save a tiny model whose b1 is full of bias, and return its path as a string."""
    save_model(MLP({"W1": np.zeros((784, 10), np.float32), "b1": np.full(10, bias, np.float32)}), path)
    return str(path)


def tmp_items():
    return sorted(p.name for p in debris.tmp_dir().iterdir()) if debris.tmp_dir().exists() else []


def test_the_child_gets_the_spec_its_folder_one_blas_thread_and_the_nice_level(started, monkeypatch):
    monkeypatch.setenv("SOME_SETTING", "kept")
    job = TrainProcess({"names": ["unit"], "config": {"epochs": 2}}, on_info=print, nice=7)
    call = started[0]
    folder = job.folder
    assert folder.parent == debris.tmp_dir() and folder.is_dir() and folder.name.startswith(f"{os.getpid()}.train.")
    assert call["cmd"] == [sys.executable, "-m", "engine", "train-job", str(folder / "spec.json"), "--nice", "7"]
    assert call["spec"] == {"names": ["unit"], "config": {"epochs": 2}, "out_dir": str(folder)}
    kw = call["kwargs"]
    assert kw["cwd"] == ROOT and (ROOT / "engine" / "__main__.py").is_file()
    assert kw["env"]["OPENBLAS_NUM_THREADS"] == "1" and kw["env"]["OMP_NUM_THREADS"] == "1" and kw["env"]["SOME_SETTING"] == "kept"
    assert kw["stdin"] == subprocess.PIPE and kw["stdout"] == subprocess.PIPE and kw["text"] is True and kw["bufsize"] == 1
    assert kw["stderr"].name == str(folder / "stderr.txt")
    assert (folder / "owners").read_text(encoding="utf-8") == f"{job.proc.pid}\n"  # kept through sweeps while the child lives
    assert job.wait() == ({}, False)
    assert not folder.exists()
    TrainProcess({}, on_info=print).wait()
    assert started[1]["cmd"][-2:] == ["--nice", "19"]  # the lowest priority unless told otherwise


def test_wait_relays_every_info_in_order_and_loads_every_model(started, tmp_path):
    infos = []
    lines = [{"event": "info", "name": "unit", "info": {"epoch": 1}}, {"event": "info", "name": "unit", "info": {"epoch": 2}},
             {"event": "model", "name": "unit", "path": a_model(tmp_path / "a.npz", 1.0)},
             {"event": "info", "name": "center", "info": {"epoch": 1}},
             {"event": "model", "name": "center", "path": a_model(tmp_path / "b.npz", 2.0)},
             {"event": "done", "stopped": False}]
    job = TrainProcess({"lines": lines}, on_info=lambda name, info: infos.append((name, info)))
    models, stopped = job.wait()
    assert infos == [("unit", {"epoch": 1}), ("unit", {"epoch": 2}), ("center", {"epoch": 1})]
    assert list(models) == ["unit", "center"] and stopped is False
    assert models["unit"].params["b1"][0] == 1.0 and models["center"].params["b1"][0] == 2.0
    assert tmp_items() == [] and job.proc.stdin.closed


def test_stop_asks_the_child_to_stop_and_wait_says_it_stopped(started):
    job = TrainProcess({"wait_for_stop": True}, on_info=print)
    job.stop()
    assert job.wait() == ({}, True)
    job.stop()  # once the child has ended: nothing to do, no error


def test_stop_on_a_closed_pipe_is_harmless(started):
    job = TrainProcess({"wait_for_stop": True}, on_info=print)
    job.proc.stdin.close()  # as if the pipe went away: the child reads the end of its input
    job.stop()
    assert job.wait() == ({}, False)


def test_an_error_line_becomes_one_training_error_and_the_folder_goes(started):
    job = TrainProcess({"lines": [{"event": "error", "message": "The data folder is empty."}], "code": 1,
                        "stderr": "Traceback: noise\n"}, on_info=print)
    with pytest.raises(TrainingError) as e:
        job.wait()
    assert str(e.value) == "The data folder is empty." and not job.folder.exists()


@pytest.mark.parametrize("stderr, last", [("first line\nSegmentation fault\n\n", "Segmentation fault"), ("", "no message"),
                                          ("Fehler: \udcff\udcfe kaputt\n", "Fehler: \ufffd\ufffd kaputt")])  # bytes not UTF-8
def test_a_child_that_dies_without_a_word_is_reported_with_its_code_and_last_stderr_line(started, stderr, last):
    job = TrainProcess({"lines": [{"event": "info", "name": "unit", "info": {}}], "code": 3, "stderr": stderr}, on_info=print)
    with pytest.raises(TrainingError) as e:
        job.wait()
    assert str(e.value) == f"The training process ended unexpectedly (exit code 3): {last}"
    assert not job.folder.exists()


def test_a_folder_that_cannot_be_made_is_one_sentence_naming_the_cache(started, monkeypatch):
    def refuse(label):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(debris, "make_dir", refuse)
    with pytest.raises(TrainingError) as e:
        TrainProcess({}, on_info=print)
    assert str(e.value) == (f"Cannot create a training folder in {debris.tmp_dir()} (Permission denied): "
                            "point MNIST_EXPLORER_CACHE at a writable folder.")
    assert e.value.__cause__ is None and e.value.__suppress_context__ and started == []


def test_a_child_that_cannot_start_leaves_no_folder(monkeypatch, fresh_cache):
    def fail(cmd, **kwargs):
        raise OSError(errno.ENOENT, "No such file")

    monkeypatch.setattr(module.subprocess, "Popen", fail)
    with pytest.raises(OSError):
        TrainProcess({}, on_info=print)
    assert tmp_items() == []


def test_starting_sweeps_the_folders_of_dead_servers(started):
    dead = debris.tmp_dir() / "4194305.train.0123456789ab"  # above Linux's largest pid: its owner is gone
    dead.mkdir(parents=True)
    job = TrainProcess({}, on_info=print)
    assert not dead.exists() and job.folder.exists()
    job.wait()


def test_an_owners_file_that_cannot_be_written_does_not_stop_the_run(started, monkeypatch):
    def full(folder, pid):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(debris, "add_owner", full)
    job = TrainProcess({"lines": [{"event": "done", "stopped": False}]}, on_info=print)
    assert job.wait() == ({}, False) and not job.folder.exists()


def test_a_folder_removed_meanwhile_does_not_turn_a_finished_run_into_an_error(started):
    import shutil
    job = TrainProcess({"lines": [{"event": "info", "name": "unit", "info": {}}, {"event": "done", "stopped": False}]},
                       on_info=lambda name, info: shutil.rmtree(job.folder))  # say, a cache cleared by hand
    assert job.wait() == ({}, False)
