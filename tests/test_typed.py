"""engine.typed with a font of our own (Pillow's built-in Aileron, written to a file) and fake font lists: which files are
found, how a digit is rendered, which faces are kept, and the sizes, slants and weights the typed digits get."""
import subprocess

import numpy as np
import pytest
from PIL import ImageFont

from engine import typed


@pytest.fixture(scope="module")
def font_file(tmp_path_factory):
    """A real TrueType file on any machine: the font Pillow embeds for load_default()."""
    path = tmp_path_factory.mktemp("fonts") / "Aileron.ttf"
    path.write_bytes(ImageFont.load_default(48).path.getvalue())
    return str(path)


def fc_list_only(name):
    """shutil.which on a machine whose only program of interest is fc-list."""
    return "/usr/bin/fc-list" if name == "fc-list" else None


@pytest.fixture
def no_face_cache():
    typed.faces.cache_clear()
    yield
    typed.faces.cache_clear()


def test_font_files_are_what_fontconfig_lists_with_a_font_suffix(monkeypatch):
    seen = {}

    def fake_run(cmd, **kw):
        seen.update(cmd=cmd, **kw)
        out = "/f/b.ttf\t0\n/f/a.TTC\t3\n/f/c.pcf.gz\t0\n/f/d.otf\t\n/f/e.ttf\tx\n/f/b.ttf\t0\n/f/a.TTC\t1\n"
        return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")

    monkeypatch.setattr(typed.shutil, "which", fc_list_only)
    monkeypatch.setattr(typed.subprocess, "run", fake_run)
    assert typed.font_files() == [("/f/a.TTC", 1), ("/f/a.TTC", 3), ("/f/b.ttf", 0), ("/f/d.otf", 0), ("/f/e.ttf", 0)]
    assert seen["cmd"] == ["fc-list", "--format", "%{file}\t%{index}\n"] and seen["capture_output"] and seen["text"]
    assert seen["timeout"] > 0


