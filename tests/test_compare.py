"""engine.compare on a stand-in trainer: which runs start, with which settings, and how a stop ends the comparison."""
import pytest

from engine import compare as comparison
from engine.compare import compare, compare_seeds, parse_run, run_name
from engine.preprocess import KINDS
from engine.train import StopTraining, TrainConfig

BASE = TrainConfig(hidden=(8,), epochs=3, val_size=100, lr=0.01, seed=7)


class Trainer:
    """Stands in for engine.train.train: records each run's config and every, reports one info per epoch to the callback
    and stops as train() does (a False return or StopTraining ends the run and keeps a model)."""

    def __init__(self):
        self.runs = []

    def __call__(self, x, t, *, config, callback=None, every=0):
        run = {"config": config, "every": every, "x": x, "t": t, "epochs": 0, "stopped": None}
        self.runs.append(run)
        try:
            for epoch in range(1, config.epochs + 1):
                run["epochs"] = epoch
                if callback is not None and callback({"phase": "epoch", "epoch": epoch}) is False:
                    raise StopTraining("the callback returned False")
        except StopTraining as e:
            run["stopped"] = str(e)
        return run  # the "model": this run's record


@pytest.fixture
def trainer(monkeypatch):
    fake = Trainer()
    monkeypatch.setattr(comparison, "train", fake)
    return fake


def test_compare_trains_each_kind_in_order_with_only_the_preprocessing_changed(trainer):
    x, t = object(), object()
    models = compare(x, t, kinds=["center", "unit"], config=BASE, every=5)
    assert list(models) == ["center", "unit"]
    assert [r["config"] for r in trainer.runs] == [TrainConfig(**{**BASE.__dict__, "preprocess": k}) for k in ("center", "unit")]
    assert all(r["every"] == 5 and r["x"] is x and r["t"] is t and r["epochs"] == 3 and r["stopped"] is None for r in trainer.runs)
    assert models["unit"] is trainer.runs[1]


def test_compare_defaults_to_every_kind_with_the_default_settings(trainer):
    models = compare(None, None)
    assert list(models) == list(KINDS)
    assert [r["config"] for r in trainer.runs] == [TrainConfig(preprocess=k) for k in KINDS]
    assert all(r["every"] == 0 for r in trainer.runs)


def test_compare_relays_every_info_with_its_kind_and_a_stop_skips_the_kinds_to_come(trainer):
    seen = []

    def stop_in_center_epoch_2(kind, info):
        seen.append((kind, info["epoch"]))
        return not (kind == "center" and info["epoch"] == 2)  # True elsewhere: only False stops

    models = compare(None, None, kinds=["unit", "center", "whiten"], config=BASE, callback=stop_in_center_epoch_2)
    assert seen == [("unit", 1), ("unit", 2), ("unit", 3), ("center", 1), ("center", 2)]
    assert list(models) == ["unit", "center"]  # the stopped run keeps its model; whiten never starts
    assert models["unit"]["stopped"] is None and models["center"]["epochs"] == 2
    assert models["center"]["stopped"] == "comparison stopped during 'center'"


def test_compare_goes_on_when_the_callback_returns_none(trainer):
    seen = []
    models = compare(None, None, kinds=["unit", "center"], config=BASE, callback=lambda kind, info: seen.append(kind))
    assert list(models) == ["unit", "center"] and seen == ["unit"] * 3 + ["center"] * 3
    assert all(m["stopped"] is None for m in models.values())


def test_run_names_join_kind_and_seed_and_parse_back():
    assert run_name("unit", 2) == "unit@2" and run_name("whiten", 10) == "whiten@10"
    assert parse_run("unit@2") == ("unit", 2) and parse_run(run_name("center", 17)) == ("center", 17)
    assert parse_run("unit") == ("unit", None)  # a plain kind
    assert parse_run("unit@") == ("unit", None) and parse_run("unit@x") == ("unit", None)  # no seed after the @
    assert parse_run("unit@-1") == ("unit", None)  # seeds are never negative
    assert isinstance(parse_run("raw@3")[1], int)


def test_compare_seeds_runs_every_kind_once_per_seed_in_seed_order(trainer):
    x, t = object(), object()
    models = compare_seeds(x, t, kinds=("unit", "center"), seeds=(4, 2), config=BASE, every=3)
    assert list(models) == ["unit@4", "center@4", "unit@2", "center@2"]
    assert [(r["config"].preprocess, r["config"].seed) for r in trainer.runs] == [("unit", 4), ("center", 4), ("unit", 2), ("center", 2)]
    assert all(r["config"] == TrainConfig(**{**BASE.__dict__, "preprocess": r["config"].preprocess, "seed": r["config"].seed})
               and r["every"] == 3 and r["x"] is x and r["t"] is t for r in trainer.runs)
    assert models["center@2"] is trainer.runs[3]


def test_compare_seeds_defaults_to_seed_0_and_every_kind(trainer):
    models = compare_seeds(None, None)
    assert list(models) == [run_name(k, 0) for k in KINDS]
    assert [r["config"] for r in trainer.runs] == [TrainConfig(preprocess=k, seed=0) for k in KINDS]
    assert all(r["every"] == 0 for r in trainer.runs)


def test_compare_seeds_names_the_run_to_the_callback_and_a_stop_ends_every_seed(trainer):
    seen = []

    def stop_in_unit_at_5(name, info):
        seen.append(name)
        assert info["phase"] == "epoch"  # the run's own info, relayed
        return name != "unit@5"

    models = compare_seeds(None, None, kinds=("unit", "center"), seeds=(4, 5, 6), config=BASE, callback=stop_in_unit_at_5)
    assert list(models) == ["unit@4", "center@4", "unit@5"]
    assert seen == ["unit@4"] * 3 + ["center@4"] * 3 + ["unit@5"]
    assert models["unit@5"]["stopped"] == "comparison stopped during 'unit'" and models["unit@5"]["epochs"] == 1
    assert [m["stopped"] for m in list(models.values())[:2]] == [None, None]


def test_compare_seeds_goes_on_when_the_callback_returns_none(trainer):
    seen = []
    models = compare_seeds(None, None, kinds=("unit",), seeds=(1, 2), config=BASE, callback=lambda name, info: seen.append(name))
    assert list(models) == ["unit@1", "unit@2"] and seen == ["unit@1"] * 3 + ["unit@2"] * 3
