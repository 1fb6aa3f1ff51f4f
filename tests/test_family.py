"""The preprocessing family (engine/family.py, `python -m engine train-family`): rates chosen on validation only, every
seed at the chosen and the shared rate, the test set scored after the choice, and the shipped cards that result."""
import json
from dataclasses import replace

import numpy as np
import pytest

from engine import family
from engine.family import Plan, build, pick, seed_configs, sweep_configs
from engine.train import TrainConfig
from tests.conftest import ROOT

KINDS = ("raw", "unit", "center", "standardize", "whiten")
TINY = TrainConfig(hidden=(8,), epochs=2, val_size=100, lr=0.002, optimizer="adam")


class Fake:
    """A stand-in for a trained MLP: a card whose validation accuracy is a known function of (kind, lr, eps, seed)."""

    def __init__(self, config, val):
        self.config = config
        history = [{"epoch": e, "val_acc": val * e / config.epochs} for e in range(1, config.epochs + 1)]
        self.card = {"training": {**config.__dict__, "hidden": list(config.hidden)}, "val_accuracy": val,
                     "best_epoch": config.epochs, "history": history, "seconds": 1.0}


def fake_val(c):
    """Validation accuracy peaking at lr 0.004 (eps 1.0 for whiten, 0.002 for raw), a little seed noise on top."""
    best = 0.0005 if c.preprocess == "raw" else 0.004
    eps_bonus = 0.01 * (c.eps == 1.0) if c.preprocess == "whiten" else 0.0
    return 0.99 - 0.01 * abs(np.log2(c.lr / best)) + eps_bonus - 0.001 * c.seed


def test_the_sweep_varies_the_rate_and_for_whiten_eps_and_nothing_else():
    plan = Plan(rates=(0.001, 0.002, 0.004), eps=(0.01, 0.1), seeds=(7, 8))
    unit = sweep_configs("unit", base=TINY, plan=plan)
    whiten = sweep_configs("whiten", base=TINY, plan=plan)
    assert [c.lr for c in unit] == [0.001, 0.002, 0.004] and {c.seed for c in unit} == {7}
    assert sorted((c.lr, c.eps) for c in whiten) == sorted((r, e) for r in plan.rates for e in plan.eps)
    for c in unit + whiten:  # only lr, eps, seed and the preprocessing differ from the shared budget
        assert replace(c, lr=TINY.lr, eps=TINY.eps, seed=TINY.seed, preprocess=TINY.preprocess) == TINY


def test_pick_takes_the_best_validation_accuracy_and_breaks_ties_towards_the_middle():
    rows = [{"lr": lr, "eps": None, "val_accuracy": v} for lr, v in [(1, 0.90), (2, 0.95), (4, 0.93), (8, 0.95), (16, 0.2)]]
    assert pick(rows)["lr"] == 2  # 2 and 8 tie, both one step from the middle: the smaller rate
    rows[3]["val_accuracy"] = 0.951
    assert pick(rows)["lr"] == 8
    rows[0]["val_accuracy"] = rows[2]["val_accuracy"] = 0.96
    assert pick(rows)["lr"] == 4  # 1 and 4 tie: the one nearer the middle of the grid
    rows = [{"lr": lr, "eps": None, "val_accuracy": 0.9} for lr in (1, 2, 4, 8, 16)]
    assert pick(rows)["lr"] == 4  # all equal: the middle of the grid, not an edge
    with pytest.raises(ValueError):
        pick([])


