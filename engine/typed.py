"""Typed digits: 0-9 rendered from the fonts installed on this machine, in several sizes, weights and slants."""
import hashlib
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")  # when fc-list is missing
SUFFIXES = (".ttf", ".otf", ".ttc")
PROBE = 48  # px: the size at which a face's ten digits are checked and fingerprinted
SIZES = (20, 32, 56, 96)  # px em sizes a digit is typed at: small ones are blocky, as in a screenshot


def font_files():
    """[(path, face index)] of every TrueType/OpenType face fontconfig lists (else found in FONT_DIRS), sorted."""
    found = set()
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", "--format", "%{file}\t%{index}\n"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            path, _, index = line.partition("\t")
            if path.lower().endswith(SUFFIXES):
                found.add((path, int(index) if index.isdigit() else 0))
    if not found:
        for folder in FONT_DIRS:
            root = Path(folder).expanduser()
            if root.is_dir():
                found |= {(str(p), 0) for p in root.rglob("*") if p.suffix.lower() in SUFFIXES}
    return sorted(found)


def render(font, digit, *, slant=0.0, bold=0):
    """One digit in a loaded font -> soft ink (h, w) float32 0-1, white on black; slant is the shear (x per y), bold px."""
    left, top, right, bottom = font.getbbox(str(digit), stroke_width=bold)
    w, h = right - left + 4, bottom - top + 4  # the glyph's own box and a 2 px margin: slanting a small image is cheap
    lean = int(np.ceil(abs(slant) * h))
    img = Image.new("L", (w + lean, h), 0)
    ImageDraw.Draw(img).text((2 - left + lean // 2, 2 - top), str(digit), fill=255, font=font, stroke_width=bold, stroke_fill=255)
    if slant:
        c = h / 2  # shear about the middle row: x' = x + slant * (c - y), so a positive slant leans the top right
        img = img.transform(img.size, Image.Transform.AFFINE, (1, slant, -slant * c, 0, 1, 0), Image.Resampling.BILINEAR)
    return np.asarray(img, np.float32) / 255


def _load(path, index, size):
    try:
        return ImageFont.truetype(path, size, index=index)
    except (OSError, ValueError):  # a bitmap-only face (colour emoji) has no such size; a broken file
        return None


@lru_cache(maxsize=4)
def faces(files=None):
    """[(name, path, index)] of the faces that type ten distinct, visible digits; faces that type them identically to an
    earlier one (the regional variants of one CJK family) are kept once. files: a tuple of (path, index), default font_files()."""
    out, seen = [], set()
    for path, index in files if files is not None else tuple(font_files()):
        font = _load(path, index, PROBE)
        if font is None:
            continue
        try:
            glyphs = [render(font, d) > 0.5 for d in range(10)]
        except (OSError, ValueError):
            continue
        prints = [hashlib.sha1(np.packbits(g).tobytes()).hexdigest() for g in glyphs]
        if min(int(g.sum()) for g in glyphs) < 20 or len(set(prints)) < 10:  # missing glyphs render blank or as one box
            continue
        key = "".join(prints)
        if key in seen:
            continue
        seen.add(key)
        name = font.getname()
        out.append((f"{name[0]} {name[1]}".strip(), path, index))
    return out


def typed_digits(*, rng, variants=4, face_list=None):
    """Each face's 0-9, `variants` times with a random size, slant and weight -> (soft inks [list of (h, w)], labels (n,),
    face numbers (n,)). Slants are up to ±0.25 (about 14°) on top of a face's own italic; bold adds up to size/24 px."""
    face_list = faces() if face_list is None else face_list
    inks, labels, face_of = [], [], []
    for f, (_, path, index) in enumerate(face_list):
        for digit in range(10):
            for _ in range(variants):
                size = int(rng.choice(SIZES))
                slant = float(rng.uniform(-0.25, 0.25)) if rng.random() < 0.5 else 0.0
                bold = int(rng.integers(0, size // 24 + 1)) if rng.random() < 0.3 else 0
                font = _cached_font(path, index, size)
                inks.append(render(font, digit, slant=slant, bold=bold))
                labels.append(digit)
                face_of.append(f)
    return inks, np.array(labels, np.int64), np.array(face_of, np.int64)


@lru_cache(maxsize=512)
def _cached_font(path, index, size):
    return ImageFont.truetype(path, size, index=index)
