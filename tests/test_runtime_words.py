"""The runtime section's sentences come from the measurement on screen (issue 15): a dip is named, the book's loop
is compared with batch size 1 as measured, a busy machine is said to be busy, and no plateau is claimed without one."""
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, page_text, run_page
from ui.evaluate.runtime_words import sentences

app_env = apptest_helpers.app_env  # fixture


def row(b, rate, lo=None, hi=None):
    return {"batch_size": b, "images_per_s": rate, "images_per_s_min": lo or rate * 0.97, "images_per_s_max": hi or rate * 1.03,
            "latency_ms": 1000 * b / rate, "latency_ms_min": 0, "latency_ms_max": 0, "images": 1000}


# what the issue saw: the loop beat batch size 1 (31k/s vs 18k/s) and the curve dipped to 4.5k/s at batch 50
DIPPED = {"rows": [row(1, 18_000), row(10, 90_000), row(50, 4_500, 3_000, 6_000), row(100, 400_000), row(1000, 820_000),
                   row(10_000, 800_000)], "book_rate": 31_000, "machine": {"load_average": [6.2, 5.0, 4.1]}}


def keys(result):
    return [k.removeprefix("evaluate.rtw_") for k, _ in sentences(result)]


def test_a_dip_and_a_faster_book_loop_are_said_as_measured():
    said = dict(sentences(DIPPED))
    assert said["evaluate.rtw_dip"] == {"b": "50", "r": "4,500", "bp": "10", "rp": "90,000"}
    assert said["evaluate.rtw_book_slower"] == {"r1": "18,000", "book": "31,000", "x": "1.7"}
    assert "evaluate.rtw_book_same" not in said  # the old fixed text claimed the two meet at batch size 1
    assert said["evaluate.rtw_busy"]["b"] == "50" and said["evaluate.rtw_busy"]["load"] == "6.2"
    assert said["evaluate.rtw_plateau"] == {"b": "1,000", "pct": "15"}


def test_no_plateau_without_one_and_a_fall_when_the_largest_batches_slow_down():
    falling = {"rows": [row(1, 10_000), row(100, 500_000), row(1000, 300_000)], "book_rate": 10_500}
    assert keys(falling) == ["rise", "fall", "book_same", "book_best"]
    rising = {"rows": [row(1, 10_000), row(100, 300_000), row(1000, 900_000)], "book_rate": None}
    assert keys(rising) == ["rise"]  # still climbing at the largest batch: no plateau claimed
    assert sentences({"rows": [], "book_rate": None}) == []


def test_the_page_writes_the_sentences_of_the_stored_measurement(app_env):
    from ui.evaluate import state as eval_state
    from ui.evaluate import timing as eval_timing
    from ui.models import catalog

    at = run_page("evaluate", query={"model": "default", "tab": "runtime"})
    model = catalog()[0]["default"]
    result = {**DIPPED, "gflops": 50.0, "flops": 100_000, "limit": 1_000_000.0, "model": "default", "sizes": model.sizes,
              "n_images": 100, "repeats": 5, "book_images": 100,
              "machine": {**eval_timing.machine(), "measured_at": "2026-12-02T05:00:00Z", "load_average": [6.2, 5.0, 4.1]}}
    eval_timing._store(eval_state.fingerprint(model), eval_timing.machine_key(), result)
    at.run()
    assert_no_exception(at)
    text = page_text(at)
    assert "A dip at batch size 50: 4,500 images/s, below every repeat at batch size 10 (90,000)." in text
    assert "At batch size 1 the batched code ran 1.7× slower than the book's loop (18,000 against 31,000 images/s)" in text
    assert "load average 6.2" in text and "so the two meet there" not in text
