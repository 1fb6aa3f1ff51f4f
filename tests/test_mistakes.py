"""engine.mistakes: which test images a model gets wrong, and stepping through them."""
import numpy as np

from engine.mistakes import mistakes, next_after, rank
from engine.model import MLP


def test_mistakes_are_the_images_whose_argmax_differs_from_the_label():
    # a one-layer net whose logit for class k is pixel k: the answer is the brightest of the first 10 pixels
    W = np.zeros((784, 10), np.float32)
    W[np.arange(10), np.arange(10)] = 1.0
    model = MLP({"W1": W, "b1": np.zeros(10, np.float32)})
    x = np.zeros((6, 784), np.uint8)
    brightest = [3, 1, 4, 1, 5, 9]
    x[np.arange(6), brightest] = 200
    t = np.array([3, 0, 4, 2, 5, 9])  # images 1 and 3 are read as 1, but labelled 0 and 2
    np.testing.assert_array_equal(mistakes(model, x, t, batch_size=4), [1, 3])


def test_next_after_steps_forward_and_wraps_round():
    wrong = np.array([4, 9, 20])
    assert [next_after(wrong, i) for i in (-1, 0, 4, 5, 9, 19, 20, 99)] == [4, 4, 9, 9, 20, 20, 4, 4]
    assert next_after(np.array([], int), 3) is None


def test_rank_is_one_based_and_none_for_a_right_answer():
    wrong = np.array([4, 9, 20])
    assert [rank(wrong, i) for i in (4, 9, 20, 5, 0, 21)] == [1, 2, 3, None, None, None]
