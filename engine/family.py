"""The shipped preprocessing family: per choice a learning-rate sweep (and for whiten an eps sweep) judged on the
validation split only, then several seeds at the chosen and at the shared rate; the test set is scored after.

A best value at the edge of its grid says the grid missed the optimum, so the sweep then steps one grid value beyond
that edge (up to Plan.extend times per choice): a rule fixed in advance, still judged on validation accuracy only.

The runs are plain TrainConfigs, so any trainer can run them (one process, or a pool: engine/cli/train_family.py).
"""
from dataclasses import dataclass, replace

from .history import epochs_to

TARGET = 0.95  # the validation accuracy "epochs to reach" counts up to


@dataclass(frozen=True)
class Plan:
    """What the family trains per choice: a rate grid (and eps grid for whiten) on the first seed, then every seed."""
    rates: tuple = (0.0005, 0.001, 0.002, 0.004, 0.008)  # learning rates, a factor 2 apart around the shared 0.002
    eps: tuple = (0.01, 0.1, 1.0)  # whitening epsilons in (pixel / 255)^2, around the shipped 0.1
    seeds: tuple = (0, 1, 2, 3, 4)  # the sweep uses the first; the shipped model is the first at the chosen rate
    extend: int = 3  # rounds that may step beyond an edge of the grid when the best value sits on it


def key(config):
    """The identity of a run: (preprocess, lr, eps, seed); eps counts only for whiten."""
    return config.preprocess, config.lr, config.eps if config.preprocess == "whiten" else None, config.seed


def sweep_configs(kind, *, base, plan, rates=None, eps=None):
    """The sweep of one choice: every rate (times every eps for whiten) at the plan's first seed; rates and eps
    default to the plan's grids."""
    rates = plan.rates if rates is None else rates
    eps = (plan.eps if eps is None else eps) if kind == "whiten" else (base.eps,)
    return [replace(base, preprocess=kind, lr=lr, eps=e, seed=plan.seeds[0]) for e in eps for lr in rates]


def beyond(grid, value):
    """The next grid value past value when value is the grid's smallest or largest (same ratio as its neighbour), else None."""
    g = sorted(grid)
    if len(g) < 2 or value not in (g[0], g[-1]):
        return None
    return float(f"{g[0] * g[0] / g[1]:.6g}") if value == g[0] else float(f"{g[-1] * g[-1] / g[-2]:.6g}")


def extension(kind, rows, *, rates, eps):
    """(new rates, new eps) one step beyond the edge the best sweep row sits on (empty tuples when it is inside)."""
    best = pick(rows)
    lr = beyond(rates, best["lr"])
    e = beyond(eps, best["eps"]) if kind == "whiten" else None
    return (() if lr is None else (lr,)), (() if e is None else (e,))


def sweep_row(model, config):
    """One sweep run's validation numbers (nothing here has seen the test set); model None: the run diverged."""
    if model is None:
        return {"lr": config.lr, "eps": config.eps if config.preprocess == "whiten" else None, "val_accuracy": None,
                "best_epoch": None, "to95": None}
    c = model.card["training"]
    return {"lr": c["lr"], "eps": c["eps"] if c["preprocess"] == "whiten" else None,
            "val_accuracy": model.card["val_accuracy"], "best_epoch": model.card["best_epoch"],
            "to95": epochs_to(model.card["history"], target=TARGET)}


def pick(rows):
    """The sweep row with the highest validation accuracy; a tie goes to the rate (then eps) nearer the grid's middle,
    then to the smaller rate (the safer one). Rows of diverged runs (val_accuracy None) never win."""
    rows = [r for r in rows if r["val_accuracy"] is not None]
    if not rows:
        raise ValueError("pick() needs at least one sweep row of a run that trained.")
    rates = sorted({r["lr"] for r in rows})
    epss = sorted({r["eps"] for r in rows}, key=lambda e: (e is None, e))
    middle = lambda v, grid: abs(grid.index(v) - (len(grid) - 1) / 2)  # noqa: E731  (a tie-break, nothing more)
    return max(rows, key=lambda r: (r["val_accuracy"], -middle(r["lr"], rates), -middle(r["eps"], epss), -r["lr"]))


