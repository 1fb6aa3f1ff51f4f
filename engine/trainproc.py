"""Training in a child process, `python -m engine train-job` (engine/cli/train_job.py): start, relay, stop, collect.

A web server that trains in one of its own threads holds the GIL so often that every other visitor waits
(benchmarks/bench_train_pages.py: the dataset browser's rerun took 2.1x as long); a child process at a lower CPU
priority with one BLAS thread leaves the server's Python to the pages, which only read its progress lines.
"""
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import debris
from .errors import TrainingError
from .modelfile import load_model

ROOT = Path(__file__).resolve().parents[1]  # `python -m engine` runs from the repository root


class TrainProcess:
    """One `train-job` child: spec (see the command) in; on_info(name, info) for each progress report; wait() for the models."""

    def __init__(self, spec, *, on_info, nice=19):
        self.on_info = on_info
        debris.sweep()  # the folders of earlier runs whose server was killed
        try:  # spec, stderr and the saved models, in the cache's tmp folder; removed by wait(), or swept if we are killed
            self.folder = debris.make_dir("train")
        except OSError as e:
            raise TrainingError(f"Cannot create a training folder in {debris.tmp_dir()} ({e.strerror}): "
                                "point MNIST_EXPLORER_CACHE at a writable folder.") from None
        try:
            (self.folder / "spec.json").write_text(json.dumps({**spec, "out_dir": str(self.folder)}), encoding="utf-8")
            env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # batch matmuls gain nothing from threads
            with open(self.folder / "stderr.txt", "w", encoding="utf-8") as err:  # the child holds its own copy
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "engine", "train-job", str(self.folder / "spec.json"), "--nice", str(nice)],
                    cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        except BaseException:  # no child to write here: nothing may stay behind
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        with contextlib.suppress(OSError):  # the child writes here too, and outlives a killed server by a batch
            debris.add_owner(self.folder, self.proc.pid)

    def stop(self):
        """Ask the child to stop after its current batch; it saves the best weights so far. Harmless once it has ended."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("stop\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):  # it ended meanwhile: nothing left to stop
                pass

    def wait(self):
        """Relay every progress line, then return ({name: MLP}, stopped); a failure raises TrainingError (one sentence)."""
        paths, error, stopped = {}, None, False
        try:
            for line in self.proc.stdout:
                msg = json.loads(line)
                if msg["event"] == "info":
                    self.on_info(msg["name"], msg["info"])
                elif msg["event"] == "model":
                    paths[msg["name"]] = msg["path"]
                elif msg["event"] == "error":
                    error = msg["message"]
                elif msg["event"] == "done":
                    stopped = msg["stopped"]
            code = self.proc.wait()
            self.proc.stdin.close()
            if error is None and code != 0:
                lines = (self.folder / "stderr.txt").read_text(encoding="utf-8", errors="replace").strip().splitlines()
                error = f"The training process ended unexpectedly (exit code {code}): {(lines or ['no message'])[-1]}"
            if error is not None:
                raise TrainingError(error)
            return {name: load_model(path) for name, path in paths.items()}, stopped
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
