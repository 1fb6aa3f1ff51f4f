"""engine.unsure: the answer is "unsure" when its top probability is low or the input lies far from the training images;
the threshold is calibrated on the validation split; the answer card says so in plain words in every language."""
import json
import re

import numpy as np
import pytest

from engine import unsure
from engine.familiar import familiarity, split_settings
from engine.model import MLP
from engine.preprocess import Preprocess
from tests import apptest_helpers
from tests.apptest_helpers import random_model, run_page
from tests.conftest import ROOT
from tests.synth import synthetic_digits

app_env = apptest_helpers.app_env
CATALOGS = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}


@pytest.fixture(scope="module")
def net_and_digits():
    x, t = synthetic_digits(400, seed=5)
    model = MLP(dict(random_model([784, 30, 20, 10], seed=1).params), activation="relu", preprocess=Preprocess("unit"))
    return model, x.reshape(400, 784), t


def test_the_verdict_names_its_reasons():
    confident, guess = np.eye(10)[3] * 0.97 + 0.003, np.full(10, 0.1)
    v = unsure.judge(confident, distance=2.0, threshold=5.0)
    assert not v.unsure and not v.low_probability and not v.far and v.p_top == pytest.approx(0.973)
    v = unsure.judge(guess, distance=2.0, threshold=5.0)
    assert v.unsure and v.low_probability and not v.far
    v = unsure.judge(confident, distance=6.0, threshold=5.0)
    assert v.unsure and v.far and not v.low_probability and (v.distance, v.threshold) == (6.0, 5.0)
    assert not unsure.judge(confident).unsure  # no reference: judged by probability alone
    for top, low in ((0.49, True), (0.51, False)):  # even odds is the line
        p = np.full(10, (1 - top) / 9)
        p[1] = top
        assert unsure.judge(p).low_probability is low


def test_nearest_distances_are_the_brute_force_ones(net_and_digits):
    model, x, _ = net_and_digits
    ref = unsure.Reference(model, x[:300])
    got = ref.distance(model, x[300:])
    from engine.explain import embed
    E, Q = embed(model, x[:300]).astype(np.float64), embed(model, x[300:]).astype(np.float64)
    want = np.sqrt(((Q[:, None, :] - E[None]) ** 2).sum(axis=2)).min(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.allclose(ref.distance(model, x[:5]), 0, atol=1e-2)  # a reference image is its own nearest neighbour


def test_the_threshold_leaves_one_validation_image_in_a_hundred_beyond_it(net_and_digits):
    model, x, _ = net_and_digits
    ref = unsure.Reference(model, x[:200])
    entry = unsure.calibrate(model, ref, x[200:])
    d = ref.distance(model, x[200:])
    assert entry["reference"] == 200 and entry["validation"] == 200 and entry["percentile"] == 99
    assert (d > entry["distance"]).sum() == 2  # 1 % of 200
    assert "99th percentile over 200 validation images" in entry["how"]
    far = np.full((1, 784), 255, np.uint8)  # a white square: nothing like a digit
    assert ref.distance(model, far)[0] > entry["distance"]


def test_familiarity_uses_the_card_only_for_the_same_reference(net_and_digits):
    model, x, _ = net_and_digits
    assert split_settings({"training": {"val_size": 5000, "seed": 3}}, 400) == (40, 3)  # too big for 400 images: a tenth
    assert split_settings({}, 60000) == (5000, 0)
    fam = familiarity(model, x)
    assert not fam.from_card and fam.n_validation == 40 and len(fam.reference) == 360
    carded = MLP(model.params, activation="relu", preprocess=model.preprocess,
                 card={"unsure": {"distance": 1.25, "reference": 360, "validation": 40}})
    fam = familiarity(carded, x)
    assert fam.from_card and fam.threshold == 1.25
    other = MLP(model.params, activation="relu", preprocess=model.preprocess, card={"unsure": {"distance": 1.25, "reference": 9}})
    assert not familiarity(other, x).from_card


def test_training_stores_the_calibration_in_the_card():
    from engine.train import TrainConfig, train
    x, t = synthetic_digits(300, seed=2)
    m = train(x.reshape(300, 784), t, config=TrainConfig(hidden=(12,), epochs=1, val_size=60, seed=1))
    entry = m.card["unsure"]
    assert entry["reference"] == 240 and entry["validation"] == 60 and entry["distance"] > 0
    assert entry["low_probability"] == unsure.LOW_PROBABILITY


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_the_answer_card_says_unsure_in_plain_words(app_env, lang):
    at = run_page("single", query={"model": "default", "index": 3, "lang": lang})  # a random net: it can only guess
    card = next(m.value for m in at.markdown if 'data-answer="card"' in m.value)
    words = re.search(r'data-answer="unsure"[^>]*>(.*?)</div>', card).group(1)
    cat = CATALOGS[lang]
    assert cat["answer.unsure_head"] in words
    p = re.search(r'data-answer="probability"[^>]*>([^<]+)<', card).group(1)
    assert cat["answer.unsure_low"].format(p=p) in words  # the same percentage the card shows above


def test_a_confident_familiar_answer_has_no_unsure_line():
    from ui.network import unsure_html
    assert unsure_html(None) == "" and unsure_html(unsure.judge(np.eye(10)[2], distance=1.0, threshold=2.0)) == ""


def test_the_evaluation_page_shows_the_threshold(app_env):
    at = run_page("evaluate", query={"model": "default", "tab": "calibration"})  # beside the confidence numbers
    line = next(c.value for c in at.caption if "says *unsure*" in c.value)
    assert "below 50%" in line and re.search(r"over \*\*\d+\.\d\d\*\*", line)
    assert "calibrated on this dataset's validation split" in line
    assert "99 % of 60 validation images" in line and "nearest of 540 training images" in line  # 600 images: a tenth held out


def test_even_odds_and_a_distance_on_the_threshold_are_not_unsure():
    p = np.zeros(10)
    p[[4, 7]] = 0.5  # exactly even odds: "below 50 %" is the rule, so this is not low
    v = unsure.judge(p, distance=3.0, threshold=3.0)  # the threshold is the distance 99 % stay within: on it is within
    assert (v.unsure, v.low_probability, v.far) == (False, False, False)
    assert unsure.judge(p, distance=np.nextafter(3.0, 4.0), threshold=3.0).far


def test_distances_of_more_queries_than_two_blocks_are_all_the_nearest_ones(net_and_digits):
    model, x, _ = net_and_digits
    ref = unsure.Reference(model, x[:40])
    n = 2 * unsure.QUERY_BLOCK + 77  # three blocks, the last one partial
    Q = np.random.default_rng(4).normal(0, 1, (n, ref.E.shape[1])).astype(np.float32)
    E = ref.E.astype(np.float64)
    want = np.array([np.sqrt(((E - q) ** 2).sum(axis=1)).min() for q in Q.astype(np.float64)])
    np.testing.assert_allclose(ref.nearest(Q), want, rtol=1e-4, atol=1e-4)


def test_a_threshold_is_read_only_from_a_card_made_against_the_same_reference():
    card = {"unsure": {"distance": 2, "reference": 30}}
    assert unsure.threshold_of(card, 30) == 2.0 and isinstance(unsure.threshold_of(card, 30), float)
    assert unsure.threshold_of(card, 31) is None
    assert unsure.threshold_of({"unsure": {"distance": "2", "reference": 30}}, 30) is None
    for not_a_card in (None, [], "unsure"):  # a model without a card, or a card file that is not an object
        assert unsure.threshold_of(not_a_card, 30) is None
