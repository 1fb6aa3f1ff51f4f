"""A model's reference images and "far" threshold on a training set: from its card when the card was calibrated against
the same reference, else calibrated here on the model's own validation split (engine.unsure holds the rule)."""
from dataclasses import dataclass

import numpy as np

from .train import TrainConfig, split
from .unsure import Reference, calibrate, reference_indices, threshold_of


@dataclass(frozen=True)
class Familiarity:
    """What judging "far" needs for one model: its Reference, the distance threshold, and where that came from."""
    reference: Reference
    threshold: float | None
    from_card: bool
    n_validation: int


def split_settings(card, n):
    """(val_size, seed) of the validation split the card's trainer held out (trainer defaults if unrecorded), fitted to n images."""
    train = card.get("training") if isinstance(card.get("training"), dict) else {}
    default = TrainConfig()
    try:
        size, seed = int(train.get("val_size", default.val_size)), int(train.get("seed", default.seed))
    except (TypeError, ValueError):
        size, seed = default.val_size, default.seed
    return (size if 1 <= size < n else max(1, n // 10)), seed


def familiarity(model, x_train):
    """Familiarity of a model against training pixels x_train (n, 784) (n >= 2): the reference is the first
    engine.unsure.REFERENCE images of the model's training split; the threshold its card's or calibrated now."""
    x_train = np.asarray(x_train).reshape(len(x_train), -1)
    size, seed = split_settings(model.card, len(x_train))
    tr, va = split(len(x_train), val_size=size, seed=seed)
    reference = Reference(model, x_train[reference_indices(tr)])
    threshold = threshold_of(model.card, len(reference))
    if threshold is not None:
        return Familiarity(reference, threshold, True, int(model.card["unsure"].get("validation", len(va))))
    return Familiarity(reference, calibrate(model, reference, x_train[va])["distance"], False, len(va))
