"""A one-line text progress bar on stderr for the CLI's callbacks."""
import sys


def bar(label, done, total, *, width=30, stream=None):
    """Redraw one progress line: label [#####-----] 50% (done/total)."""
    stream = stream or sys.stderr
    frac = done / total if total else 0.0
    fill = int(width * frac)
    stream.write(f"\r{label:<28} [{'#' * fill}{'-' * (width - fill)}] {frac:6.1%}")
    if total and done >= total:
        stream.write("\n")
    stream.flush()
