"""engine.drawcode: a 28x28 digit in a link. Round trips exactly (in 16 grey levels), stays short, and refuses hostile
text (truncated, changed, random, huge, a zlib bomb) with one ImageFormatError, never another exception."""
import base64
import tracemalloc
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


def test_quantize_clips_out_of_range_values_and_takes_a_flat_row():
    d = np.zeros(784)
    d[:4] = [-20, -400, 300, 1000]  # beyond 0-255: as black or white, never wrapped round
    q = drawcode.quantize(d)
    assert q.shape == (28, 28) and q.dtype == np.uint8
    assert q[0, :4].tolist() == [0, 0, 255, 255] and not q.reshape(-1)[4:].any()


def test_a_code_packs_two_pixels_a_byte_even_pixel_high():
    d = np.zeros((28, 28), np.uint8)
    d[0, 0], d[0, 1], d[27, 27] = 17 * 3, 17 * 12, 255  # levels 3, 12 and 15
    raw = zlib.decompress(base64.urlsafe_b64decode(drawcode.encode(d) + "=" * 4))
    assert len(raw) == drawcode.RAW_BYTES and raw[0] == drawcode.VERSION
    assert raw[1] == 3 * 16 + 12 and raw[-1] == 15 and not any(raw[2:-1])
    assert "=" not in drawcode.encode(d)  # no padding in a link


@pytest.mark.parametrize("value", [None, 123, b"abc", ["abc"]])
def test_anything_but_text_is_an_empty_drawing(value):
    with pytest.raises(ImageFormatError, match="is empty"):
        drawcode.decode(value)


def test_the_length_limit_is_600_characters():
    with pytest.raises(ImageFormatError, match="is 601 characters long, more than the 600"):
        drawcode.decode("A" * 601)
    with pytest.raises(ImageFormatError) as e:
        drawcode.decode("A" * 600)  # long enough to be looked at: refused as damaged, not as too long
    assert "characters long" not in str(e.value)


@pytest.mark.parametrize("bad", ["!", "=", "+", "/", " ", ".", "é"])
def test_a_character_outside_base64url_anywhere_is_named(bad):
    code = drawcode.encode(seven())
    for text in (code + bad, bad + code, code[:10] + bad + code[10:]):
        with pytest.raises(ImageFormatError, match="holds characters a drawing never has"):
            drawcode.decode(text)


def test_a_code_cut_before_its_checksum_is_damaged():
    data = zlib.compress(b"\x01" + b"\x11" * 392)
    for cut in (1, 4):  # all 393 bytes come out, but the stream's end and checksum are missing
        with pytest.raises(ImageFormatError, match="does not unpack|damaged"):
            drawcode.decode(b64(data[:-cut]))


def test_every_code_length_decodes_with_its_padding_restored():
    for n in range(1, 40):  # codes of every length modulo 4
        d = np.zeros((28, 28), np.uint8)
        d.reshape(-1)[:n * 7:7] = 17 * (np.arange(n) % 15 + 1)
        np.testing.assert_array_equal(drawcode.decode(drawcode.encode(d)), d)


@pytest.mark.parametrize("text, message", [
    ("", "The drawing in the link is empty: copy the whole link again."),
    ("A" * 601, "The drawing in the link is 601 characters long, more than the 600 a drawing takes: copy the link again."),
    ("abc!", "The drawing in the link holds characters a drawing never has: copy the link again."),
    ("A", "The drawing in the link is damaged (cut short or changed): copy the link again."),
    (b64(zlib.compress(b"\x01" + b"\x11" * 391)), "The drawing in the link does not unpack to one 28 × 28 digit: copy the link again."),
    (b64(zlib.compress(b"\x02" + b"\x31" * 392)), "The drawing in the link is in format 2; this app reads format 1."),
    (b64(zlib.compress(b"\x01" + b"\x00" * 392)), "The drawing in the link is blank: there is no digit to read."),
])
def test_each_refusal_says_what_is_wrong_in_one_sentence(text, message):
    with pytest.raises(ImageFormatError) as e:
        drawcode.decode(text)
    assert str(e.value) == message


def test_a_bomb_never_inflates_past_one_drawing_in_memory():
    bomb = b64(zlib.compress(b"\x01" + b"\x11" * 400_000, 9))
    assert len(bomb) <= drawcode.MAX_CHARS
    tracemalloc.start()
    with pytest.raises(ImageFormatError):
        drawcode.decode(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000, peak  # inflating it all would take 400 kB
