"""Training and preprocessing pages in Chromium on real MNIST: a 1-epoch run with its curve and its place in the sidebar,
every preprocessing tab, and a second session that stays responsive while the first one trains."""
import re
import statistics

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import assert_clean, click_until, open_page, screenshot, shows, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.mnist]
RERUN_LIMIT_S = 1.0  # the bound for the browsing session's reruns while another session trains


def sidebar_options(page):
    """The labels of the sidebar's model picker, read by opening it (and closing it again)."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Model").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


def test_train_one_epoch_shows_the_curve_and_joins_the_sidebar(page, app_url, console_errors):
    open_page(page, app_url, "/train?epochs=1&n=5000", "Nothing trained yet")
    screenshot(page, "train")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Finished in").wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(500)  # plotly draws after the last delta
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 2
    assert page.get_by_text("Accuracy while training").first.is_visible()
    points = page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace path.js-line').count()
    assert points >= 2  # drawn lines: the loss and the training accuracy
    screenshot(page, "train-finished")
    options = sidebar_options(page)
    assert any(o.startswith("50-100-sigmoid-unit-e1-s0 (trained here): ") for o in options), options  # id session:50-…
    assert page.get_by_text(re.compile(r"test accuracy \d+\.\d\d%")).first.is_visible()
    assert_clean(page, console_errors)


def legend(page, *, within=None):
    """The legend entries of every plotly chart on the page (or inside the locator within), in page order."""
    return (within or page).locator('[data-testid="stPlotlyChart"] .legendtext').all_text_contents()


def test_preprocess_tabs(page, app_url, console_errors):
    open_page(page, app_url, "/preprocess", "under each choice")
    # MNIST's test image #0 is a 7: the five panels of one digit, the value histograms and the learned statistics
    assert page.get_by_text(re.compile(r"^Test image #0 \(a 7\) under each choice")).count() == 1
    titles = page.locator('[data-testid="stPlotlyChart"]').first.locator(".annotation-text").all_text_contents()
    kinds = ("raw", "unit", "center", "standardize", "whiten")
    assert len(titles) == 5 and all(s.startswith(k) for s, k in zip(titles, kinds, strict=True)), titles  # one panel a choice
    screenshot(page, "preprocess")
    page.get_by_role("tab", name="🎯 What it does to accuracy").click()
    page.get_by_text("Every choice was trained with").first.wait_for(timeout=60_000)
    page.get_by_text("The shipped models (one run each)").first.click()  # folded under the seeds: open it
    page.get_by_text("Validation accuracy after each epoch").first.wait_for(timeout=60_000)
    wait_idle(page)
    assert set(kinds) <= set(legend(page))  # a curve for each shipped pre-* model
    screenshot(page, "preprocess-accuracy")
    page.get_by_role("tab", name="⚠️ Mismatch demo").click()
    page.get_by_text("fed raw pixels 0–255 it gets").first.wait_for(timeout=60_000)
    wait_idle(page)
    page.wait_for_timeout(300)
    result = page.locator("p", has_text="fed raw pixels 0–255 it gets").first.inner_text()
    own, raw, own_sat, raw_sat = (float(v) for v in re.findall(r"(\d+(?:\.\d+)?)%", result))
    assert own > 90 and raw < own and raw_sat > own_sat  # raw pixels saturate more layer-1 units and lose accuracy
    screenshot(page, "preprocess-mismatch")
    page.get_by_role("tab", name="⚖️ Train a fair comparison").click()
    page.get_by_text("Choices to compare").wait_for(timeout=60_000)
    wait_idle(page)
    left = list(kinds)
    for kind in ("standardize", "whiten", "raw"):  # leave unit and center
        pill = page.get_by_role("button", name=kind, exact=True)
        click_until(page, pill, lambda pill=pill: pill.get_attribute("aria-pressed") == "false")  # flips at the click, before the run
        left.remove(kind)  # the run that took the click writes what is left into the URL: wait for it, one click at a time
        page.wait_for_url(re.compile(rf"[?&]kinds={'-'.join(left)}(&|$)"), timeout=60_000)
        wait_idle(page)
    start = page.get_by_role("button", name="Train the comparison")
    try:
        start.wait_for(timeout=60_000)
    except PlaywrightTimeoutError:  # seen once in a full run, never alone: say what the page showed instead
        raise AssertionError(f"no start button after 60 s; {shows(page)}") from None
    start.click()
    page.get_by_text("The two fingerprint columns").wait_for(timeout=120_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    shown = page.get_by_role("tabpanel").filter(has_text="The two fingerprint columns")  # not the accuracy tab's charts
    trained = {re.split(r"[@:]", name)[0] for name in legend(page, within=shown)}  # "unit", or "unit@2: …" for one seed's run
    assert trained == {"unit", "center"}  # the two choices left selected, and only they, were trained
    screenshot(page, "preprocess-comparison")
    assert_clean(page, console_errors)


# Times one rerun as the browser sees it: from the Enter key to the app's state turning "notRunning" again, i.e. the
# server's script run plus the websocket, without Playwright's own polling delays.
RERUN_TIMER = """() => {
  window.__rerun = {start: null, end: null};
  document.addEventListener('keydown', e => { if (e.key === 'Enter') window.__rerun.start = performance.now(); }, true);
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const r = window.__rerun;  // a run can start and end between two callbacks: any change after Enter that leaves it idle
    if (app && r.start !== null && r.end === null && app.getAttribute('data-test-script-state') === 'notRunning') {
      r.end = performance.now();
    }
  }).observe(document.body, {attributes: true, subtree: true, attributeFilter: ['data-test-script-state']});
}"""


def rerun_seconds(page, index, i):
    """Type image number i into the dataset browser and return how long the rerun took (s)."""
    index.fill(str(i))
    page.evaluate("window.__rerun = {start: null, end: null}")
    index.press("Enter")
    page.get_by_text(re.compile(rf"train #{i}: a \d, as 28 × 28 numbers")).wait_for(timeout=10_000)
    shown = page.evaluate("performance.now()")  # the new image is on screen: the rerun ended no later than this
    wait_idle(page)
    try:
        page.wait_for_function("window.__rerun.end !== null", timeout=3_000)
    except PlaywrightTimeoutError:  # the observer missed the state's flip (twice in full parallel runs): keep the bound
        page.evaluate(f"window.__rerun.end = {shown}")
    r = page.evaluate("window.__rerun")
    return (r["end"] - r["start"]) / 1000


def test_a_second_session_stays_responsive_while_the_first_trains(browser, browser_context_args, app_url):
    trainer = browser.new_context(**browser_context_args).new_page()
    browsing = browser.new_context(**browser_context_args).new_page()
    open_page(browsing, app_url, "/dataset", "One image, pixel by pixel")  # warm: the dataset is loaded
    browsing.evaluate(RERUN_TIMER)
    index = browsing.get_by_label("Image number in the train set")
    idle = [rerun_seconds(browsing, index, i) for i in range(101, 105)]
    # the slowest run the page allows (3 layers of 256, batches of 10, augmentation: about 7 s an epoch here): the book's
    # net trains 15 epochs in 8 s on a quiet machine, over before the browsing session's ten reruns are measured
    open_page(trainer, app_url, "/train?epochs=15&bs=10&layers=3&w1=256&w2=256&w3=256&aug=1", "Nothing trained yet")
    trainer.get_by_role("button", name="Train", exact=True).click()
    trainer.get_by_text(re.compile(r"Epoch \d+ of 15")).wait_for(timeout=60_000)  # training, its curves polling twice a second
    busy = [rerun_seconds(browsing, index, i) for i in range(201, 211)]
    still = trainer.get_by_text(re.compile(r"Epoch \d+ of 15")).count()
    trainer.get_by_role("button", name="Stop").click()
    # a busy machine may not finish the first epoch before Stop: then no model is kept, and the page says that instead
    # the trainer runs at nice 19: with the suite's other worker busy it may take minutes of wall time to save and end
    stopped = re.compile(r"Stopped\. Kept the best weights so far|Stopped before the first epoch")
    trainer.get_by_text(stopped).first.wait_for(timeout=240_000)
    screenshot(trainer, "train-stopped")
    print("browsing reruns (s): idle", " ".join(f"{s:.2f}" for s in idle), "| while training", " ".join(f"{s:.2f}" for s in busy))
    assert still == 1, "the training ended before the browsing session finished: the overlap was not tested"
    # the bound holds for the typical rerun, and for all but two of ten: on this shared 2-core test machine the trainer's own
    # Chromium redraws its curves on the server's cores, which a real visitor's browser does not (README: measured spikes)
    assert statistics.median(busy) < RERUN_LIMIT_S and sum(s >= RERUN_LIMIT_S for s in busy) <= 2, busy
