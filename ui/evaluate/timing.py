"""Runtime against batch size for the evaluation page: engine.timing with a progress callback, kept per model and machine.

A measurement takes seconds, so it runs only when asked (the Measure button) and is stored as JSON in the user
cache under the model's fingerprint and a digest of this machine (host, CPU, cores, NumPy, BLAS): a restart, or
another visitor, sees it again, and a different machine or a changed model never does.
"""
import hashlib
import json
import os
import threading

from engine import timing
from engine.paths import cache_dir
from ui import threads

BOOK_IMAGES = 1000  # images for the seed's one-at-a-time loop: enough for a stable rate, about 50 ms
_LOCK = threading.Lock()  # one measurement at a time: two at once would each measure the other's load


def blas_threads():
    """The BLAS threads in force in this server process (ui/threads.py's policy): it changes the curve a lot on a busy machine."""
    return threads.current() or "auto"


def machine():
    """This machine's description (host, CPU, cores, NumPy, BLAS and its thread setting), without the time stamp."""
    return {**{k: v for k, v in timing.machine_info().items() if k != "measured_at"}, "blas_threads": blas_threads()}


def machine_key(info=None):
    """A 12-hex digest of the machine description: results from another machine or NumPy build are not reused."""
    info = machine() if info is None else info
    return hashlib.sha1(json.dumps(info, sort_keys=True).encode()).hexdigest()[:12]


def _path(model_fp, mkey):
    return cache_dir() / "timing" / f"{model_fp}-{mkey}.json"


def stored(model_fp, mkey):
    """The last measurement of this model on this machine, or None (also for an unreadable file)."""
    try:
        return json.loads(_path(model_fp, mkey).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _store(model_fp, mkey, result):
    path = _path(model_fp, mkey)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(result), encoding="utf-8")
        os.replace(tmp, path)  # whole file or the old one: a reader never sees half a result
    except OSError:
        pass  # a read-only cache only costs a re-measure later, never the result on screen


def measure(model, x_pixels, *, model_fp, mkey, model_label, batch_sizes, repeats, progress=None):
    """Time the model at each batch size, the book's loop and the matmul roof; store and return the result dict.

    progress(fraction, stage) is called as the work advances, stage one of 'batches', 'book', 'matmul', 'done';
    x_pixels is the test set, uint8 (n, 28, 28) or (n, 784).
    """
    report = progress or (lambda fraction, stage: None)
    with _LOCK:
        rows = timing.time_batches(model, x_pixels, batch_sizes=tuple(batch_sizes), repeats=repeats,
                                   progress=lambda _label, done, total: report(0.9 * done / total, "batches"))
        book_rate, book_images = None, min(BOOK_IMAGES, len(x_pixels))
        if model.n_layers == 3:  # the seed's predict() is written for W1..W3
            report(0.92, "book")
            book_rate = timing.book_loop_rate(model.params, model.prepare(x_pixels[:book_images]), n_images=book_images)
        report(0.96, "matmul")
        gflops, flops = timing.matmul_gflops(), timing.network_flops(model.sizes)
    result = {"rows": rows, "book_rate": book_rate, "book_images": book_images, "gflops": gflops, "flops": flops,
              "limit": timing.limit_images_per_s(gflops, flops), "machine": {**timing.machine_info(), "blas_threads": blas_threads(),
                                                                         "load_average": list(os.getloadavg())},
              "model": model_label,
              "sizes": list(model.sizes), "n_images": len(x_pixels), "repeats": repeats}
    _store(model_fp, mkey, result)
    report(1.0, "done")
    return result
