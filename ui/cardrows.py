"""A model card's summary rows in the reader's language: structured fields translated, text from the file kept as typed.

A card is data from a file (JSON): its numbers and code names (sigmoid, adam, unit) read the same everywhere, its
English sentences are replaced by translated ones where the app knows their shape, and shown as typed otherwise.
"""
import math
import re

from engine.preprocess import KINDS
from ui.i18n import current_lang, t
from ui.inert import one_line

TRAINING = ("optimizer", "lr", "epochs", "batch_size")  # the settings a reader can compare between two models
PROVENANCE = ("trainer", "numpy", "seed", "data")  # the trainer's record minus its hashes (for a checker, not a reader)
DATA = re.compile(r"^([\d,]+) training images; ([\d,]+) held out for validation")  # engine.train's own sentence
FOREIGN = ("upload:", "shared:")  # ids of models whose card someone else wrote: its title is shown, as typed


def _code(text):
    """text as an inline code span (identifiers, versions, the file's own words): shown exactly, never as Markdown."""
    text = one_line(text).replace("`", "'")
    return f"`{text}`" if text else ""


def accuracy(card):
    """The card's test accuracy in [0, 1] (its 'test_accuracy', or an older card's 'accuracy'), or None if it has none that
    is a number in that range (a card from a file may say anything)."""
    for key in ("test_accuracy", "accuracy"):
        v = card.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 1:
            return float(v)
    return None


def preprocessing(card):
    """'`unit`: pixels / 255 ...' with the description translated for the engine's five kinds."""
    pre = card.get("preprocess") or {}
    kind = pre.get("kind", "unit")
    if kind in KINDS:
        return f"{_code(kind)}: {t(f'card.pre_{kind}')}"
    return _code(f"{kind}: {pre.get('description', '')}".rstrip(": "))


def training(card):
    """'optimizer `adam`, learning rate `0.003`, ...' from the card's training settings, or None."""
    train = card.get("training")
    if not (isinstance(train, dict) and train.get("optimizer")):
        return None
    return t("card.list_sep").join(f"{t(f'card.train_{k}')} {_code(train[k])}" for k in TRAINING if k in train)


def provenance(card):
    """Where the model came from: the trainer's record (translated field names), the book's weights, or the file's text."""
    prov = card.get("provenance")
    if isinstance(prov, dict):
        parts = []
        for k in PROVENANCE:
            if k not in prov:
                continue
            m = DATA.match(str(prov[k])) if k == "data" else None
            value = t("card.prov_data_split", train=m[1], val=m[2]) if m else _code(prov[k])
            parts.append(f"{t(f'card.prov_{k}')}: {value}")
        return t("card.list_sep").join(parts) or None
    if prov and card.get("name") == "book" and current_lang() != "en":
        return t("card.prov_book")
    return _code(prov) if prov else None


def rows(model_id, model):
    """[(label, Markdown value)] of the card summary: id, layers, activation, preprocessing, accuracy, training, provenance,
    and for an uploaded or shared model the title its file gives (the app's own title is modeltitles.title)."""
    card = model.card
    out = [(t("card.id"), _code(model_id)),
           (t("card.layers"), " → ".join(str(s) for s in model.sizes)),
           (t("card.activation"), f"{model.activation} → softmax"),
           (t("card.preprocess"), preprocessing(card))]
    if (acc := accuracy(card)) is not None:
        out.append((t("card.accuracy"), f"{acc:.2%}"))
    for label, value in ((t("card.training"), training(card)), (t("card.provenance"), provenance(card))):
        if value:
            out.append((label, value))
    if str(model_id).startswith(FOREIGN) and isinstance(card.get("title"), str) and card["title"].strip():
        out.append((t("card.file_title"), _code(one_line(card["title"], most=120))))  # the author's words, as typed
    return out
