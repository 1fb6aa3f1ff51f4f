"""Train one net per preprocessing choice with identical initial weights, split and batch order: a fair comparison."""
from dataclasses import replace

from .preprocess import KINDS
from .train import StopTraining, TrainConfig, train


def compare(x, t, *, kinds=KINDS, config=None, callback=None, every=0):
    """{kind: MLP} for training pixels x (n, 784) 0-255, labels t (n,); only the preprocessing differs between runs.

    The seed's independent streams (engine.train.STREAMS) make the split, the initial weights and the batch order
    the same for every kind. callback(kind, info) sees each run's infos; returning False (or raising StopTraining)
    stops the current run, keeps its best weights, and skips the kinds still to come.
    """
    config = config or TrainConfig()
    models = {}
    for kind in kinds:
        stopped = []

        def relay(info, kind=kind, stopped=stopped):
            if callback is not None and callback(kind, info) is False:
                stopped.append(kind)
                raise StopTraining(f"comparison stopped during '{kind}'")

        models[kind] = train(x, t, config=replace(config, preprocess=kind), callback=relay, every=every)
        if stopped:
            break
    return models


def run_name(kind, seed):
    """The name of one run of a seeded comparison, e.g. 'unit@2' (also its model file's stem)."""
    return f"{kind}@{seed}"


def parse_run(name):
    """(kind, seed) of a run_name; (name, None) for a plain kind."""
    kind, _, seed = str(name).partition("@")
    return kind, int(seed) if seed.isdigit() else None


def compare_seeds(x, t, *, kinds=KINDS, seeds=(0,), config=None, callback=None, every=0):
    """{run_name(kind, seed): MLP}: compare() once per seed, seed by seed, so a stop leaves every kind with equal seeds
    done (or one fewer). callback(run name, info) as in compare(); returning False stops and skips the runs to come."""
    config = config or TrainConfig()
    models, stopped = {}, []
    for seed in seeds:
        def relay(kind, info, seed=seed):
            if callback is not None and callback(run_name(kind, seed), info) is False:
                stopped.append(kind)
                return False
            return True

        done = compare(x, t, kinds=kinds, config=replace(config, seed=seed), callback=relay, every=every)
        models.update({run_name(k, seed): m for k, m in done.items()})
        if stopped:
            break
    return models
