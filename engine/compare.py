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
