"""A crafted canvas value (issue 13, row 6): the drawing arrives as a PNG a client can forge; its declared size is
checked from the header, before any pixel is decoded, and an oversized one gets one clear message."""
import io
import struct
import sys
import tracemalloc
import types
import zlib

import numpy as np
import pytest
from PIL import Image

from engine.errors import ImageFormatError
from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, page_text, run_page

app_env = apptest_helpers.app_env  # fixture


def png_declaring(width, height):
    """A small valid-looking PNG whose header declares width x height RGBA pixels (its data is one short row)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def drawn_png(side=280):
    """A real canvas PNG: white stroke on black, side x side RGBA."""
    x = np.zeros((side, side, 4), np.uint8)
    x[..., 3] = 255
    x[60:220, 130:150, :3] = 255
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, format="PNG")
    return buf.getvalue()


def test_a_real_drawing_decodes_to_its_pixels():
    from engine.imagefile import canvas_pixels
    px = canvas_pixels(drawn_png(), most=1120)
    assert px.shape == (280, 280, 4) and px[100, 140, 0] == 255 and px[10, 10, 0] == 0


@pytest.mark.parametrize("size", [(13_300, 13_300), (1121, 280), (0, 5)])
def test_an_oversized_canvas_is_refused_before_decoding(size):
    from engine.imagefile import canvas_pixels
    tracemalloc.start()
    with pytest.raises(ImageFormatError, match="canvas"):
        canvas_pixels(png_declaring(*size), most=1120)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000, peak  # decoding 13,300² RGBA would take 700 MB


def fake_canvas(monkeypatch, data):
    """Replace the canvas component with one whose value is the PNG data, as a crafted client message would be."""
    class Result:
        json_data = {"objects": [{"type": "path"}]}
        image_bytes = data

        @property
        def image_data(self):  # what the page read before: decodes whatever the client sent
            return np.asarray(Image.open(io.BytesIO(data)))

    monkeypatch.setitem(sys.modules, "streamlit_drawable_canvas",
                        types.SimpleNamespace(st_canvas=lambda **kw: Result()))


def test_the_page_says_one_sentence_for_a_forged_canvas(app_env, monkeypatch):
    fake_canvas(monkeypatch, png_declaring(13_300, 13_300))
    at = run_page("single", query={"input": "draw"})
    assert_no_exception(at)
    assert "The canvas image is 13,300 x 13,300 pixels" in page_text(at)


def test_the_page_reads_a_real_drawing_from_the_canvas_png(app_env, monkeypatch):
    fake_canvas(monkeypatch, drawn_png())
    at = run_page("single", query={"input": "draw"})
    assert_no_exception(at)
    titles = [f["layout"]["title"]["text"] for f in apptest_helpers.plotly_figures(at) if f["layout"].get("title")]
    assert any("your drawing" in title for title in titles), titles  # the input chart names the drawing