def test_build_chooses_on_validation_then_scores_every_seed_at_both_rates():
    plan = Plan(rates=(0.001, 0.002, 0.004, 0.008), eps=(0.1, 1.0), seeds=(0, 1, 2))
    trained, events = [], []

    def train_many(configs):
        events.append(("train", len(configs)))
        trained.extend(family.key(c) for c in configs)
        return [Fake(c, fake_val(c)) for c in configs]

    def score(model):
        events.append(("score", None))
        return 0.5 + model.card["val_accuracy"] / 2

    shipped, entries = build(["raw", "unit", "whiten"], base=TINY, plan=plan, train_many=train_many, score=score)
    assert len(trained) == len(set(trained))  # a run needed twice (the sweep's run at the chosen rate) is trained once
    kinds = [e[0] for e in events]
    assert kinds.count("score") == 3 * 2 * 3 and kinds.index("score") > max(i for i, k in enumerate(kinds) if k == "train")
    # the test set is scored only after every run was trained, so after every rate was chosen
    for kind, e in entries.items():
        best = max(e["sweep"], key=lambda r: r["val_accuracy"])  # computed here from the sweep table
        assert e["tuned"] == {"lr": best["lr"], "eps": best["eps"]}
        assert [r["seed"] for r in e["runs"]["tuned"]] == [r["seed"] for r in e["runs"]["shared"]] == [0, 1, 2]
        for side, lr in (("tuned", e["tuned"]["lr"]), ("shared", TINY.lr)):
            for r in e["runs"][side]:
                cfg = replace(TINY, preprocess=kind, lr=lr, seed=r["seed"],
                              eps=(e["tuned"]["eps"] if side == "tuned" else TINY.eps) if kind == "whiten" else TINY.eps)
                assert r["val_accuracy"] == pytest.approx(fake_val(cfg)) and r["test_accuracy"] == 0.5 + r["val_accuracy"] / 2
        assert shipped[kind].config.seed == 0 and shipped[kind].config.lr == e["tuned"]["lr"]
    # raw's best (0.0005) lies below the grid: the sweep stepped past the edge until the best was inside, and no further
    assert entries["raw"]["tuned"]["lr"] == 0.0005 and entries["raw"]["grid"]["lr"] == [0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008]
    assert entries["unit"]["tuned"]["lr"] == 0.004 and entries["unit"]["grid"]["lr"] == list(plan.rates)  # inside: no step
    assert entries["whiten"]["tuned"] == {"lr": 0.004, "eps": 1.0} and entries["unit"]["tuned"]["eps"] is None
    assert entries["whiten"]["grid"]["eps"] == [0.1, 1.0, 10.0] and len(entries["whiten"]["sweep"]) == 4 * 3  # eps 1 checked
    assert entries["raw"]["start_grid"]["lr"] == list(plan.rates)
    assert json.loads(json.dumps(entries)) == entries  # inert data: plain JSON values only


def test_beyond_steps_past_an_edge_with_the_grid_s_own_ratio():
    assert family.beyond((0.001, 0.002, 0.004), 0.004) == 0.008 and family.beyond((0.001, 0.002, 0.004), 0.001) == 0.0005
    assert family.beyond((0.01, 0.1, 1.0), 1.0) == 10.0 and family.beyond((0.001, 0.002, 0.004), 0.002) is None
    assert family.beyond((0.1,), 0.1) is None  # one value: no ratio to step by


def test_a_diverged_run_is_never_picked_and_stays_in_the_table():
    plan = Plan(rates=(0.001, 0.01, 0.1), seeds=(0, 1), extend=2)

    def train_many(configs):  # lr 0.1 diverges; lr 0.01 is best, so nothing beyond the grid is tried
        return [None if c.lr >= 0.1 else Fake(c, 0.9 + c.lr) for c in configs]

    _, entries = build(["unit"], base=TINY, plan=plan, train_many=train_many, score=lambda m: 0.5)
    e = entries["unit"]
    assert e["tuned"]["lr"] == 0.01 and {"lr": 0.1, "eps": None, "val_accuracy": None, "best_epoch": None, "to95": None} in e["sweep"]
    assert e["grid"]["lr"] == [0.001, 0.01, 0.1]


def test_seed_configs_keep_the_shared_budget_apart_from_rate_and_eps():
    plan = Plan(seeds=(0, 1, 2, 3, 4))
    runs = seed_configs("whiten", base=TINY, plan=plan, tuned={"lr": 0.008, "eps": 1.0})
    assert [(c.lr, c.eps, c.seed) for c in runs["tuned"]] == [(0.008, 1.0, s) for s in range(5)]
    assert [(c.lr, c.eps, c.seed) for c in runs["shared"]] == [(TINY.lr, TINY.eps, s) for s in range(5)]