def font_dirs(tmp_path, monkeypatch):
    """Two font folders, one under a fake home: fonts at any depth, other files, and a folder that does not exist."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("sys/a.ttf", "sys/deep/er/b.OTF", "sys/c.txt", "sys/d.ttc", "home/fonts/e.ttf", "home/fonts/f.woff"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setattr(typed, "FONT_DIRS", (str(tmp_path / "sys"), str(tmp_path / "none"), "~/fonts"))
    return sorted((str(tmp_path / n), 0) for n in ("sys/a.ttf", "sys/deep/er/b.OTF", "sys/d.ttc", "home/fonts/e.ttf"))


def test_without_fontconfig_the_font_folders_are_searched(tmp_path, monkeypatch):
    want = font_dirs(tmp_path, monkeypatch)
    monkeypatch.setattr(typed.shutil, "which", lambda name: None)
    assert typed.font_files() == want


@pytest.mark.parametrize("failure", [OSError("no such program"), subprocess.TimeoutExpired("fc-list", 30), None])
def test_a_failing_or_empty_fontconfig_falls_back_to_the_folders(tmp_path, monkeypatch, failure):
    want = font_dirs(tmp_path, monkeypatch)

    def fake_run(cmd, **kw):
        if failure is not None:
            raise failure
        return subprocess.CompletedProcess(cmd, 0, stdout="/f/x.pfb\t0\n", stderr="")  # nothing with a font suffix

    monkeypatch.setattr(typed.shutil, "which", fc_list_only)
    monkeypatch.setattr(typed.subprocess, "run", fake_run)
    assert typed.font_files() == want


def ink_rows_cols(img, level=0.0):
    return np.flatnonzero((img > level).any(axis=1)), np.flatnonzero((img > level).any(axis=0))


def test_render_types_the_digit_in_its_box_with_a_two_pixel_margin(font_file):
    font = ImageFont.truetype(font_file, 48)
    margins = []
    for digit in range(10):
        img = typed.render(font, digit)
        left, top, right, bottom = font.getbbox(str(digit))
        assert img.shape == (bottom - top + 4, right - left + 4) and img.dtype == np.float32
        assert img.max() == 1.0 and img.min() == 0.0
        rows, cols = ink_rows_cols(img)
        margins.append((rows[0], img.shape[0] - 1 - rows[-1], cols[0], img.shape[1] - 1 - cols[-1]))
    top, bottom, left, right = np.min(margins, axis=0)  # the glyph box and 2 px around it; a side bearing may add 1 px
    assert top == bottom == 2 and 2 <= left <= 3 and 2 <= right <= 3


def test_render_slants_about_the_middle_row_and_keeps_the_glyph_in_frame(font_file):
    font = ImageFont.truetype(font_file, 48)
    plain = typed.render(font, 1)
    h, w = plain.shape
    for slant in (0.25, -0.2):
        img = typed.render(font, 1, slant=slant)
        assert img.shape == (h, w + int(np.ceil(abs(slant) * h)))
        rows, cols = ink_rows_cols(img, 0.5)
        assert cols[0] >= 1 and cols[-1] <= img.shape[1] - 2  # leaned within its frame, not cut off
        top = np.flatnonzero(img[rows[0] + 2] > 0.5).max()  # the right edge of the stem near the top and the bottom
        bottom = np.flatnonzero(img[rows[-1] - 2] > 0.5).max()
        assert abs((top - bottom) - slant * (rows[-1] - rows[0] - 4)) <= 2, slant
        ink_mid = (np.flatnonzero(img[h // 2] > 0.5).mean(), np.flatnonzero(plain[h // 2] > 0.5).mean())
        assert abs(ink_mid[0] - (ink_mid[1] + int(np.ceil(abs(slant) * h)) // 2)) <= 1.5  # the middle row is not moved


@pytest.mark.parametrize("digit, slant", [(1, 0.25), (7, -0.2), (4, 0.13)])
def test_a_slant_interpolates_each_row_linearly(font_file, digit, slant):
    font = ImageFont.truetype(font_file, 48)
    plain = typed.render(font, digit)
    h, w = plain.shape
    lean = int(np.ceil(abs(slant) * h))
    upright = np.zeros((h, w + lean))
    upright[:, lean // 2:lean // 2 + w] = plain  # the glyph is typed half the lean from the left, then sheared
    got = typed.render(font, digit, slant=slant)
    x = np.arange(w + lean)
    for y in range(h):  # output pixel x reads the row at x + slant (y - h / 2), both at pixel centres
        want = np.interp(x + slant * (y + 0.5 - h / 2), x, upright[y], left=0, right=0)
        np.testing.assert_allclose(got[y], want, atol=1.5 / 255, err_msg=str(y))


def test_render_bold_thickens_the_strokes(font_file):
    font = ImageFont.truetype(font_file, 48)
    plain, bold = typed.render(font, 8), typed.render(font, 8, bold=2)
    assert bold.shape == (plain.shape[0] + 4, plain.shape[1] + 4)  # 2 px of stroke all round
    rows, cols = ink_rows_cols(bold)
    assert rows[0] >= 2 and cols[0] >= 2 and rows[-1] <= bold.shape[0] - 3 and cols[-1] <= bold.shape[1] - 3  # not cut off
    assert (bold > 0.5).sum() > 1.3 * (plain > 0.5).sum()


def test_faces_keep_each_distinct_face_once_and_skip_broken_files(font_file, tmp_path, no_face_cache):
    copy = tmp_path / "copy.ttf"
    copy.write_bytes(open(font_file, "rb").read())
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    got = typed.faces(((str(broken), 0), (font_file, 0), (str(copy), 0), (str(tmp_path / "missing.ttf"), 0)))
    assert got == [("Aileron Regular", font_file, 0)]  # its copy types the same ten digits: kept once


def test_a_face_index_the_file_lacks_loads_nothing(font_file):
    assert typed._load(font_file, 0, 48).getname() == ("Aileron", "Regular")
    assert typed._load(font_file, 1, 48) is None  # a single-face file has no face 1


def fake_glyphs(monkeypatch, ink):
    """render() drawing ink[path][digit] px of ink, each digit's pixels in a different place."""
    def render(font, digit, *, slant=0.0, bold=0):
        n = ink[font.path][digit]
        if n is None:
            raise OSError("the face cannot render this")
        img = np.zeros((40, 40), np.float32)
        img.ravel()[digit * 50: digit * 50 + n] = 1.0
        return img

    monkeypatch.setattr(typed, "render", render)


