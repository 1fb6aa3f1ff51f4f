"""Facts read off a training history: the per-epoch list a model card stores (epoch, loss, train_acc, val_acc, seconds)."""


def epochs_to(history, *, target=0.95, key="val_acc"):
    """The first epoch whose key reached target, or None if no epoch did."""
    for row in history or []:
        value = row.get(key)
        if isinstance(value, int | float) and value >= target:
            return int(row["epoch"])
    return None


def column(history, key):
    """(epochs, values) of one key, skipping rows without a number for it."""
    rows = [r for r in history or [] if isinstance(r.get(key), int | float)]
    return [int(r["epoch"]) for r in rows], [float(r[key]) for r in rows]


def summary(card, *, target=0.95):
    """{'val_acc', 'best_epoch', 'epochs', 'to_target', 'seconds'} of a card (None where the card does not say)."""
    history = card.get("history") or []
    _, val = column(history, "val_acc")
    _, secs = column(history, "seconds")
    return {"val_acc": card.get("val_accuracy", max(val) if val else None), "best_epoch": card.get("best_epoch"),
            "epochs": len(history), "to_target": epochs_to(history, target=target),
            "seconds": sum(secs) if secs else None}