def test_train_family_cli_writes_cards_with_every_run(synth_mnist, tmp_path, capsys):
    from engine.__main__ import main
    from engine.modelfile import load_model
    args = ["train-family", "--kinds", "unit", "whiten", "--rates", "0.002", "0.01", "--eps", "0.1", "1", "--seeds", "2",
            "--epochs", "1", "--val-size", "100", "--out-dir", str(tmp_path), "--data-dir", str(synth_mnist[0])]
    assert main(args) == 0
    out = capsys.readouterr().out
    for kind in ("unit", "whiten"):
        m = load_model(tmp_path / f"pre-{kind}.npz")
        f = m.card["family"]
        assert len(f["runs"]["tuned"]) == len(f["runs"]["shared"]) == 2
        assert m.card["training"]["lr"] == f["tuned"]["lr"] and m.card["training"]["seed"] == 0
        assert f"--lr {f['tuned']['lr']:g} " in m.card["command"]
        x_test, t_test = synth_mnist[1]["test"]
        assert f["runs"]["tuned"][0]["test_accuracy"] == m.card["test_accuracy"] == m.score(x_test.reshape(len(x_test), -1), t_test)
        assert f"| {kind} | {f['tuned']['lr']:g}" in out


@pytest.mark.parametrize("kind", KINDS)
def test_the_shipped_cards_hold_five_seeds_and_a_rate_chosen_on_validation(kind):
    card = json.loads((ROOT / "models" / f"pre-{kind}.json").read_text())
    f = card["family"]
    assert len(f["seeds"]) >= 5 and len(set(f["seeds"])) == len(f["seeds"])
    for side in ("tuned", "shared"):
        assert [r["seed"] for r in f["runs"][side]] == f["seeds"]
        assert all(0 < r["test_accuracy"] < 1 and 0 < r["val_accuracy"] < 1 for r in f["runs"][side])
    sweep = f["sweep"]
    assert len({r["lr"] for r in sweep}) >= 5 and "test_accuracy" not in sweep[0]  # the sweep never saw the test set
    if kind == "whiten":
        assert len({r["eps"] for r in sweep}) >= 3
    best = max(r["val_accuracy"] for r in sweep if r["val_accuracy"] is not None)
    chosen = [r for r in sweep if r["lr"] == f["tuned"]["lr"] and r["eps"] == f["tuned"]["eps"]]
    assert len(chosen) == 1 and chosen[0]["val_accuracy"] == best  # the chosen rate has the best validation accuracy
    assert card["training"]["lr"] == f["tuned"]["lr"] and card["training"]["seed"] == f["shipped"]["seed"]
    if kind == "whiten":
        assert card["training"]["eps"] == f["tuned"]["eps"] == card["preprocess"]["eps"]
    shipped_run = next(r for r in f["runs"]["tuned"] if r["seed"] == f["shipped"]["seed"])
    assert shipped_run["test_accuracy"] == card["test_accuracy"] and shipped_run["val_accuracy"] == card["val_accuracy"]
    assert shipped_run["val_accuracy"] == best  # the sweep's run at the chosen rate is the shipped one, trained once


def test_train_all_builds_the_pre_family_with_one_train_family_run(synth_mnist, tmp_path, capsys, monkeypatch):
    from engine.__main__ import main
    from engine.cli import train as command
    from engine.model import MLP
    from engine.modelfile import save_model
    calls = []

    def fake_run(cmd, **kwargs):  # stands in for the child: records the command, writes what train-family would
        calls.append(cmd)
        for kind in cmd[cmd.index("--kinds") + 1:cmd.index("--jobs")]:
            params = {"W1": np.zeros((784, 10), np.float32), "b1": np.zeros(10, np.float32)}
            card = {"test_accuracy": 0.9, "val_accuracy": 0.8, "best_epoch": 3, "title": f"t {kind}"}
            save_model(MLP(params, card=card), tmp_path / f"pre-{kind}.npz")
        return type("Done", (), {"returncode": 0})()

    monkeypatch.setattr(command.subprocess, "run", fake_run)
    assert main(["train-all", "--only", "pre-unit", "pre-whiten", "--jobs", "2", "--out-dir", str(tmp_path),
                 "--data-dir", str(synth_mnist[0])]) == 0
    assert len(calls) == 1 and calls[0][1:4] == ["-m", "engine", "train-family"]
    assert calls[0][calls[0].index("--kinds") + 1:calls[0].index("--jobs") + 2] == ["unit", "whiten", "--jobs", "2"]
    out = capsys.readouterr().out
    assert "| pre-unit | 0.9000 | 0.8000 | 3 |" in out and "| pre-whiten | 0.9000 | 0.8000 | 3 |" in out


