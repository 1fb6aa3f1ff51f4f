"""engine.drawcode: a 28x28 digit in a link. Round trips exactly (in 16 grey levels), stays short, and refuses hostile
text (truncated, changed, random, huge, a zlib bomb) with one ImageFormatError, never another exception."""
import base64
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine import drawcode
from engine.errors import ImageFormatError
from tests.synth import write_mnist

digits = arrays(np.uint8, (28, 28), elements=st.integers(0, 255)).filter(lambda d: (drawcode.quantize(d) > 0).any())


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@given(digits)
@settings(max_examples=200, deadline=None)
def test_any_digit_round_trips_in_sixteen_levels(d):
    code = drawcode.encode(d)
    assert len(code) <= drawcode.MAX_CHARS and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    back = drawcode.decode(code)
    assert back.dtype == np.uint8 and back.shape == (28, 28)
    np.testing.assert_array_equal(back, drawcode.quantize(d))
    assert np.abs(back.astype(int) - d).max() <= 8  # half a step of 17
    assert drawcode.encode(back) == code  # a reopened drawing offers the same link


def test_quantize_is_the_nearest_of_sixteen_levels():
    d = np.arange(784).reshape(28, 28) % 256
    q = drawcode.quantize(d)
    assert set(np.unique(q)) <= set(range(0, 256, 17))
    expect = np.array([min(range(0, 256, 17), key=lambda v: abs(v - x)) for x in d.reshape(-1)]).reshape(28, 28)
    np.testing.assert_array_equal(q, expect)


def test_mnist_like_digits_take_a_few_hundred_characters(tmp_path):
    _, data = write_mnist(tmp_path)
    x, _ = data["test"]
    lengths = [len(drawcode.encode(d)) for d in x]
    assert max(lengths) <= 300, max(lengths)
    worst = np.random.default_rng(0).integers(0, 256, (28, 28))  # noise: incompressible, still under the cap
    assert len(drawcode.encode(worst)) <= drawcode.MAX_CHARS


def seven():
    d = np.zeros((28, 28), np.uint8)
    d[6:9, 8:20] = 255
    d[9:22, 16:19] = 200
    return d


@pytest.mark.parametrize("text", [
    "", "a", "abc", "!!!!", "seven", "a b", "é" * 10,
    drawcode.encode(seven())[:-3],  # truncated
    drawcode.encode(seven())[:20],
    drawcode.encode(seven()) + "AAAA",  # trailing data
    "A" * (drawcode.MAX_CHARS + 1),  # too long: refused before decoding
    "A" * 10_000_000,
    b64(zlib.compress(b"\x01" + b"\x00" * 392)),  # blank
    b64(zlib.compress(b"\x02" + b"\x11" * 392)),  # an unknown format
    b64(zlib.compress(b"\x01" + b"\x11" * 391)),  # one byte short
    b64(zlib.compress(b"\x01" + b"\x11" * 393)),  # one byte long
    b64(zlib.compress(b"\x01" + b"\x11" * 300_000, 9)),  # a zlib bomb: 300 kB in under 600 characters
    b64(b"\x01" + b"\x11" * 392),  # not compressed
])
def test_hostile_text_is_one_clear_error(text):
    with pytest.raises(ImageFormatError) as e:
        drawcode.decode(text)
    assert "\n" not in str(e.value) and str(e.value).endswith(".")


def test_a_bomb_is_refused_without_inflating_it():
    bomb = b64(zlib.compress(b"\x01" + b"\x11" * 300_000, 9))
    assert len(bomb) <= drawcode.MAX_CHARS  # short enough to pass the length check: the inflate limit stops it
    with pytest.raises(ImageFormatError, match="does not unpack to one 28 × 28 digit"):
        drawcode.decode(bomb)


@given(st.text(max_size=700))
@settings(max_examples=500, deadline=None)
def test_random_text_never_raises_anything_else(text):
    try:
        d = drawcode.decode(text)
    except ImageFormatError:
        return
    assert d.shape == (28, 28) and d.dtype == np.uint8 and d.any()


@given(st.data())
@settings(max_examples=300, deadline=None)
def test_a_changed_character_is_refused_or_still_a_digit(data):
    code = drawcode.encode(seven())
    i = data.draw(st.integers(0, len(code) - 1))
    c = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"))
    tampered = code[:i] + c + code[i + 1:]
    try:
        d = drawcode.decode(tampered)
    except ImageFormatError:
        return
    assert d.shape == (28, 28) and d.dtype == np.uint8  # zlib's checksum agreed: just another digit
