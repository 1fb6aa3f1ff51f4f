"""Digit pictures as PNG bytes for st.image: uint8 28x28 scaled up with hard pixel edges."""
import io

import numpy as np
from PIL import Image


def picture(img28, *, scale=3, invert=False):
    """A PIL greyscale image of a uint8 (28, 28) digit, each pixel a scale x scale block (no blur)."""
    a = np.asarray(img28, np.uint8)
    if invert:
        a = 255 - a
    return Image.fromarray(a, mode="L").resize((a.shape[1] * scale, a.shape[0] * scale), Image.Resampling.NEAREST)


def png(img28, *, scale=3, invert=False):
    """PNG bytes of a uint8 (28, 28) digit, scaled up by scale."""
    buf = io.BytesIO()
    picture(img28, scale=scale, invert=invert).save(buf, format="PNG", optimize=False)
    return buf.getvalue()
