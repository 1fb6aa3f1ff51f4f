"""The engine package's lazy exports: each name in __all__ is the object its module defines; any other name is refused."""
import importlib

import pytest

import engine

HOMES = {"load_mnist": "data", "MLP": "model", "load_model": "modelfile", "save_model": "modelfile", "mcnemar": "stats",
         "mean_interval": "stats", "compare_groups": "stats", "EngineError": "errors", "MnistFormatError": "errors",
         "MnistNotFoundError": "errors", "ModelFormatError": "errors", "DownloadError": "errors",
         "ImageFormatError": "errors", "TrainingError": "errors", "StatsError": "errors"}


def test_every_export_is_the_object_its_module_defines():
    assert sorted(engine.__all__) == sorted(HOMES)
    for name, home in HOMES.items():
        assert getattr(engine, name) is getattr(importlib.import_module(f"engine.{home}"), name), name


@pytest.mark.parametrize("name", ["nope", "stats", "_STATS", "errors_"])
def test_any_other_name_is_an_attribute_error_naming_it(name):
    with pytest.raises(AttributeError, match=f"^module 'engine' has no attribute '{name}'$"):
        engine.__getattr__(name)
