"""`predict`: read the digit in each picture file; one `FILE<TAB>DIGIT<TAB>PROBABILITY` line per file."""
import sys
from pathlib import Path

from ..errors import EngineError, ImageFormatError, ModelFormatError
from ..modelfile import load_model
from ..picture import digitize_bytes
from .data_cmds import MODELS_DIR

DEFAULT_WEIGHTS = MODELS_DIR / "default.npz"


def add_parser(sub):
    p = sub.add_parser("predict", help="read the digit in picture files (PNG, JPEG, BMP, GIF, WebP): FILE<TAB>DIGIT<TAB>PROBABILITY")
    p.add_argument("--weights", help=f"model .npz or the book's sample_weight.pkl (default: {DEFAULT_WEIGHTS})")
    p.add_argument("files", nargs="+", metavar="FILE", help="pictures of one digit each: drawn, scanned or photographed")
    p.set_defaults(run=run)


def run(args):
    model = load_model(weights_path(args.weights))
    failed = False
    for name in args.files:
        try:
            proba = model.predict_proba(digitize_bytes(read_file(name), name=name).pixels)[0]  # (10,)
        except EngineError as e:
            print(f"error: {e}", file=sys.stderr)
            failed = True
            continue
        except Exception as e:  # an exotic file tripping a decoder bug must not stop the other files
            print(f"error: {name} could not be read as a picture ({type(e).__name__}: {e}).", file=sys.stderr)
            failed = True
            continue
        digit = int(proba.argmax())
        print(f"{name}\t{digit}\t{proba[digit]:.4f}", flush=True)
    return 1 if failed else 0


def weights_path(given, *, default=DEFAULT_WEIGHTS):
    """The --weights path, or the shipped default model; a missing default is a one-sentence error."""
    if given:
        return Path(given)
    if not default.is_file():
        raise ModelFormatError(f"The default model {default} is missing: train or fetch it, or pass "
                               "--weights PATH (for example the book's sample_weight.pkl).")
    return default


def read_file(name):
    """Bytes of a file; a missing or unreadable file is an ImageFormatError naming it."""
    try:
        return Path(name).read_bytes()
    except OSError as e:
        raise ImageFormatError(f"{name} cannot be read ({e.strerror}): check the path.") from None
