"""A model's name in the reader's language, built from what the model is and what its card says, never the card's own title.

A card's `title` is one sentence in the language it was written in (the shipped ones in English), and an uploaded or
shared card is anybody's text. So the label and the title are put together from the catalog's words and from values
checked here: the layer sizes, activation and preprocessing of the loaded network itself, and of the card only an
optimizer, schedule, epoch count, augmentation flag or test accuracy of a known kind and a sane range. A field that is
missing or odd is left out; the id's own origin (shipped, the book's, trained here, uploaded, shared) is always said.

label() is short, for a select box: "default: ReLU 784-256-128-10, test 99.08%".
title() is the whole sentence, for the model card and the picker's help.
"""
from engine.optim import OPTIMIZERS, SCHEDULES
from ui.cardrows import accuracy
from ui.i18n import t
from ui.stats import percent

ORIGINS = ("session", "upload", "shared")  # the id prefixes of models that are not files of this server
MAX_EPOCHS = 100_000  # a card claiming more is not a training record


def _origin(model_id, card):
    """(origin, name): 'shipped', 'book', or one of ORIGINS with the name after its 'kind:' prefix."""
    kind, _, rest = str(model_id).partition(":")
    if kind in ORIGINS and rest:
        return kind, rest
    if model_id == "book" and not isinstance(card.get("training"), dict):  # $BOOK_WEIGHTS: no training record of ours
        return "book", "book"
    return "shipped", str(model_id)


def _name(model_id, card):
    origin, name = _origin(model_id, card)
    return name if origin == "shipped" else t(f"mtitle.name_{origin}", name=name)


def _count(value):
    """value as a count of epochs, or None: an int (not a bool) from 1 to MAX_EPOCHS."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_EPOCHS else None


def recipe(card):
    """[words] of how the model was trained, from its card's checked fields: optimizer, schedule, epochs, augmentation."""
    train = card.get("training") if isinstance(card.get("training"), dict) else {}
    history = card.get("history")
    epochs = _count(len(history)) if isinstance(history, list) and history else _count(train.get("epochs"))
    words = []
    if isinstance(train.get("optimizer"), str) and train["optimizer"] in OPTIMIZERS:
        words.append(t(f"mtitle.opt_{train['optimizer']}"))
    if isinstance(train.get("schedule"), str) and train["schedule"] in SCHEDULES and train["schedule"] != "constant":
        words.append(t(f"mtitle.sched_{train['schedule']}"))
    if epochs:
        words.append(t("mtitle.epochs", n=epochs))
    for flag in ("distort", "augment"):  # the trainer uses one or the other: elastic distortions, or shifts and turns
        if train.get(flag) is True:
            words.append(t(f"mtitle.{flag}"))
            break
    return words


def _kind(model):
    return model.preprocess.kind if model.preprocess is not None else "raw"


def _act(model):
    return t(f"mtitle.act_{model.activation}")


def label(model_id, model):
    """A short menu label: the name, the network's shape, its preprocessing unless the book's / 255, its test accuracy."""
    words = [t("mtitle.net", act=_act(model), sizes="-".join(map(str, model.sizes)))]
    if _kind(model) != "unit":
        words.append(t(f"mtitle.pre_{_kind(model)}"))
    acc = accuracy(model.card)
    if acc is not None:
        words.append(t("mtitle.acc", v=percent(acc, 2)))
    return t("mtitle.label", name=_name(model_id, model.card), what=t("card.list_sep").join(words))


def title(model_id, model):
    """The model in one sentence: name, network, input, training recipe and test accuracy (plain text: escape it for Markdown)."""
    words = [t("mtitle.net_long", act=_act(model), sizes=" → ".join(map(str, model.sizes))),
             t("mtitle.input", pre=t(f"mtitle.pre_{_kind(model)}")), *recipe(model.card)]
    acc = accuracy(model.card)
    if acc is not None:
        words.append(t("mtitle.acc_long", v=percent(acc, 2)))
    return t("mtitle.label", name=_name(model_id, model.card), what=t("card.list_sep").join(words))