def seed_configs(kind, *, base, plan, tuned):
    """{'tuned': [configs], 'shared': [configs]}: every seed at the chosen (lr, eps) and at the base's shared ones."""
    lr, eps = tuned["lr"], tuned["eps"] if tuned["eps"] is not None else base.eps
    return {"tuned": [replace(base, preprocess=kind, lr=lr, eps=eps, seed=s) for s in plan.seeds],
            "shared": [replace(base, preprocess=kind, seed=s) for s in plan.seeds]}


def seed_row(model, *, test_accuracy):
    """One seeded run's numbers: seed, validation and test accuracy, best epoch, epochs to TARGET, seconds."""
    card = model.card
    return {"seed": card["training"]["seed"], "test_accuracy": test_accuracy, "val_accuracy": card["val_accuracy"],
            "best_epoch": card["best_epoch"], "to95": epochs_to(card["history"], target=TARGET), "seconds": card["seconds"]}


def build(kinds, *, base, plan, train_many, score):
    """({kind: shipped MLP}, {kind: family card entry}) for the given choices.

    train_many(configs) -> [MLP or None] trains a list of TrainConfigs (in any order or in parallel; each run is seeded;
    None for a run that diverged, which a sweep then never picks);
    score(model) -> test accuracy is called only after every rate was chosen. A run needed twice is trained once.
    """
    done = {}

    def run(configs):
        todo = list({key(c): c for c in configs if key(c) not in done}.values())
        done.update(zip(map(key, todo), train_many(todo), strict=True))
        return [done[key(c)] for c in configs]

    grids = {k: (tuple(plan.rates), tuple(plan.eps) if k == "whiten" else (None,)) for k in kinds}
    sweeps = {k: sweep_configs(k, base=base, plan=plan) for k in kinds}
    run([c for k in kinds for c in sweeps[k]])
    rows = {k: [sweep_row(done[key(c)], c) for c in sweeps[k]] for k in kinds}
    for _ in range(plan.extend):  # a best value on an edge of its grid: one step beyond it, for every value of the other
        new = {}
        for k in kinds:
            rates, eps = grids[k]
            more_lr, more_eps = extension(k, rows[k], rates=rates, eps=eps)
            grids[k] = (rates + more_lr, eps + more_eps)
            added = sweep_configs(k, base=base, plan=plan, rates=grids[k][0], eps=grids[k][1])  # eps counts for whiten only
            new[k] = [c for c in added if key(c) not in {key(x) for x in sweeps[k]}]
            sweeps[k] += new[k]
        if not any(new.values()):
            break
        run([c for k in kinds for c in new[k]])
        rows = {k: [sweep_row(done[key(c)], c) for c in sweeps[k]] for k in kinds}
    tuned = {k: {"lr": pick(rows[k])["lr"], "eps": pick(rows[k])["eps"]} for k in kinds}  # chosen before any test score
    seeds = {k: seed_configs(k, base=base, plan=plan, tuned=tuned[k]) for k in kinds}
    run([c for k in kinds for side in ("tuned", "shared") for c in seeds[k][side]])
    shipped, entries = {}, {}
    for k in kinds:
        runs = {side: [seed_row(done[key(c)], test_accuracy=score(done[key(c)])) for c in seeds[k][side]]
                for side in ("tuned", "shared")}
        shipped[k] = done[key(seeds[k]["tuned"][0])]
        entries[k] = {"kind": k, "target": TARGET, "chosen_by": "val_accuracy", "sweep_seed": plan.seeds[0],
                      "grid": {"lr": sorted(grids[k][0]), "eps": sorted(grids[k][1]) if k == "whiten" else None},
                      "start_grid": {"lr": list(plan.rates), "eps": list(plan.eps) if k == "whiten" else None},
                      "sweep": rows[k], "tuned": tuned[k],
                      "shared": {"lr": base.lr, "eps": base.eps if k == "whiten" else None},
                      "seeds": list(plan.seeds), "shipped": {"rate": "tuned", "seed": plan.seeds[0]}, "runs": runs}
    return shipped, entries
