"""The shipped models in models/: safe to load, small, and as accurate on the MNIST test set as their cards say."""
import json
import zipfile

import numpy as np
import pytest

from engine.cli.train import SHIPPED
from engine.data import load_mnist
from engine.modelfile import load_model
from tests.conftest import ROOT

MODELS = ROOT / "models"


def test_every_recipe_in_train_all_has_its_files():
    assert {p.stem for p in MODELS.glob("*.npz")} >= set(SHIPPED)
    for name in SHIPPED:
        card = json.loads((MODELS / f"{name}.json").read_text())
        assert card["name"] == name and card["command"].startswith("python -m engine train ")
        assert len(card["history"]) >= 1 and all(0 <= h["val_acc"] <= 1 for h in card["history"])
        with zipfile.ZipFile(MODELS / f"{name}.npz") as z:  # float32 arrays and JSON bytes only: nothing needs pickle
            assert all(i.filename.endswith(".npy") for i in z.infolist())
        assert (MODELS / f"{name}.npz").stat().st_size < 4 * 2**20


def test_the_comparison_models_share_one_budget_and_differ_only_in_preprocessing_and_their_chosen_rate():
    cards = [json.loads((MODELS / f"pre-{k}.json").read_text()) for k in ("raw", "unit", "center", "standardize", "whiten")]
    settings = [c["training"] for c in cards]
    kinds = [s.pop("preprocess") for s in settings]
    assert kinds == ["raw", "unit", "center", "standardize", "whiten"]
    for card, s in zip(cards, settings, strict=True):  # each at the rate (and whiten at the eps) its validation sweep chose
        assert s.pop("lr") == card["family"]["tuned"]["lr"]
        eps = s.pop("eps")
        assert card["family"]["tuned"]["eps"] in (None, eps)
    assert all(s == settings[0] for s in settings)


@pytest.mark.mnist
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_model_scores_what_its_card_states(name, mnist_dir):
    model = load_model(MODELS / f"{name}.npz")
    _, (x, t) = load_mnist(normalize=False, data_dir=mnist_dir, download=False)
    acc = model.score(x, t)
    assert abs(acc - model.card["test_accuracy"]) <= 0.0005
    assert all(v.dtype == np.float32 for v in model.params.values())
    if name == "default":  # the strongest MLP trained here in minutes (issue 16); tests/test_default_model.py says more
        assert acc >= 0.980 and model.preprocess.kind == "unit"
    else:  # the book-shaped models the pages compare
        assert model.sizes == [784, 50, 100, 10]
    if name == "relu":
        assert model.activation == "relu"
