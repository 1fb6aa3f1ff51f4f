"""Regenerate docs/img/*.png from the browser tests' own screenshots, so the pictures in README and docs/ stay current.

Run from the repository with MNIST_DIR set: `python3 scripts/screenshots.py`. It runs the browser tests that take
these screenshots (in Debian's Chromium), then keeps the top of each page, the part a visitor sees first.
"""
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
OUT = ROOT / "docs" / "img"
TESTS = ["tests/browser/test_browser_answer_first.py", "tests/browser/test_browser_home_dataset.py",
         "tests/browser/test_browser_evaluate.py", "tests/browser/test_browser_languages.py::test_every_page_in_three_languages",
         "tests/browser/test_browser_phone.py::test_each_view_fits_a_phone"]
KEEP = {"answer-first-single": "single", "answer-first-drawn": "single-drawn", "answer-first-photo": "single-photo",
        "answer-first-home": "home", "dataset": "dataset", "evaluate": "evaluate",
        **{f"lang-{lang}-{page}": f"{page}-{lang}" for lang in ("zh", "ja") for page in ("home", "single")}}  # screenshot -> docs name
PHONE = ("home", "dataset", "single", "evaluate", "preprocess", "train", "glossary")  # phone-NAME.png: a 390 x 844 first screen
TOP = 900  # px of the page kept: the first screen of a 1440 x 900 window
WIDTH = 1100  # px wide in docs/: sharp on a laptop, small in the repository


def crop(src, dest):
    """The top TOP px of the screenshot src, scaled to WIDTH px wide, saved as an optimised PNG at dest."""
    with Image.open(src) as im:
        im = im.crop((0, 0, im.width, min(TOP, im.height)))
        im = im.resize((WIDTH, round(im.height * WIDTH / im.width)), Image.Resampling.LANCZOS)
        im.save(dest, optimize=True)


def keep(src, dest):
    """The screenshot src as it is (a phone's first screen, at the phone's 2 device pixels a CSS pixel), optimised, at dest."""
    with Image.open(src) as im:
        im.save(dest, optimize=True)


def main():
    if not os.environ.get("MNIST_DIR"):
        sys.exit("Set MNIST_DIR to the folder with the four MNIST files first: the screenshots show real digits.")
    env = {**os.environ, "REQUIRE_MNIST": "1", "REQUIRE_BROWSER": "1"}
    subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT, env=env, check=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for shot, name in KEEP.items():
        crop(SHOTS / f"{shot}.png", OUT / f"{name}.png")
        print(f"docs/img/{name}.png")
    for name in PHONE:
        keep(SHOTS / f"phone-{name}.png", OUT / f"phone-{name}.png")
        print(f"docs/img/phone-{name}.png")


if __name__ == "__main__":
    main()