def test_faces_need_ten_distinct_digits_of_at_least_20_px(font_file, tmp_path, monkeypatch, no_face_cache):
    files = {}
    for name in ("ok", "thin", "same", "fails", "edge"):
        files[name] = str(tmp_path / f"{name}.ttf")
        open(files[name], "wb").write(open(font_file, "rb").read())
    ink = {files["ok"]: [30] * 10, files["thin"]: [30] * 9 + [19], files["same"]: [30] * 9 + [None],
           files["fails"]: [30] * 5 + [None] * 5, files["edge"]: [20] * 10}
    ink[files["same"]] = [30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
    fake_glyphs(monkeypatch, ink)
    got = typed.faces(tuple((files[n], 0) for n in ("thin", "fails", "ok", "edge")))
    assert [path for _, path, _ in got] == [files["ok"], files["edge"]]


def test_faces_drop_a_face_whose_digits_look_alike(font_file, tmp_path, monkeypatch, no_face_cache):
    path = str(tmp_path / "boxes.ttf")
    open(path, "wb").write(open(font_file, "rb").read())

    def render(font, digit, *, slant=0.0, bold=0):
        img = np.zeros((40, 40), np.float32)
        img[5:30, 5:30 + (digit < 9)] = 1.0  # nine digits as one box, one a little different: nine distinct prints
        return img

    monkeypatch.setattr(typed, "render", render)
    assert typed.faces(((path, 0),)) == []


def test_faces_default_to_the_machines_font_files(font_file, monkeypatch, no_face_cache):
    monkeypatch.setattr(typed, "font_files", lambda: [(font_file, 0)])
    assert typed.faces() == [("Aileron Regular", font_file, 0)]


def test_typed_digits_type_each_faces_ten_digits_in_random_sizes_slants_and_weights(font_file, monkeypatch):
    calls = []

    def render(font, digit, *, slant=0.0, bold=0):
        calls.append((font, digit, slant, bold))
        return np.full((3, 3), len(calls), np.float32)

    monkeypatch.setattr(typed, "render", render)
    faces = [("A", font_file, 0), ("B", font_file, 0)]
    inks, labels, face_of = typed.typed_digits(rng=np.random.default_rng(0), variants=60, face_list=faces)
    assert labels.dtype == face_of.dtype == np.int64 and len(inks) == len(calls) == 2 * 10 * 60
    assert labels.tolist() == [d for _ in faces for d in range(10) for _ in range(60)]
    assert face_of.tolist() == [0] * 600 + [1] * 600
    assert [ink[0, 0] for ink in inks] == list(range(1, 1201))
    assert [c[1] for c in calls] == labels.tolist()
    sizes = np.array([c[0].size for c in calls])
    slants, bolds = np.array([c[2] for c in calls]), np.array([c[3] for c in calls])
    assert set(sizes.tolist()) == set(typed.SIZES)
    assert all(c[0].path == font_file for c in calls)
    assert 0.42 < np.mean(slants == 0) < 0.58 and -0.25 <= slants.min() < -0.23 and 0.23 < slants.max() <= 0.25
    zero = 0.7 + 0.3 * np.mean([1 / (size // 24 + 1) for size in sizes])  # bold on 30 %, and 0 px is one of its choices
    assert abs(np.mean(bolds == 0) - zero) < 0.04
    for size in typed.SIZES:
        assert set(bolds[sizes == size].tolist()) == set(range(size // 24 + 1)), size  # up to size / 24 px
    again = typed.typed_digits(rng=np.random.default_rng(0), variants=60, face_list=faces)
    assert [c[2:] for c in calls[:1200]] == [c[2:] for c in calls[1200:]] and again[1].tolist() == labels.tolist()


def test_typed_digits_default_to_the_machines_faces(font_file, monkeypatch, no_face_cache):
    monkeypatch.setattr(typed, "font_files", lambda: [(font_file, 0)])
    inks, labels, face_of = typed.typed_digits(rng=np.random.default_rng(1))
    assert labels.tolist() == [d for d in range(10) for _ in range(4)] and set(face_of.tolist()) == {0}
    assert all(ink.dtype == np.float32 and ink.max() > 0.5 for ink in inks)


def test_fonts_are_loaded_once_per_file_face_and_size(font_file):
    a = typed._cached_font(font_file, 0, 32)
    assert a.size == 32 and a.getname() == ("Aileron", "Regular") and typed._cached_font(font_file, 0, 32) is a
    assert typed._cached_font(font_file, 0, 56).size == 56
