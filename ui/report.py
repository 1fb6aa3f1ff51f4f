"""Self-contained HTML reports: key numbers, explanations, the model card and interactive plotly charts, JS inlined.

A page fills a Draft while it draws (panels.chart(..., draft=d) adds each chart), then offers d.html(...) as a
download. No streamlit here: every word arrives translated, so the file can be built after the run, on click.
"""
import base64
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import plotly.graph_objects as go
import plotly.io as pio

from ui.charts import config

HTML_LANG = {"zh": "zh-Hans"}  # the report's <html lang>: Simplified Chinese glyphs for zh (others as they are)
MARGIN = {"l": 70, "r": 30, "t": 80, "b": 70}  # at least this much room; automargin grows it to fit every label

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC","Noto Sans CJK JP",sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#1d1d1f;line-height:1.55}
h1{margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#666;font-size:.9em}.numbers{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
.number{border:1px solid #ddd;border-radius:8px;padding:.6em 1em;min-width:9em}.number b{display:block;font-size:1.5em}
.read{color:#555;font-size:.92em}pre{background:#f6f8fa;padding:1em;overflow:auto;font-size:.85em}
code{background:#f1f3f5;padding:0 .25em;border-radius:3px}table{border-collapse:collapse;margin:.8em 0}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:right}th{background:#f6f8fa}
.chart{margin:.5em 0 0}.gallery{display:flex;flex-wrap:wrap;gap:.6em;margin:.6em 0}
.gallery figure{margin:0;width:100px;text-align:center;font-size:.8em;color:#555;overflow-wrap:anywhere}
.gallery img{width:84px;height:84px;image-rendering:pixelated;border:1px solid #ddd;display:block;margin:0 auto .2em}
"""
# a sentence that asks the reader to act on the page (en, zh, ja): a report is read, not used, so build_html drops it
ACTIONS = re.compile(r"\b(?:click|hover|drag|tap|press|scroll|zoom|slider|interactive)|点击|单击|悬停|鼠标|拖动|拖拽|滑块"
                     r"|按“|交互|クリック|タップ|ドラッグ|マウス|スライダー|押[しすせ]|操作でき", re.I)
# a sentence and the space after it: up to . ! ? before a space (with a closing ** or quote), 。！？, or a line's end
_SENTENCE = re.compile(r".+?(?:[.!?][*_)\"”’]*(?=\s|\Z)|[。！？][」』）”]*|(?=\n)|\Z)\s*", re.S)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")


def _inline(text):
    """Bold and italic of one stretch of text without code spans, escaped for HTML; a backslash-escaped character stays as typed."""
    # panels.plain's escapes are literal characters, not Markdown: held as NUL-number-NUL (a NUL of the text goes first)
    text = re.sub(r"\\(.)", lambda m: f"\x00{ord(m[1])}\x00", text.replace("\x00", ""))
    body = _ITALIC.sub(r"<i>\1</i>", _BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False)))
    return re.sub(r"\x00(\d+)\x00", lambda m: html.escape(chr(int(m[1])), quote=False), body)


def strip_actions(text):
    """text without its sentences that name an interaction (ACTIONS); paragraph breaks stay where they were."""
    sentences = [m[0] for m in _SENTENCE.finditer(str(text))]
    for k in range(len(sentences) - 1):  # "。**" closes a bold of this sentence when its own ** are unbalanced
        if sentences[k].count("**") % 2 and sentences[k + 1].startswith("**"):
            sentences[k], sentences[k + 1] = sentences[k] + "**", sentences[k + 1][2:]
    out = ""
    for sentence in sentences:
        if ACTIONS.search(sentence):
            gap = sentence[len(sentence.rstrip()):]
            out, sentence = (out.rstrip(" "), gap) if "\n" in gap and not out.endswith("\n") else (out, "")
        out += sentence
    return out.strip()


def markdown(text):
    """The little Markdown the app's texts use (**bold**, *italic*, `code`, paragraphs, line breaks) as safe HTML."""
    out = []
    for para in re.split(r"\n\s*\n", str(text).strip()):
        pieces = _CODE.split(para)  # odd items are code spans: shown as typed
        body = "".join(f"<code>{html.escape(p)}</code>" if i % 2 else _inline(p) for i, p in enumerate(pieces))
        out.append("<p>" + body.replace("\n", "<br>") + "</p>")
    return "".join(out)


@dataclass
class Section:
    """One heading with its paragraphs, charts (figure, how to read it, PNG file name) and tables, in page order."""

    heading: str
    parts: list = field(default_factory=list)  # ("text", md) | ("chart", fig, how_to_read, filename) | ("table", headers, rows)
    #                                             | ("gallery", [(png bytes, caption)]) (a caption's \n breaks its line)


@dataclass
class Draft:
    """A report being filled as a page draws: its title, intro, key numbers and sections."""

    title: str
    intro: str
    numbers: dict = field(default_factory=dict)  # label -> value, shown as boxes at the top
    sections: list = field(default_factory=list)

    def section(self, heading):
        """Start a new section; later text, charts and tables go into it."""
        self.sections.append(Section(heading))

    def _current(self):
        if not self.sections:
            self.section("")
        return self.sections[-1].parts

    def text(self, md):
        self._current().append(("text", md))

    def chart(self, fig, *, how_to_read, filename):
        self._current().append(("chart", fig, how_to_read, filename))

    def table(self, headers, rows):
        """A small table: headers (k,) and rows of k values each."""
        self._current().append(("table", list(headers), [list(r) for r in rows]))

    def gallery(self, items):
        """Thumbnails, as the page shows them: items are (PNG bytes, caption) pairs, embedded in the file (no pair, no gallery)."""
        if not items:
            return
        self._current().append(("gallery", [(bytes(png), str(caption)) for png, caption in items]))

    def number(self, label, value):
        self.numbers[label] = value

    def html(self, *, card_rows, card_json, lang, labels):
        """The report as one HTML string (see build_html)."""
        return build_html(title=self.title, intro=self.intro, numbers=self.numbers, sections=self.sections,
                          card_rows=card_rows, card_json=card_json, lang=lang, labels=labels)


def _table(headers, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _gallery(items):
    cells = [f"<figure><img alt='{html.escape(' '.join(c.split()), quote=True)}' src='data:image/png;base64,"
             f"{base64.b64encode(png).decode()}'><figcaption>{'<br>'.join(map(html.escape, c.split(chr(10))))}</figcaption></figure>"
             for png, c in items]
    return "<div class='gallery'>" + "".join(cells) + "</div>"


def fit_labels(fig):
    """A copy of fig whose margins hold every tick label and axis title (the page's 10 px margins clip them on paper)."""
    fig = go.Figure(fig)
    m = fig.layout.margin
    fig.update_layout(margin={k: max(getattr(m, k) or 0, v) for k, v in MARGIN.items()})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def build_html(*, title, intro, numbers, sections, card_rows, card_json, lang="en", labels=None):
    """One HTML page that works offline: plotly.js inlined once, every chart interactive with its PNG button.

    The texts are the page's, less the sentences about clicking, hovering or dragging (strip_actions): a report is read.
    labels: {'made': ..., 'card': ..., 'card_json': ...} in the reader's language; card_rows: [(label, Markdown value)].
    """
    labels = {"made": "Made", "card": "Model card", "card_json": "Full model card (JSON)", **(labels or {})}
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!DOCTYPE html><html lang='{html.escape(HTML_LANG.get(lang, lang))}'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width, initial-scale=1'>",
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p class='meta'>{html.escape(labels['made'])}: {made}</p>", markdown(strip_actions(intro)),
             "<div class='numbers'>"]
    parts += [f"<div class='number'>{html.escape(str(k))}<b>{html.escape(str(v))}</b></div>" for k, v in numbers.items()]
    parts.append("</div>")
    js_done = False
    for s in sections:
        if s.heading:
            parts.append(f"<h2>{html.escape(s.heading)}</h2>")
        for kind, *rest in s.parts:
            if kind == "text":
                if text := strip_actions(rest[0]):  # a text that only said where to click leaves nothing
                    parts.append(markdown(text))
            elif kind == "table":
                parts.append(_table(*rest))
            elif kind == "gallery":
                parts.append(_gallery(*rest))
            else:
                fig, how_to_read, filename = rest
                body = pio.to_html(fit_labels(fig), full_html=False, include_plotlyjs=not js_done,
                                   config={**config(filename), "responsive": True})
                parts.append(f"<div class='chart'>{body}</div>")
                js_done = True
                if read := strip_actions(how_to_read):
                    parts.append(f"<p class='read'>📖 {html.escape(read)}</p>")
    parts.append(f"<h2>{html.escape(labels['card'])}</h2><ul>")
    parts += [f"<li><b>{html.escape(k)}:</b> {markdown(v)[3:-4]}</li>" for k, v in card_rows]
    parts.append(f"</ul><details><summary>{html.escape(labels['card_json'])}</summary><pre>{html.escape(card_json)}</pre></details>")
    parts.append("</body></html>")
    return "".join(parts)
