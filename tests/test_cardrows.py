"""ui.cardrows: the card summary names each accuracy for what it was measured on (a trained card holds both)."""
import pytest

from tests.apptest_helpers import random_model
from ui import cardrows
from ui.i18n import t


@pytest.mark.parametrize("card, shown", [
    ({"test_accuracy": 0.9123, "val_accuracy": 0.9555}, "91.23%"),  # a trained card: its best epoch's val is higher
    ({"val_accuracy": 0.9555, "test_accuracy": 0.9123, "accuracy": 0.5}, "91.23%"),
    ({"accuracy": 0.875}, "87.50%"),  # a shipped card of an older format: its one accuracy is the test set's
])
def test_the_test_accuracy_row_holds_the_test_sets_number_never_the_validation_one(card, shown):
    model = random_model([784, 16, 10])
    model.card.update(card)
    rows = dict(cardrows.rows("m", model))
    assert rows[t("card.accuracy")] == shown  # a validation accuracy, if shown at all, has a row of its own


def test_a_card_without_an_accuracy_has_no_accuracy_row():
    rows = dict(cardrows.rows("m", random_model([784, 16, 10])))
    assert t("card.accuracy") not in rows and list(rows)[:2] == [t("card.id"), t("card.layers")]
