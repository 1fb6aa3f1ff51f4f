"""TrainConfig.check(): each rule at its boundary, on both sides, with a message that names the bad value."""
import math
import re

import pytest

from engine.errors import TrainingError
from engine.trainconfig import TrainConfig

N = 1000  # training images offered to check()
BASE = {"val_size": 100}  # the default 5,000 validation images need more than N


def refused(message, **settings):
    """check() on N images raises TrainingError with exactly this message."""
    with pytest.raises(TrainingError) as e:
        TrainConfig(**(BASE | settings)).check(N)
    assert str(e.value) == message


def accepted(**settings):
    TrainConfig(**(BASE | settings)).check(N)


def test_the_defaults_are_the_books_net_and_train():
    """784-50-100-10, sigmoid, unit pixels, Adam at 0.001 (docs/pages.md): the defaults pass the check."""
    c = TrainConfig()
    assert (c.hidden, c.activation, c.preprocess, c.optimizer, c.lr) == ((50, 100), "sigmoid", "unit", "adam", 0.001)
    c.check(5001)  # the default 5,000 validation images need one more to train on
    with pytest.raises(TrainingError):
        c.check(5000)


@pytest.mark.parametrize("hidden", [(1,), (50, 100), (512, 512, 512), [3.0]])
def test_hidden_widths_of_at_least_one_whole_unit_pass(hidden):
    accepted(hidden=hidden)


@pytest.mark.parametrize("hidden", [(), (0,), (50, 0), (-1,), (1.5,), (50, 0.5)])
def test_empty_zero_negative_or_fractional_widths_are_refused(hidden):
    refused(f"Every hidden layer needs at least 1 unit; got widths {list(hidden)}.", hidden=hidden)


def test_activations():
    accepted(activation="sigmoid")
    accepted(activation="relu")
    refused("Activation 'tanh' is unknown: use 'sigmoid' or 'relu'.", activation="tanh")


def test_optimizers():
    for name in ("sgd", "momentum", "adam"):
        accepted(optimizer=name)
    refused("Optimizer 'rmsprop' is unknown: use one of sgd, momentum, adam.", optimizer="rmsprop")


@pytest.mark.parametrize("lr", [1e-300, 5e-324, 0.001, 1e300])
def test_any_finite_positive_learning_rate_passes(lr):
    accepted(lr=lr)


@pytest.mark.parametrize("lr", [0.0, -0.0, -1e-300, -1.0, math.inf, -math.inf, math.nan])
def test_zero_negative_infinite_or_nan_learning_rates_are_refused(lr):
    refused(f"The learning rate must be a positive number; got {lr}.", lr=lr)


def test_schedules():
    for name in ("constant", "cosine", "step"):
        accepted(schedule=name)
    refused("Schedule 'linear' is unknown: use one of constant, cosine, step.", schedule="linear")


@pytest.mark.parametrize("field, words", [("epochs", "Training needs at least 1 epoch; got {}."),
                                          ("batch_size", "The batch size must be at least 1; got {}.")])
def test_epochs_and_batch_size_are_whole_numbers_from_one(field, words):
    for good in (1, 2, 3.0):
        accepted(**{field: good})
    for bad in (0, -1, 0.5, 1.5):
        refused(words.format(bad), **{field: bad})


def test_weight_decay_from_zero():
    accepted(weight_decay=0.0)
    accepted(weight_decay=1e-300)
    refused("Weight decay must be 0 or more; got -1e-300.", weight_decay=-1e-300)


def test_preprocessing_kinds():
    for kind in ("raw", "unit", "center", "standardize", "whiten"):
        accepted(preprocess=kind)
    refused("Preprocessing 'zscore' is unknown: use one of raw, unit, center, standardize, whiten.", preprocess="zscore")


def test_whitening_epsilon_is_positive():
    accepted(eps=1e-300)
    refused("The whitening epsilon must be positive; got 0.", eps=0)
    refused("The whitening epsilon must be positive; got -0.1.", eps=-0.1)


@pytest.mark.parametrize("shift, degrees", [(0, 0), (4, 45), (0, 45), (4, 0), (1, 10)])
def test_augmentation_within_4_px_and_45_degrees_passes(shift, degrees):
    accepted(shift=shift, degrees=degrees)


@pytest.mark.parametrize("shift, degrees", [(5, 10), (-1, 10), (1, 46), (1, -1), (5, 46)])
def test_augmentation_beyond_its_range_is_refused(shift, degrees):
    refused(f"Augmentation takes shifts of 0-4 px and rotations of 0-45 degrees; got {shift} px and {degrees} degrees.",
            shift=shift, degrees=degrees)


def test_one_augmentation_at_a_time():
    accepted(augment=True)
    accepted(distort=True)
    accepted(augment=False, distort=False)
    refused("Choose one augmentation: --augment (light) or --distort (strong), not both.", augment=True, distort=True)


DISTORT_OK = {"shear": (0, 45), "scale": (0, 0.5), "pen": (0, 1), "elastic": (0, 4)}


@pytest.mark.parametrize("field", sorted(DISTORT_OK))
def test_distortion_ranges_at_both_ends(field):
    low, high = DISTORT_OK[field]
    for good in (low, high):
        accepted(**{field: good})
    values = {"shear": 15.0, "scale": 0.15, "pen": 0.5, "elastic": 0.0}
    for bad in (low - 0.01, high + 0.01):
        got = dict(values, **{field: bad})
        refused("Distortion takes shears of 0-45 degrees, scales of 0-0.5, a pen share of 0-1 and elastic warps of 0-4 px; "
                f"got {got['shear']}, {got['scale']}, {got['pen']} and {got['elastic']}.", **{field: bad})


def test_patience_from_zero():
    accepted(patience=0)
    accepted(patience=3)
    refused("Patience must be 0 (off) or more epochs; got -1.", patience=-1)


@pytest.mark.parametrize("val_size", [1, 2, N - 1])
def test_a_validation_split_of_1_to_n_minus_1_images_passes(val_size):
    accepted(val_size=val_size)


@pytest.mark.parametrize("val_size", [0, -1, N, N + 1])
def test_a_validation_split_of_none_or_all_images_is_refused(val_size):
    refused(f"The validation split must hold 1 to 999 of the 1,000 training images; got {val_size:,}.", val_size=val_size)


def test_the_validation_message_names_the_split_and_the_set_with_thousands_separators():
    with pytest.raises(TrainingError) as e:
        TrainConfig(val_size=60000).check(60000)
    assert str(e.value) == "The validation split must hold 1 to 59,999 of the 60,000 training images; got 60,000."


def test_the_first_broken_rule_is_the_one_reported():
    """Two bad settings: the message is the earlier rule's, one sentence."""
    with pytest.raises(TrainingError) as e:
        TrainConfig(lr=0, val_size=0).check(N)
    assert re.fullmatch(r"The learning rate must be a positive number; got 0\.", str(e.value))