def test_the_recipe_of_a_pre_model_uses_the_rate_its_card_chose(monkeypatch, tmp_path):
    from engine.cli import train as command
    (tmp_path / "pre-whiten.json").write_text(json.dumps({"family": {"tuned": {"lr": 0.016, "eps": 1.0}}}))
    monkeypatch.setattr(command, "MODELS_DIR", tmp_path)
    args = type("Args", (), {"recipe": "pre-whiten"})()
    c = command.config_from(args)
    assert (c.lr, c.eps, c.preprocess, c.epochs) == (0.016, 1.0, "whiten", 15)
    assert command.config_from(type("Args", (), {"recipe": "pre-unit"})()).lr == 0.002  # no card: the shared rate


def test_compare_seeds_runs_seed_by_seed_with_one_start_per_seed_and_stops_whole(synth_mnist):
    from engine.compare import compare_seeds, parse_run
    x, t = synth_mnist[1]["train"]
    x = x.reshape(len(x), -1)
    config = TrainConfig(hidden=(8,), epochs=1, val_size=100)
    models = compare_seeds(x, t, kinds=("unit", "center"), seeds=(4, 5), config=config)
    assert list(models) == ["unit@4", "center@4", "unit@5", "center@5"] and parse_run("center@5") == ("center", 5)
    init = {n: m.card["provenance"]["init_sha256"] for n, m in models.items()}
    assert init["unit@4"] == init["center@4"] != init["unit@5"] == init["center@5"]  # one start per seed, for every kind
    assert [m.card["training"]["seed"] for m in models.values()] == [4, 4, 5, 5]
    seen = []

    def stop_in_the_third_run(name, info):
        seen.append(name)
        return name != "unit@5"

    stopped = compare_seeds(x, t, kinds=("unit", "center"), seeds=(4, 5), config=config, callback=stop_in_the_third_run)
    assert list(stopped) == ["unit@4", "center@4", "unit@5"] and "center@5" not in seen  # the runs to come are skipped


def test_the_default_plan_is_the_one_the_shipped_family_was_built_with():
    plan, cards = Plan(), {k: json.loads((ROOT / "models" / f"pre-{k}.json").read_text())["family"] for k in KINDS}
    for kind, f in cards.items():
        assert list(plan.rates) == f["start_grid"]["lr"] and list(plan.seeds) == f["seeds"] and f["sweep_seed"] == plan.seeds[0]
        steps = len(f["grid"]["lr"]) - len(plan.rates)
        assert steps <= plan.extend, kind  # never more steps beyond the grid than the plan allows
    assert list(plan.eps) == cards["whiten"]["start_grid"]["eps"]
    assert len(cards["whiten"]["grid"]["lr"]) - len(plan.rates) == plan.extend  # whiten's rate needed every step allowed


def test_a_run_is_known_by_its_choice_rate_seed_and_for_whiten_only_its_eps():
    a = replace(TINY, preprocess="unit", lr=0.004, eps=0.5, seed=3)
    assert family.key(a) == ("unit", 0.004, None, 3) and family.key(replace(a, eps=2.0)) == family.key(a)
    w = replace(a, preprocess="whiten")
    assert family.key(w) == ("whiten", 0.004, 0.5, 3) != family.key(replace(w, eps=2.0))


