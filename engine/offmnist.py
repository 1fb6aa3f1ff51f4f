"""Digits unlike MNIST's, built on the fly and never trained on: typed digits from this machine's fonts, and handwriting-like
digits (MNIST test digits restyled, plus pen-drawn forms MNIST lacks), all made into 28x28 by the picture pipeline."""
from dataclasses import dataclass

import numpy as np

from . import restyle, strokes, typed
from .picture import digit_of_ink

PARTS = ("typed", "hand")
SEED = 0  # the set every model card and the evaluation page report


@dataclass(frozen=True)
class OffMnist:
    """The set: pixels x (n, 784) uint8 like MNIST's, labels t (n,), part (n,) 'typed' or 'hand', and what each image is."""

    x: np.ndarray
    t: np.ndarray
    part: np.ndarray
    what: tuple  # (n,) one short description per image: the font and style, or what was done to which test digit
    n_faces: int
    seed: int

    def description(self):
        """One sentence saying what the set holds, for a model card and the evaluation page."""
        n_typed, n_hand = int((self.part == "typed").sum()), int((self.part == "hand").sum())
        return (f"{len(self.t):,} digits unlike MNIST's (seed {self.seed}), never trained on: {n_typed:,} typed in {self.n_faces} "
                f"font faces of this machine (sizes {min(typed.SIZES)}-{max(typed.SIZES)} px, slants up to ±14°, extra weight) "
                f"and {n_hand:,} handwriting-like: MNIST test digits with another pen width and slant, 1s with a flag or base, "
                "barred 7s, and pen-drawn open-top 4s, flagged 1s, barred 7s and small-loop 9s; all through the picture pipeline.")


def _rng(seed, stream):
    return np.random.default_rng([seed, 16, stream])  # 16: the issue that made this set, so no other stream of a seed repeats it


def build(x_test, t_test, *, seed=SEED, n_restyled=1000, n_drawn=400, variants=4, face_list=None):
    """OffMnist from MNIST's test pixels x_test (n, 784) 0-255 and labels t_test (n,): the same set for the same seed,
    test images and fonts. n_restyled test digits (as many of each label as there are, up to n_restyled / 10), n_drawn
    pen-drawn digits, and each font face's ten digits `variants` times."""
    x_test, t_test = np.asarray(x_test).reshape(len(x_test), -1), np.asarray(t_test)
    faces = typed.faces() if face_list is None else face_list
    inks, labels, face_of = typed.typed_digits(rng=_rng(seed, 0), variants=variants, face_list=faces)
    what = [f"typed: {faces[f][0]}" for f in face_of]
    parts = ["typed"] * len(inks)

    pick_rng, style_rng = _rng(seed, 1), _rng(seed, 2)
    for d in range(10):
        pool = np.flatnonzero(t_test == d)
        for i in np.sort(pick_rng.choice(pool, size=min(len(pool), n_restyled // 10), replace=False)):
            ink, done = restyle.restyle(x_test[i], d, rng=style_rng)
            inks.append(ink)
            what.append(f"MNIST test #{i}: {done}")
        labels = np.concatenate([labels, np.full(len(inks) - len(labels), d)])
    parts += ["hand"] * (len(inks) - len(parts))

    drawn, drawn_t, forms = strokes.drawn_digits(n_drawn, rng=_rng(seed, 3))
    inks += drawn
    labels = np.concatenate([labels, drawn_t])
    what += [f"drawn: {f}" for f in forms]
    parts += ["hand"] * len(drawn)
    x = np.stack([digit_of_ink(ink) for ink in inks]) if inks else np.zeros((0, 784), np.uint8)
    return OffMnist(x=x, t=labels.astype(np.int64), part=np.array(parts), what=tuple(what), n_faces=len(faces), seed=seed)


def score(model, s):
    """{'accuracy', 'typed', 'hand', 'n', 'n_typed', 'n_hand'} of a model on an OffMnist set (accuracies None when empty)."""
    right = model.predict(s.x) == s.t if len(s.t) else np.zeros(0, bool)
    acc = lambda m: float(right[m].mean()) if m.any() else None
    return {"accuracy": acc(np.ones(len(right), bool)), "typed": acc(s.part == "typed"), "hand": acc(s.part == "hand"),
            "n": int(len(right)), "n_typed": int((s.part == "typed").sum()), "n_hand": int((s.part == "hand").sum())}


def card_entry(model, s):
    """What a model card stores: the accuracies on the set and the set's description."""
    return {**score(model, s), "seed": s.seed, "faces": s.n_faces, "description": s.description()}
