"""Text from files and links (model cards, titles, names) made inert: one line, no control characters, bounded length."""
import re

MAX_CHARS = 200  # a card field longer than this is cut: it is a label, not a document
# C0 and C1 controls (NUL, newline, tab, escape...), and Unicode's line and paragraph separators: each ends a line
# somewhere (Markdown, HTML, a terminal), and a newline in a code span lets the rest render as Markdown
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(text, *, most=MAX_CHARS):
    """str(text) on one line: every run of control characters a single space, at most `most` characters (… when cut)."""
    text = " ".join(_BREAKS.sub(" ", str(text)).split())
    return text if len(text) <= most else text[: most - 1] + "…"