def test_beyond_a_grid_of_two_and_a_rounded_step():
    assert family.beyond((0.1, 1.0), 0.1) == 0.01 and family.beyond([1.0, 0.1], 1.0) == 10.0  # any order
    assert family.beyond((0.3, 0.7), 0.3) == 0.128571  # 0.09 / 0.7 = 0.1285714...: six significant digits
    assert family.beyond((0.3, 0.7), 0.7) == 1.63333  # 0.49 / 0.3
    assert family.beyond((), 0.1) is None


def test_pick_breaks_eps_ties_towards_the_middle_then_takes_the_smaller_rate():
    rows = [{"lr": lr, "eps": e, "val_accuracy": 0.9} for lr in (0.001, 0.002) for e in (0.01, 0.1, 1.0)]
    assert pick(rows) == {"lr": 0.001, "eps": 0.1, "val_accuracy": 0.9}  # both rates are as near the middle: the smaller
    rows.append({"lr": 0.008, "eps": 0.1, "val_accuracy": None})  # a diverged run: not part of the grid's middle
    assert pick(rows)["lr"] == 0.001
    rows.append({"lr": 0.004, "eps": 1.0, "val_accuracy": 0.9})
    assert pick(rows) == {"lr": 0.002, "eps": 0.1, "val_accuracy": 0.9}  # of 0.001, 0.002 and 0.004: the middle one
    with pytest.raises(ValueError, match=r"^pick\(\) needs at least one sweep row of a run that trained\.$"):
        pick([{"lr": 0.1, "eps": None, "val_accuracy": None}])


def test_a_choice_without_eps_runs_its_seeds_at_the_base_eps():
    runs = seed_configs("unit", base=replace(TINY, eps=0.3), plan=Plan(seeds=(2, 9)), tuned={"lr": 0.004, "eps": None})
    assert [(c.preprocess, c.lr, c.eps, c.seed) for c in runs["tuned"]] == [("unit", 0.004, 0.3, 2), ("unit", 0.004, 0.3, 9)]
    assert [(c.preprocess, c.lr, c.eps, c.seed) for c in runs["shared"]] == [("unit", TINY.lr, 0.3, 2), ("unit", TINY.lr, 0.3, 9)]


def test_sweep_and_seed_rows_hold_a_runs_validation_numbers():
    c = replace(TINY, preprocess="whiten", lr=0.004, eps=1.0, seed=3, epochs=4)
    m = Fake(c, 0.96)  # val_acc 0.24, 0.48, 0.72, 0.96: 0.95 first reached in epoch 4
    m.card["best_epoch"], m.card["seconds"] = 3, 12.5
    assert family.sweep_row(m, c) == {"lr": 0.004, "eps": 1.0, "val_accuracy": 0.96, "best_epoch": 3, "to95": 4}
    unit = replace(c, preprocess="unit")
    assert family.sweep_row(Fake(unit, 0.5), unit) == {"lr": 0.004, "eps": None, "val_accuracy": 0.5, "best_epoch": 4, "to95": None}
    assert family.sweep_row(None, c) == {"lr": 0.004, "eps": 1.0, "val_accuracy": None, "best_epoch": None, "to95": None}
    assert family.sweep_row(None, unit)["eps"] is None
    assert family.seed_row(m, test_accuracy=0.955) == {"seed": 3, "test_accuracy": 0.955, "val_accuracy": 0.96, "best_epoch": 3,
                                                       "to95": 4, "seconds": 12.5}


