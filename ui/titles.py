"""Chart titles that fit a 390 px phone: plotly never wraps a title, so a long one is cut off at the chart's edge.

wrap() breaks a title into lines (at spaces, or between CJK characters); title_size() shrinks a title that must stay
one line (one that links and tests quote whole); title_margin() is the top margin that holds a title's lines.
"""
import re

TITLE_EM = 18  # a title line, in ems of plotly's title font: about 300 px, inside the chart on a 390 px phone
TITLE_PX, PHONE_TITLE_PX = 16, 330  # plotly's title size under Streamlit's theme; the room for a title on that phone
_WIDE = "\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"  # CJK: 1 em each
_TOKEN = re.compile(rf"<[^>]+>|[{_WIDE}]|[^\s<{_WIDE}]+\s*|\s+")  # markup, one CJK character, a word and its space
_NO_LINE_START = set("，、。：；！？）」』】〉》")  # closing punctuation stays on its line


def _em(text):
    """The width of plain text in ems: 1 for a CJK character, 0.42 for a Latin one (plotly's sans serif on average)."""
    return sum(1.0 if re.match(f"[{_WIDE}]", ch) else 0.42 for ch in text)


def _open_bracket(line):
    """Where the last bracket still open in line starts (0 if none is open)."""
    depth, start = 0, 0
    for i in range(len(line) - 1, -1, -1):
        if line[i] in ")）":
            depth += 1
        elif line[i] in "(（":
            if depth == 0:
                start = i
                break
            depth -= 1
    return start


def wrap(text, *, em=TITLE_EM):
    """A chart title in lines of at most em ems, joined by <br>: plotly never wraps a title, and a phone cuts it off.

    Lines break at spaces, and between any two CJK characters (Chinese and Japanese have no spaces); markup and the
    breaks already there are kept.
    """
    out = []
    for part in re.split(r"<br\s*/?>", text):
        lines, line, width = [], "", 0.0
        for tok in _TOKEN.findall(part):
            w = 0.0 if tok.startswith("<") else _em(tok.rstrip())
            if line.strip() and w and width + w > em and tok not in _NO_LINE_START:
                cut = _open_bracket(line)
                if cut and _em(line[:cut]) >= 0.4 * em:  # "… occurs<br>(train set, all digits)", not "(train<br>set"
                    lines.append(line[:cut].rstrip())
                    line = line[cut:]
                else:
                    lines.append(line.rstrip())
                    line, tok = "", tok.lstrip()
                width = _em(line)
            line += tok
            width += 0.0 if tok.startswith("<") else _em(tok)
        lines.append(line.rstrip())
        out += lines
    return "<br>".join(out)


def title_size(title):
    """A font size (px) that keeps title on one line inside a phone's chart, or None when the theme's 16 px fits.

    For titles that links and tests quote whole; a longer title is better broken into lines with wrap().
    """
    width = _em(re.sub(r"<[^>]+>", "", str(title)))
    return None if width * TITLE_PX <= PHONE_TITLE_PX else max(11, int(PHONE_TITLE_PX / width))


def title_margin(title):
    """The top margin (px) that holds a title of this many lines above the plot."""
    return 28 + 22 * (str(title).count("<br>") + 1)
