"""What a runtime measurement shows, in sentences computed from its own numbers: no claim the table does not bear out.

sentences(result) returns (i18n key, values) pairs; the page translates them. Pure: no Streamlit.
"""
PLATEAU = 0.15  # within 15 % of the best rate counts as level
SAME = 0.2  # the batched code and the book's loop within 20 % of each other at batch size 1 count as equal
BUSY = 1.5  # a fastest repeat 1.5x the slowest at one batch size means something else was using the processor


def _n(v):
    return f"{v:,.0f}"


def _shape(rows):
    """How the rate rises, levels off or falls again after its best batch size."""
    rates = [r["images_per_s"] for r in rows]
    i = max(range(len(rows)), key=rates.__getitem__)
    best, first, last = rows[i], rows[0], rows[-1]
    out = []
    if i > 0:
        out.append(("evaluate.rtw_rise", {"b0": _n(first["batch_size"]), "r0": _n(rates[0]), "b": _n(best["batch_size"]),
                                          "r": _n(rates[i]), "x": f"{rates[i] / rates[0]:.0f}"}))
    level = [j for j in range(len(rows)) if all(r >= (1 - PLATEAU) * rates[i] for r in rates[j:])]
    if rates[-1] < (1 - PLATEAU) * rates[i]:
        out.append(("evaluate.rtw_fall", {"b": _n(best["batch_size"]), "bl": _n(last["batch_size"]), "rl": _n(rates[-1]),
                                          "pct": f"{100 * (1 - rates[-1] / rates[i]):.0f}"}))
    elif level and len(rows) - level[0] >= 2:
        out.append(("evaluate.rtw_plateau", {"b": _n(rows[level[0]]["batch_size"]), "pct": f"{100 * PLATEAU:.0f}"}))
    for prev, r in zip(rows, rows[1:-1], strict=False):  # a dip: below the whole spread of the next smaller batch
        if r["images_per_s_max"] < prev["images_per_s_min"]:
            out.append(("evaluate.rtw_dip", {"b": _n(r["batch_size"]), "r": _n(r["images_per_s"]), "bp": _n(prev["batch_size"]),
                                             "rp": _n(prev["images_per_s"])}))
    return out, best


def _book(rows, best, book):
    """The book's one-image loop against batch size 1 and against the best batch."""
    one = next((r for r in rows if r["batch_size"] == 1), None)
    out = []
    if one and book:
        ratio = one["images_per_s"] / book
        key = "same" if abs(ratio - 1) <= SAME else "slower" if ratio < 1 else "faster"
        out.append((f"evaluate.rtw_book_{key}", {"r1": _n(one["images_per_s"]), "book": _n(book),
                                                  "x": f"{max(ratio, 1 / ratio):.1f}"}))
    if book and best["images_per_s"] > book:
        out.append(("evaluate.rtw_book_best", {"x": f"{best['images_per_s'] / book:.0f}"}))
    return out


def sentences(result):
    """[(key, values)] describing result['rows'] and result['book_rate'], and whether the machine was busy."""
    rows = sorted(result["rows"], key=lambda r: r["batch_size"])
    if not rows:
        return []
    out, best = _shape(rows)
    out += _book(rows, best, result.get("book_rate"))
    noisy = max(rows, key=lambda r: r["images_per_s_max"] / max(r["images_per_s_min"], 1e-9))
    spread = noisy["images_per_s_max"] / max(noisy["images_per_s_min"], 1e-9)
    if spread >= BUSY:
        load = (result.get("machine") or {}).get("load_average")
        load = load[0] if isinstance(load, list | tuple) else load
        out.append(("evaluate.rtw_busy", {"b": _n(noisy["batch_size"]), "x": f"{spread:.1f}",
                                          "load": "–" if load is None else f"{float(load):.1f}"}))
    return out
