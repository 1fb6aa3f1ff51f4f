"""A 28x28 digit in a link: 16 grey levels, two pixels a byte, zlib, base64url (175 characters on average for MNIST).

The text is checked before the work it guards: its length before base64 decoding, and the unpacked size while zlib
inflates (at most RAW_BYTES + 1 bytes are ever produced). zlib's checksum catches most changed characters; whatever
else decodes is just another digit.
"""
import base64
import binascii
import re
import zlib

import numpy as np

from .errors import ImageFormatError

SIDE = 28
LEVELS = 16  # 4 bits a pixel: MNIST's 256 grey levels in steps of 17
STEP = 255 // (LEVELS - 1)
VERSION = 1  # the first unpacked byte, so a later format can be told apart
RAW_BYTES = 1 + SIDE * SIDE // 2  # version byte + two pixels a byte
# The longest code the 10,000 MNIST test digits make is 264 characters; a code can never need more than zlib's worst case
# (393 bytes stored + 11) as base64, 540. Anything longer is refused before it is decoded.
MAX_CHARS = 600
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def quantize(digit):
    """A digit (28, 28) 0-255 -> the same digit in 16 grey levels (uint8 multiples of 17), what a link carries."""
    d = np.clip(np.asarray(digit, np.float32).reshape(SIDE, SIDE), 0, 255)
    return (np.rint(d / STEP) * STEP).astype(np.uint8)


def encode(digit):
    """A digit (28, 28) 0-255 -> URL-safe text of about 100-260 characters ([A-Za-z0-9_-], no padding)."""
    q = (quantize(digit) // STEP).reshape(-1)
    packed = (q[0::2] << 4) | q[1::2]  # (392,): even pixel in the high nibble
    data = zlib.compress(bytes([VERSION]) + packed.tobytes(), 9)
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(text):
    """URL text from encode() -> the digit (28, 28) uint8; anything else raises ImageFormatError in one sentence."""
    if not isinstance(text, str) or not text:
        raise ImageFormatError("The drawing in the link is empty: copy the whole link again.")
    if len(text) > MAX_CHARS:
        raise ImageFormatError(f"The drawing in the link is {len(text):,} characters long, more than the {MAX_CHARS} a "
                               "drawing takes: copy the link again.")
    if not _ALPHABET.fullmatch(text):
        raise ImageFormatError("The drawing in the link holds characters a drawing never has: copy the link again.")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        raw = inflate.decompress(data, RAW_BYTES + 1)  # never more than one byte past the size a drawing has
    except (binascii.Error, ValueError, zlib.error):
        raise ImageFormatError("The drawing in the link is damaged (cut short or changed): copy the link again.") from None
    if len(raw) != RAW_BYTES or not inflate.eof or inflate.unused_data or inflate.unconsumed_tail:
        raise ImageFormatError("The drawing in the link does not unpack to one 28 × 28 digit: copy the link again.")
    if raw[0] != VERSION:
        raise ImageFormatError(f"The drawing in the link is in format {raw[0]}; this app reads format {VERSION}.")
    packed = np.frombuffer(raw, np.uint8, offset=1)
    q = np.empty(SIDE * SIDE, np.uint8)
    q[0::2], q[1::2] = packed >> 4, packed & 0x0F
    digit = (q * STEP).reshape(SIDE, SIDE)
    if not digit.any():
        raise ImageFormatError("The drawing in the link is blank: there is no digit to read.")
    return digit
