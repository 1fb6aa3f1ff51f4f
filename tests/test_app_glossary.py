"""The glossary: each term links to the pages (and tabs) where it is at work, and nowhere else."""
import json
from urllib.parse import parse_qsl

from tests import apptest_helpers
from tests.apptest_helpers import run_page
from tests.conftest import ROOT

app_env = apptest_helpers.app_env  # fixture
EN = json.loads((ROOT / "i18n" / "en.json").read_text(encoding="utf-8"))

# where each term is shown at work, written from what the pages show (not read from pages/glossary.py):
# ("home", {}) is Home, ("evaluate", {"tab": "calibration"}) the evaluation page opened on its calibration tab
WHERE = {
    "layers": [("home", {}), ("single", {})], "neuron": [("home", {}), ("single", {})], "weights": [("home", {})],
    "forward": [("single", {})], "activation": [("single", {}), ("train", {})], "sigmoid": [("single", {})],
    "relu": [("single", {}), ("train", {"act": "relu"})], "softmax": [("single", {})],
    "mnist": [("dataset", {}), ("home", {})], "normalize": [("dataset", {"tab": "flags"}), ("preprocess", {})],
    "preprocessing": [("preprocess", {})], "one_hot": [("dataset", {"tab": "flags"})],
    "batch": [("evaluate", {"tab": "runtime"}), ("train", {})],
    "loss": [("train", {})], "gradient": [("single", {}), ("train", {})], "learning_rate": [("train", {})],
    "epoch": [("train", {})], "validation": [("train", {})], "overfitting": [("train", {})],
    "accuracy": [("evaluate", {})], "confusion": [("evaluate", {"tab": "matrix"})],
    "calibration": [("evaluate", {"tab": "calibration"})], "mcnemar": [("evaluate", {"tab": "compare"})],
    "interval": [("preprocess", {"tab": "accuracy"})], "saturation": [("single", {}), ("preprocess", {"tab": "mismatch"})],
}


def test_every_term_links_to_the_pages_and_tabs_where_it_is_at_work(app_env):
    at = run_page("glossary")
    shown = {}
    for fold in at.expander:
        for box in fold.children.values():
            words = box.get("markdown") if hasattr(box, "children") else []
            if len(words) != 1 or not words[0].value.startswith("**"):
                continue  # not a term (the shell's own folds hold other things)
            words, = words
            name = words.value.split("**")[1]  # "**Calibration**: ..." -> "Calibration"
            shown[name] = [(link.proto.page or "home", dict(parse_qsl(link.proto.query_string))) for link in box.get("page_link")]
    expected = {EN[f"glossary.{term}"]: links for term, links in WHERE.items()}
    assert shown == expected
