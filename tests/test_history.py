"""engine.history: the facts the pages read off a card's per-epoch history, checked on small hand-made histories."""
from engine.history import column, epochs_to, summary

HISTORY = [{"epoch": 1, "loss": 0.9, "val_acc": 0.80, "seconds": 1.5},
           {"epoch": 2, "loss": 0.5, "val_acc": 0.95, "seconds": 2.0},  # exactly the default target: reached
           {"epoch": 3, "loss": 0.4, "val_acc": None, "seconds": 1.0},  # no number: skipped
           {"epoch": 4, "loss": 0.3, "val_acc": 0.97, "train_acc": 1}]  # no seconds; an int counts as a number


def test_epochs_to_is_the_first_epoch_at_or_above_the_target():
    assert epochs_to(HISTORY) == 2  # 0.95 reaches the default 0.95
    assert epochs_to(HISTORY, target=0.951) == 4
    assert epochs_to(HISTORY, target=0.5) == 1
    assert epochs_to(HISTORY, target=0.98) is None
    assert epochs_to(HISTORY, key="train_acc", target=1.0) == 4  # another key, an int value
    assert epochs_to(HISTORY, key="loss", target=0.9) == 1
    assert epochs_to([{"epoch": 2.0, "val_acc": 0.99}]) == 2 and isinstance(epochs_to([{"epoch": 2.0, "val_acc": 0.99}]), int)
    assert epochs_to([{"epoch": 1, "val_acc": "0.99"}, {"epoch": 2}]) is None  # text and a missing key are no numbers
    assert epochs_to(None) is None and epochs_to([]) is None


def test_column_keeps_the_rows_with_a_number_as_int_epochs_and_float_values():
    epochs, values = column(HISTORY, "val_acc")
    assert epochs == [1, 2, 4] and values == [0.80, 0.95, 0.97]
    epochs, values = column(HISTORY, "train_acc")
    assert epochs == [4] and values == [1.0] and isinstance(values[0], float)
    epochs, _ = column([{"epoch": 3.0, "loss": 1}], "loss")
    assert epochs == [3] and isinstance(epochs[0], int)
    assert column(None, "loss") == ([], []) and column(HISTORY, "nothing") == ([], [])


def test_summary_prefers_the_cards_numbers_and_sums_the_seconds():
    card = {"history": HISTORY, "val_accuracy": 0.96, "best_epoch": 4}
    assert summary(card) == {"val_acc": 0.96, "best_epoch": 4, "epochs": 4, "to_target": 2, "seconds": 4.5}
    assert summary(card, target=0.96)["to_target"] == 4
    # without val_accuracy: the best validation accuracy of the history; without best_epoch: None
    assert summary({"history": HISTORY}) == {"val_acc": 0.97, "best_epoch": None, "epochs": 4, "to_target": 2, "seconds": 4.5}


def test_summary_of_a_card_without_a_history_says_none():
    empty = {"val_acc": None, "best_epoch": None, "epochs": 0, "to_target": None, "seconds": None}
    assert summary({}) == empty and summary({"history": None}) == empty
    assert summary({"history": [{"epoch": 1, "val_acc": None, "seconds": None}]}) == {**empty, "epochs": 1}