def test_build_writes_every_field_of_a_choice_s_entry():
    plan = Plan(rates=(0.002, 0.004, 0.008), eps=(0.5,), seeds=(3, 5))
    shipped, entries = build(["unit"], base=TINY, plan=plan, train_many=lambda cs: [Fake(c, fake_val(c)) for c in cs],
                             score=lambda m: round(m.card["val_accuracy"] - 0.01, 6))

    def val(lr, seed):
        return fake_val(replace(TINY, preprocess="unit", lr=lr, seed=seed))

    def run(lr, seed):
        return {"seed": seed, "test_accuracy": round(val(lr, seed) - 0.01, 6), "val_accuracy": val(lr, seed), "best_epoch": 2,
                "to95": 2, "seconds": 1.0}

    assert entries == {"unit": {
        "kind": "unit", "target": 0.95, "chosen_by": "val_accuracy", "sweep_seed": 3,
        "grid": {"lr": [0.002, 0.004, 0.008], "eps": None}, "start_grid": {"lr": [0.002, 0.004, 0.008], "eps": None},
        "sweep": [{"lr": lr, "eps": None, "val_accuracy": val(lr, 3), "best_epoch": 2, "to95": 2} for lr in (0.002, 0.004, 0.008)],
        "tuned": {"lr": 0.004, "eps": None}, "shared": {"lr": TINY.lr, "eps": None}, "seeds": [3, 5],
        "shipped": {"rate": "tuned", "seed": 3},
        "runs": {"tuned": [run(0.004, 3), run(0.004, 5)], "shared": [run(TINY.lr, 3), run(TINY.lr, 5)]}}}
    assert family.key(shipped["unit"].config) == ("unit", 0.004, None, 3)


@pytest.mark.parametrize("extend, grid, tuned", [(0, [0.001, 0.002, 0.004], 0.001), (1, [0.0005, 0.001, 0.002, 0.004], 0.0005),
                                                 (2, [0.00025, 0.0005, 0.001, 0.002, 0.004], 0.00025)])
def test_the_sweep_steps_beyond_an_edge_at_most_extend_times(extend, grid, tuned):
    plan = Plan(rates=(0.001, 0.002, 0.004), seeds=(0,), extend=extend)
    calls = []

    def train_many(configs):  # the lower the rate the better: every step beyond the lower edge finds a new best
        calls.append(sorted(c.lr for c in configs))
        return [Fake(c, 0.9 - c.lr) for c in configs]

    _, entries = build(["unit"], base=TINY, plan=plan, train_many=train_many, score=lambda m: 0.5)
    assert entries["unit"]["grid"]["lr"] == grid and entries["unit"]["tuned"]["lr"] == tuned
    assert calls[1:1 + extend] == [[g] for g in grid[:extend][::-1]]  # one new rate a round, each trained once


def test_a_run_beyond_the_grid_that_diverges_ends_the_steps_and_stays_in_the_table():
    plan = Plan(rates=(0.001, 0.002, 0.004), seeds=(0,), extend=3)
    _, entries = build(["unit"], base=TINY, plan=plan, train_many=lambda cs: [None if c.lr > 0.004 else Fake(c, 0.9 + c.lr) for c in cs],
                       score=lambda m: 0.5)
    e = entries["unit"]
    assert e["grid"]["lr"] == [0.001, 0.002, 0.004, 0.008] and e["tuned"]["lr"] == 0.004
    assert e["sweep"][-1] == {"lr": 0.008, "eps": None, "val_accuracy": None, "best_epoch": None, "to95": None}


def test_whitenings_entry_names_its_start_and_shared_eps():
    plan = Plan(rates=(0.002, 0.004, 0.008), eps=(0.1, 1.0, 10.0), seeds=(0,))
    base = replace(TINY, eps=0.2)
    _, entries = build(["whiten", "unit"], base=base, plan=plan, train_many=lambda cs: [Fake(c, fake_val(c)) for c in cs],
                       score=lambda m: 0.5)
    assert entries["whiten"]["start_grid"] == {"lr": [0.002, 0.004, 0.008], "eps": [0.1, 1.0, 10.0]}
    assert entries["whiten"]["shared"] == {"lr": TINY.lr, "eps": 0.2} and entries["unit"]["shared"] == {"lr": TINY.lr, "eps": None}
    assert entries["unit"]["start_grid"] == {"lr": [0.002, 0.004, 0.008], "eps": None}


def test_a_trainer_that_loses_a_run_is_an_error_not_a_shifted_table():
    with pytest.raises(ValueError):
        build(["unit"], base=TINY, plan=Plan(rates=(0.001, 0.002, 0.004), seeds=(0,)),
              train_many=lambda cs: [Fake(c, 0.9) for c in cs[1:]], score=lambda m: 0.5)
