"""engine.familiar: the reference is the training split the card's trainer used, the threshold the card's when it was
calibrated against that reference, else the 99th percentile of the validation images' nearest distances, worked out here
by brute force."""
import numpy as np
import pytest

from engine.explain import embed
from engine.familiar import familiarity, split_settings
from engine.model import MLP
from engine.preprocess import Preprocess
from engine.train import split
from tests.apptest_helpers import random_model
from tests.synth import synthetic_digits


@pytest.fixture(scope="module")
def net_and_pixels():
    x, _ = synthetic_digits(240, seed=8)
    model = MLP(dict(random_model([784, 24, 16, 10], seed=2).params), activation="relu", preprocess=Preprocess("unit"))
    return model, x  # images (240, 28, 28): familiarity flattens them itself


def with_card(model, card):
    return MLP(model.params, activation=model.activation, preprocess=model.preprocess, card=card)


@pytest.mark.parametrize(("card", "n", "expected"), [
    ({"training": {"val_size": 50, "seed": 4}}, 400, (50, 4)),
    ({"training": {"val_size": 1, "seed": "7"}}, 400, (1, 7)),  # one image is enough; a seed written as text is read
    ({"training": {"val_size": 399, "seed": 2}}, 400, (399, 2)),  # all but one image held out: still allowed
    ({"training": {"val_size": 400, "seed": 2}}, 400, (40, 2)),  # none left to train on: a tenth instead
    ({"training": {"val_size": 0, "seed": 2}}, 400, (40, 2)),
    ({"training": {"val_size": 0}}, 5, (1, 0)),  # a tenth of 5 images rounds to 0: at least one
    ({"training": {"seed": 6}}, 60000, (5000, 6)),  # unrecorded: the trainer's default of 5,000 images
    ({"training": {"val_size": 3000}}, 60000, (3000, 0)),
    ({"training": "val_size=10"}, 60000, (5000, 0)),  # not a dict: the trainer's defaults
    ({"training": {"val_size": "lots", "seed": 3}}, 60000, (5000, 0)),  # unreadable: both defaults, not half of each
    ({"training": {"val_size": 100, "seed": None}}, 60000, (5000, 0)),
    ({}, 400, (40, 0)),
])
def test_split_settings_read_the_card_and_fit_the_images(card, n, expected):
    assert split_settings(card, n) == expected


def nearest(model, ref, queries):
    """Distances from each query image to its nearest reference image in the last hidden layer, by brute force."""
    E, Q = embed(model, ref).astype(np.float64), embed(model, queries).astype(np.float64)
    return np.sqrt(((Q[:, None, :] - E[None]) ** 2).sum(axis=2)).min(axis=1)


def test_without_a_calibrated_card_the_threshold_is_the_99th_percentile_of_the_validation_split(net_and_pixels):
    model, img = net_and_pixels
    m = with_card(model, {"training": {"val_size": 60, "seed": 3}})
    fam = familiarity(m, img)
    x = img.reshape(240, 784)
    tr, va = split(240, val_size=60, seed=3)
    assert fam.from_card is False and fam.n_validation == 60 and len(fam.reference) == 180
    np.testing.assert_allclose(fam.reference.E, embed(m, x[tr]), rtol=1e-6)  # the training split, in order
    d = nearest(m, x[tr], x[va])
    assert fam.threshold == pytest.approx(np.percentile(d, 99), rel=1e-4, abs=1e-4)


def test_a_card_calibrated_against_the_same_reference_gives_its_threshold(net_and_pixels):
    model, img = net_and_pixels
    m = with_card(model, {"training": {"val_size": 40, "seed": 1}, "unsure": {"distance": 2.5, "reference": 200,
                                                                              "validation": 1234}})
    fam = familiarity(m, img)
    assert fam.from_card and fam.threshold == 2.5 and fam.n_validation == 1234 and len(fam.reference) == 200
    tr, _ = split(240, val_size=40, seed=1)
    np.testing.assert_allclose(fam.reference.E, embed(m, img.reshape(240, 784)[tr]), rtol=1e-6)
    unrecorded = with_card(model, {"training": {"val_size": 40, "seed": 1}, "unsure": {"distance": 2, "reference": 200}})
    fam = familiarity(unrecorded, img)
    assert fam.from_card and fam.threshold == 2.0 and fam.n_validation == 40  # the split's size when the card has none
