"""AppTest of the single-image page on synthetic MNIST: choosing the input (index, Random, Next mistake, canvas, upload),
the answer card beside it, and every number it shows checked against the network written out in NumPy here."""
import html
import re

import numpy as np
import pytest

from engine.model import MLP
from engine.modelfile import load_model, save_model
from engine.preprocess import Preprocess
from tests import apptest_helpers
from tests.apptest_helpers import array, assert_no_exception, image_captions, page_text, plotly_figures, run_page
from tests.photos import encode, ring, seven
from ui.single import state as single_state
from ui.stats import percent

app_env = apptest_helpers.app_env  # fixture


def net(name):
    """The W1, b1 ... of a test model, read from the models folder the app uses."""
    import os
    from pathlib import Path
    m = load_model(Path(os.environ["MNIST_EXPLORER_MODELS"]) / f"{name}.npz")
    assert m.preprocess.kind == "unit" and m.activation == "sigmoid"
    return {k: v.astype(np.float64) for k, v in m.params.items()}


def forward(P, pixels):
    """The book's forward pass for one image, long hand: ([a1, a2, ...], [z1, z2, ...]), z_L = softmax(a_L)."""
    h = np.asarray(pixels, np.float64).reshape(-1) / 255
    L = len(P) // 2
    a_s, z_s = [], []
    for i in range(1, L + 1):
        a = h @ P[f"W{i}"] + P[f"b{i}"]
        h = 1 / (1 + np.exp(-a)) if i < L else np.exp(a - a.max()) / np.exp(a - a.max()).sum()
        a_s.append(a)
        z_s.append(h)
    return a_s, z_s


def title_of(fig):
    """A figure's title as one line: the page breaks long ones into lines (<br>) to fit a phone."""
    return fig["layout"].get("title", {}).get("text", "").replace("<br>", " ")


def figure_titled(at, words):
    """The one plotly figure whose title, read as one line, contains words."""
    found = [f for f in plotly_figures(at) if words in title_of(f)]
    assert len(found) == 1, [title_of(f) for f in plotly_figures(at)]
    return found[0]


def bars(at, words):
    return array(figure_titled(at, words)["data"][0]["y"]).astype(float)


def heatmap_z(at, words):
    return array(figure_titled(at, words)["data"][0]["z"]).astype(float)


def card(at):
    """The answer card's parts: digit, probability, margin words, verdict (None without a label), top-3 bars [(digit, %)]."""
    text = next(m.value for m in at.markdown if 'data-answer="card"' in m.value)

    def part(name):
        m = re.search(rf'data-answer="{name}"[^>]*>([^<]*)<', text)
        return html.unescape(m.group(1)) if m else None
    bars = re.findall(r'data-answer="bar" data-digit="(\d)".*?<span[^>]*>([^<]+)</span>', text)
    return {"digit": part("digit"), "probability": part("probability"), "margin": part("margin"), "verdict": part("verdict"),
            "bars": [(int(d), html.unescape(v)) for d, v in bars]}


def margin_words(p):
    """The card's words for a probability vector, from the thresholds the page states (80 / 40 / 15 %)."""
    first, second = np.argsort(p)[::-1][:2]
    gap = p[first] - p[second]
    words = ("very sure" if gap >= 0.8 else "sure" if gap >= 0.4 else f"leaning to {first} over {second}" if gap >= 0.15
             else f"a close call between {first} and {second}")
    return f"{words}: {percent(gap)} ahead of {second}"


def in_order(at):
    """Every element of the main area in page order (depth first)."""
    return list(at.main)


def test_an_mnist_image_from_the_url_and_its_probabilities(app_env):
    x, t = app_env["test"]
    at = run_page("single", query={"split": "test", "index": 7})
    np.testing.assert_array_equal(heatmap_z(at, "test #7 as 28 × 28"), x[7])
    _, z = forward(net("default"), x[7])
    p = z[-1]
    np.testing.assert_allclose(bars(at, "Probabilities of model default"), p, atol=1e-5)
    first, second = np.argsort(p)[::-1][:2]
    shown = card(at)
    assert shown["digit"] == str(first) and shown["probability"] == percent(p[first])
    assert shown["margin"] == margin_words(p)
    assert [d for d, _ in shown["bars"]] == np.argsort(-p, kind="stable")[:3].tolist()
    assert [v for _, v in shown["bars"]] == [percent(p[d]) for d, _ in shown["bars"]]  # '< 0.1%', never '0.0%'
    assert shown["verdict"] == (f"✓ right: the true label is {t[7]}" if first == t[7] else f"✗ model says {first}, true {t[7]}")
    metrics = {m.label: m.value for m in at.metric}  # section 2 keeps its numbers: the same answer
    assert (metrics["Answer"], metrics["Runner-up"]) == (str(first), str(second))
    assert metrics["Margin"] == f"{percent(p[first] - p[second])} ahead" and metrics["True label"] == str(t[7])
    fig = figure_titled(at, "Probabilities of model default")
    colors = fig["data"][0]["marker"]["color"]
    assert [i for i, c in enumerate(colors) if c != colors[(first + 1) % 10]] == [first]  # only the answer stands out
    assert any("true label" in a["text"] and a["x"] == t[7] for a in fig["layout"]["annotations"])
    assert f"test #7, labelled **{t[7]}**" in page_text(at)
    # the vector the net receives: unit preprocessing is pixels / 255
    np.testing.assert_allclose(bars(at, "the 784 numbers the network receives"), x[7].reshape(-1) / 255, atol=1e-6)


def test_softmax_breakdown_shows_the_arithmetic(app_env):
    x, _ = app_env["test"]
    at = run_page("single", query={"index": 3})
    a, z = forward(net("default"), x[3])
    table = at.table[0].value
    logits = table["score a3"].astype(float).to_numpy()
    np.testing.assert_allclose(logits, a[-1], atol=2e-3)
    shifted = table["score − max"].astype(float).to_numpy()
    np.testing.assert_allclose(shifted, a[-1] - a[-1].max(), atol=2e-3)
    e = table["exp(score − max)"].astype(float).to_numpy()
    np.testing.assert_allclose(e, np.exp(a[-1] - a[-1].max()), atol=1e-4)
    np.testing.assert_allclose(table["÷ sum = y"].astype(float).to_numpy(), z[-1], atol=1e-5)
    assert f"divide each by their sum ({np.exp(a[-1] - a[-1].max()).sum():.5f})" in page_text(at)


def test_choosing_split_and_index_updates_image_and_url(app_env):
    x, _ = app_env["train"]
    at = run_page("single")
    assert "index" not in at.query_params  # the default view needs no parameters
    at.number_input(key="single_index").set_value(12).run()
    assert_no_exception(at)
    assert at.query_params["index"] == "12"
    at.radio(key="single_split").set_value("train").run()
    np.testing.assert_array_equal(heatmap_z(at, "train #12 as 28 × 28"), x[12])
    assert at.query_params["split"] == "train"
    at.number_input(key="single_index").set_value(450).run()  # exists in train (600) but not in test (100)
    at.radio(key="single_split").set_value("test").run()
    assert at.number_input(key="single_index").value == 0


def test_random_picks_an_image_in_range(app_env, monkeypatch):
    monkeypatch.setattr(single_state, "random_index", lambda n: n - 1 if n == 100 else -1)
    x, _ = app_env["test"]
    at = run_page("single")
    at.button(key="single_random").click().run()
    np.testing.assert_array_equal(heatmap_z(at, "test #99 as 28 × 28"), x[99])
    assert at.query_params["index"] == "99"


def test_random_index_covers_the_range():
    seen = {single_state.random_index(5) for _ in range(200)}
    assert seen == {0, 1, 2, 3, 4}


def test_next_mistake_steps_through_the_wrong_answers(app_env):
    x, t = app_env["test"]
    P = net("default")
    wrong = [i for i in range(len(t)) if np.argmax(forward(P, x[i])[1][-1]) != t[i]]
    assert 2 < len(wrong) < len(t)  # a random net: plenty of mistakes, but not all
    at = run_page("single", query={"split": "train", "index": 5})
    at.button(key="single_next").click().run()  # from a training image: the first test mistake
    assert (at.radio(key="single_split").value, at.number_input(key="single_index").value) == ("test", wrong[0])
    at.button(key="single_next").click().run()
    assert at.number_input(key="single_index").value == wrong[1]
    said = int(np.argmax(forward(P, x[wrong[1]])[1][-1]))
    assert f"mistake 2 of {len(wrong)}, where the model answered **{said}**." in page_text(at)  # the caption says the answer
    assert card(at)["verdict"] == f"✗ model says {said}, true {t[wrong[1]]}"
    at.number_input(key="single_index").set_value(wrong[-1]).run()
    at.button(key="single_next").click().run()  # after the last one, round to the first
    assert at.number_input(key="single_index").value == wrong[0]
    assert dict(at.query_params).get("index", "0") == str(wrong[0])  # index 0 is the default, left out of the URL


def test_hidden_layers_show_a_and_z_of_every_unit(app_env):
    x, _ = app_env["test"]
    at = run_page("single", query={"index": 4})
    a, z = forward(net("default"), x[4])
    for i, width, rows in ((1, 50, 5), (2, 100, 10)):
        fig = figure_titled(at, f"Layer {i}: {width} units, sorted by activation z (most active top left)")
        grid = array(fig["data"][0]["z"]).astype(float)
        assert grid.shape == (rows, 10)
        order = np.argsort(-z[i - 1], kind="stable")  # reading order: the most active unit first
        np.testing.assert_allclose(grid.reshape(-1), z[i - 1][order], atol=1e-5)
        assert np.all(np.diff(grid.reshape(-1)) <= 1e-6)
        custom = array(fig["data"][0]["customdata"]).astype(float)  # (rows, 10, 2): unit number, a
        np.testing.assert_array_equal(custom[..., 0].reshape(-1), order)
        np.testing.assert_allclose(custom[..., 1].reshape(-1), a[i - 1][order], atol=1e-4)
    curve = figure_titled(at, "on the sigmoid curve")
    dots = [d for d in curve["data"] if d.get("mode") == "markers"]
    assert [d["name"] for d in dots] == ["layer 1", "layer 2"]
    np.testing.assert_allclose(array(dots[1]["x"]).astype(float), a[1], atol=1e-4)
    k = int((np.abs(a[0]) > 5).sum())
    assert f"Layer 1: **{k}** of 50 units are saturated" in page_text(at)


def test_any_depth_and_relu(app_env):
    import os
    from pathlib import Path
    rng = np.random.default_rng(3)
    sizes = [784, 30, 20, 12, 10]
    params = {}
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{i}"] = rng.normal(0, 0.1, (m, n)).astype(np.float32)
        params[f"b{i}"] = rng.normal(0, 0.1, n).astype(np.float32)
    save_model(MLP(params, activation="relu", preprocess=Preprocess("unit"), card={"title": "deep relu"}),
               Path(os.environ["MNIST_EXPLORER_MODELS"]) / "deep.npz")
    at = run_page("single", query={"model": "deep", "index": 2})
    titles = [title_of(f) for f in plotly_figures(at)]
    assert [s for s in titles if s.startswith("Layer")] == [f"Layer {i}: {n} units, sorted by activation z (most active top left)"
                                                            for i, n in ((1, 30), (2, 20), (3, 12))]
    assert "Every hidden unit on the ReLU curve" in titles
    assert "Units behind the score of" in " ".join(titles) and "z3[j] × W4[j," in " ".join(titles)
    assert "units are off (a ≤ 0)" in page_text(at)
    # the small net has one hidden layer of 16: a 2 x 10 grid with 4 empty cells
    at = run_page("single", query={"model": "small"})
    grid = heatmap_z(at, "Layer 1: 16 units")
    assert grid.shape == (2, 10) and np.isnan(grid).sum() == 4


def test_contributions_templates_and_saliency(app_env):
    x, _ = app_env["test"]
    P = net("default")
    img = x[6]
    a, z = forward(P, img)
    c = int(np.argmax(z[-1]))
    terms = z[1] * P["W3"][:, c]
    fig = figure_titled(at := run_page("single", query={"index": 6}), f"Units behind the score of {c}")
    shown = np.asarray(array(fig["data"][0]["x"]), float)
    top = np.sort(terms[terms > 0])[::-1][:10]
    low = np.sort(terms[terms < 0])[:10][::-1]
    np.testing.assert_allclose(shown, np.concatenate([top, low]), atol=1e-5)
    plus, minus = terms[terms > 0].sum(), terms[terms < 0].sum()
    assert f"= {plus:+.2f} (all positive contributions) {minus:+.2f}" in page_text(at)
    assert f"= **{a[-1][c]:.2f}**" in page_text(at)
    # templates: W1 columns of the 8 most active layer-1 units, as 28 x 28
    fig = figure_titled(at, "8 most active units of layer 1")
    units = np.argsort(-z[0], kind="stable")[:8]
    for trace, k in zip(fig["data"], units, strict=True):
        np.testing.assert_allclose(array(trace["z"]).astype(float), P["W1"][:, k].reshape(28, 28), atol=1e-6)
    # saliency: the gradient of the logit, checked by central differences on a few pixels
    fig = figure_titled(at, f"Which pixels move the score of {c}")
    grad = array(fig["data"][1]["z"]).astype(float)
    for r, col in ((10, 10), (14, 14), (20, 8), (5, 22)):
        e = np.zeros(784)
        e[r * 28 + col] = 1.0
        up = forward(P, img.reshape(-1) + e)[0][-1][c]
        down = forward(P, img.reshape(-1) - e)[0][-1][c]
        assert grad[r, col] == pytest.approx((up - down) / 2, rel=1e-3, abs=1e-7)


def test_nearest_training_images_in_the_last_hidden_layer(app_env):
    xs, t = app_env["train"]
    x, _ = app_env["test"]
    P = net("default")
    q = forward(P, x[9])[1][1]
    E = np.stack([forward(P, img)[1][1] for img in xs])  # (600, 100) layer-2 activations
    d = np.linalg.norm(E - q, axis=1)
    near = np.argsort(d, kind="stable")[:8]
    at = run_page("single", query={"index": 9})
    caps = [c for c in image_captions(at) if c.startswith("#")]
    assert caps == [f"#{i} · {t[i]}" for i in near]
    assert [c.value for c in at.caption if c.value.startswith("d = ")] == [f"d = {d[i]:.2f}" for i in near]
    pred = int(np.argmax(forward(P, x[9])[1][-1]))
    same = int((t[near] == pred).sum())
    assert f"**{same}** of them are a {pred}" in page_text(at)


def test_compare_shows_a_second_models_bars(app_env):
    x, _ = app_env["test"]
    at = run_page("single", query={"index": 1, "compare": "small"})
    p_small = forward(net("small"), x[1])[1][-1]
    np.testing.assert_allclose(bars(at, "Probabilities of model small"), p_small, atol=1e-5)
    np.testing.assert_allclose(bars(at, "Probabilities of model default"), forward(net("default"), x[1])[1][-1], atol=1e-5)
    assert at.toggle(key="single_compare").value is True
    at.toggle(key="single_compare").set_value(False).run()
    assert "compare" not in at.query_params
    assert len([f for f in plotly_figures(at) if "Probabilities of model" in f["layout"]["title"]["text"]]) == 1
    at.toggle(key="single_compare").set_value(True).run()
    assert at.query_params["compare"] == "small"


def test_bad_query_values_fall_back(app_env):
    x, _ = app_env["test"]
    at = run_page("single", query={"split": "banana", "index": "abc", "compare": "nope", "input": "camera"})
    np.testing.assert_array_equal(heatmap_z(at, "test #0 as 28 × 28"), x[0])
    at = run_page("single", query={"index": "100"})  # one past the end of the synthetic test set
    assert at.number_input(key="single_index").value == 0


def stroke_canvas():
    """A 280 x 280 RGBA canvas, black, with a thick white vertical stroke: a '1' drawn off-centre."""
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[40:240, 60:80, :3] = 255
    return rgba


def test_an_injected_canvas_drawing_is_read(app_env, monkeypatch):
    drawn = [None]
    monkeypatch.setattr(single_state, "draw_canvas", lambda *, key: drawn[0])
    at = run_page("single", query={"input": "draw"})
    assert "Draw a digit on the black canvas" in page_text(at)
    assert not [f for f in plotly_figures(at) if "Probabilities" in f["layout"]["title"]["text"]]
    assert [i.value for i in at.info] == ["Draw a digit on the black canvas to see what the network makes of it."]
    drawn[0] = stroke_canvas()
    at.run()  # the stroke ended: the canvas reruns the page, and the card is drawn in that same run
    assert_no_exception(at)
    assert image_captions(at)[:7] == ["1. grey", "2. ink made white", "3. ink separated", "4. cropped",
                                      "5. pen width evened", "6. scaled to 20 × 20", "7. centred in 28 × 28"]
    digit = heatmap_z(at, "your drawing as 28 × 28")
    rows, cols = np.nonzero(digit > 0)
    assert rows.max() - rows.min() + 1 == 20  # the 200 px stroke scaled to MNIST's 20 px box ...
    assert cols.max() - cols.min() + 1 <= 4  # ... stays a thin vertical bar ...
    cy = (digit.sum(axis=1) @ np.arange(28)) / digit.sum()
    cx = (digit.sum(axis=0) @ np.arange(28)) / digit.sum()
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1  # ... moved from the left edge to the centre of mass
    p = forward(net("default"), digit)[1][-1]
    np.testing.assert_allclose(bars(at, "Probabilities of model default"), p, atol=1e-5)
    assert card(at)["digit"] == str(int(np.argmax(p))) and card(at)["probability"] == f"{p.max():.1%}"
    assert card(at)["verdict"] is None  # a drawing has no label
    moved = np.zeros_like(drawn[0])
    moved[..., 3] = 255
    moved[60:80, 40:240, :3] = 255  # a new stroke: a long horizontal bar
    drawn[0] = moved
    at.run()
    p = forward(net("default"), heatmap_z(at, "your drawing as 28 × 28"))[1][-1]
    assert card(at)["probability"] == f"{p.max():.1%}" and card(at)["digit"] == str(int(np.argmax(p)))


@pytest.mark.parametrize(("name", "data", "mime"), [
    ("seven.png", encode(seven(), "PNG"), "image/png"),
    ("zero.jpg", encode(ring().convert("RGB"), "JPEG", quality=85), "image/jpeg"),
])
def test_an_uploaded_picture_is_read(app_env, name, data, mime):
    at = run_page("single", query={"input": "upload"})
    assert "Upload a picture of one digit" in page_text(at)
    at.file_uploader(key="single_upload").set_value((name, data, mime)).run()
    assert_no_exception(at)
    caps = image_captions(at)
    assert caps[0] == "what the network reads (28 × 28, ink dark)" and caps[7] == "7. centred in 28 × 28"
    assert "so step 2 inverted it" in page_text(at)  # dark ink on white paper
    digit = heatmap_z(at, f"{name} as 28 × 28")
    rows, cols = np.nonzero(digit > 0)
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 == 20
    assert digit.max() == 255 and digit[0].sum() == 0 and digit[:, 0].sum() == 0  # white ink on a black border
    p = forward(net("default"), digit)[1][-1]
    np.testing.assert_allclose(bars(at, "Probabilities of model default"), p, atol=1e-5)


@pytest.mark.parametrize(("name", "data", "words"), [
    ("bad.png", b"this is not a picture", "bad.png is not a picture"),
    ("blank.png", encode(seven(paper=255, ink=255), "PNG"), "blank.png shows no ink"),
    ("**big**.png", b"GIF89a", r"\*\*big\*\*.png is not a picture"),  # the name is shown as typed, not as Markdown
])
def test_a_bad_upload_is_one_error_line(app_env, name, data, words):
    at = run_page("single", query={"input": "upload"})
    at.file_uploader(key="single_upload").set_value((name, data, "image/png")).run()
    assert_no_exception(at)
    assert [e.value for e in at.error] == [next(e.value for e in at.error)] and words in at.error[0].value
    assert "\n" not in at.error[0].value
    assert plotly_figures(at) == []  # nothing is drawn for a picture that could not be read


def test_a_link_brings_back_an_mnist_image(app_env, monkeypatch):
    monkeypatch.setattr(single_state, "draw_canvas", lambda *, key: stroke_canvas())
    x, _ = app_env["test"]
    at = run_page("single", query={"input": "draw"})
    assert at.query_params["input"] == "draw"
    at.query_params["index"] = "42"  # a link from another page (?split=test&index=42) opened in this session
    at.run()
    assert at.session_state["single_source"] == "mnist"
    np.testing.assert_array_equal(heatmap_z(at, "test #42 as 28 × 28"), x[42])


def test_the_answer_comes_first_and_the_explanations_fold(app_env):
    at = run_page("single", query={"index": 5})
    order = in_order(at)
    kinds = [(type(n).__name__, getattr(n, "value", None)) for n in order]
    at_card = next(i for i, (_, v) in enumerate(kinds) if isinstance(v, str) and 'data-answer="card"' in v)
    at_view = next(i for i, (_, v) in enumerate(kinds) if isinstance(v, str) and v.startswith('<svg class="network-view"'))
    at_section = next(i for i, (k, v) in enumerate(kinds) if v == "1. The input: 784 numbers")
    at_index = next(i for i, n in enumerate(order) if getattr(n, "key", None) == "single_index")
    assert at_index < at_card < at_view < at_section  # picker, then the answer beside it, the network under it, details below
    subheads = [h.value for h in at.subheader]
    assert [h[:2] for h in subheads] == ["1.", "2.", "3.", "4.", "5."]  # the detailed sections keep their order
    labels = [e.label for e in at.expander if e.label.startswith("📖")]
    assert labels == ["📖 How the picture becomes the input x", "📖 How softmax turns scores into probabilities",
                      "📖 What a hidden unit computes", "📖 How the score is split, and what saliency means",
                      "📖 How the similar images are found"]
    folded = {e.label: " ".join(m.value for m in e.markdown) for e in at.expander}
    assert "**Preprocessing:**" in folded[labels[0]] and "**Forward propagation**" in folded[labels[1]]
    assert "**sigmoid**" in folded[labels[2]] and "backpropagation" in folded[labels[3]] and "z2" in folded[labels[4]]
    assert all(not e.proto.expanded for e in at.expander if e.label in labels)  # folded until opened


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_card_and_the_network_view_are_translated(app_env, lang):
    from tests.test_app_languages import english_left
    at = run_page("single", query={"lang": lang, "index": 3})
    assert english_left(at) == {}
    view = next(m.value for m in at.markdown if m.value.startswith('<svg class="network-view"'))
    assert ("输出层" if lang == "zh" else "出力層") in view and ("神经元" if lang == "zh" else "ニューロン") in view


# --- a drawing in the link (issue 18): ?draw= carries the 28 x 28 digit, and a fresh session reopens it


def link_of(at):
    """The sidebar's copyable link (what its copy button copies)."""
    return [c.value for c in at.sidebar.code][-1]


def reopen_link(link):
    from urllib.parse import parse_qsl, urlsplit
    parts = urlsplit(link)
    return run_page(parts.path.strip("/") or "home", query=dict(parse_qsl(parts.query)))


def sections_of(at):
    return [h.value for h in at.subheader]


def test_a_drawing_reopens_from_its_link_as_a_shared_drawing(app_env, monkeypatch):
    from engine import drawcode
    drawn = [stroke_canvas()]
    monkeypatch.setattr(single_state, "draw_canvas", lambda *, key: drawn[0])
    at = run_page("single", query={"input": "draw"})
    digit = heatmap_z(at, "your drawing as 28 × 28")
    assert set(np.unique(digit)) <= set(range(0, 256, 17))  # the page reads the 16 grey levels the link carries
    link = link_of(at)
    code = at.query_params["draw"]
    assert len(code) <= 300 and link.startswith("/single?input=draw&draw=")
    np.testing.assert_array_equal(drawcode.decode(code), digit)

    drawn[0] = None  # the receiver's canvas is empty
    fresh = reopen_link(link)
    np.testing.assert_array_equal(heatmap_z(fresh, "a shared drawing as 28 × 28"), digit)
    np.testing.assert_allclose(bars(fresh, "Probabilities of model default"), bars(at, "Probabilities of model default"))
    assert card(fresh) == card(at)
    assert sections_of(fresh) == sections_of(at) and len(sections_of(fresh)) == 5  # the answer and every section
    assert "A drawing that came with the link" in page_text(fresh)
    assert "what the network reads (28 × 28, ink dark)" in image_captions(fresh)  # the canvas does not show it: a picture does
    assert link_of(fresh) == link  # and it offers the same link
    apptest_helpers.clear_caches()  # a restart changes nothing: the link holds the drawing
    np.testing.assert_array_equal(heatmap_z(reopen_link(link), "a shared drawing as 28 × 28"), digit)

    fresh.button(key="single_clear").click().run()  # Clear removes the shared drawing too
    assert [i.value for i in fresh.info] == ["Draw a digit on the black canvas to see what the network makes of it."]
    assert "draw" not in fresh.query_params
    drawn[0] = stroke_canvas()  # drawing on the receiver's canvas replaces it
    fresh.run()
    assert heatmap_z(fresh, "your drawing as 28 × 28").sum() > 0


def test_an_uploaded_picture_travels_in_the_link(app_env):
    at = run_page("single", query={"input": "upload"})
    at.file_uploader(key="single_upload").set_value(("seven.png", encode(seven(), "PNG"), "image/png")).run()
    digit = heatmap_z(at, "seven.png as 28 × 28")
    link = link_of(at)
    assert "input=upload" in link and "draw=" in link
    fresh = reopen_link(link)
    assert fresh.session_state["single_source"] == "upload"
    np.testing.assert_array_equal(heatmap_z(fresh, "a shared drawing as 28 × 28"), digit)
    assert card(fresh) == card(at)


def test_a_bare_draw_link_opens_the_canvas_tab(app_env, monkeypatch):
    from engine import drawcode
    monkeypatch.setattr(single_state, "draw_canvas", lambda *, key: None)
    x, _ = app_env["test"]
    at = run_page("single", query={"draw": drawcode.encode(x[3])})
    assert at.session_state["single_source"] == "draw"
    np.testing.assert_array_equal(heatmap_z(at, "a shared drawing as 28 × 28"), drawcode.quantize(x[3]))


def test_a_link_arriving_while_drawing_replaces_the_drawing(app_env, monkeypatch):
    from engine import drawcode
    drawn = [stroke_canvas()]
    monkeypatch.setattr(single_state, "draw_canvas", lambda *, key: drawn[0] if key == "single_canvas_0" else None)
    x, _ = app_env["test"]
    at = run_page("single", query={"input": "draw"})
    at.query_params["draw"] = drawcode.encode(x[8])  # a link pasted into this session
    at.run()
    np.testing.assert_array_equal(heatmap_z(at, "a shared drawing as 28 × 28"), drawcode.quantize(x[8]))


def _hostile_codes():
    from engine import drawcode
    good = drawcode.encode(seven_digit())
    i = len(good) // 2
    tampered = next(t for c in "ABCDEFGH" if (t := good[:i] + c + good[i + 1:]) != good and not _decodes(t))
    return {"truncated": good[:-5], "random": "q9Zx_3kLmP0-aB7cD2eF", "huge": "A" * 100_000, "tampered": tampered,
            "not base64": "%%%%", "empty": ""}


def _decodes(text):
    from engine import drawcode
    from engine.errors import ImageFormatError
    try:
        drawcode.decode(text)
    except ImageFormatError:
        return False
    return True


def seven_digit():
    d = np.zeros((28, 28), np.uint8)
    d[6:9, 8:20] = 255
    d[9:22, 16:19] = 200
    return d


@pytest.mark.parametrize("kind", ["truncated", "random", "huge", "tampered", "not base64", "empty"])
def test_a_bad_drawing_link_gives_a_notice_and_the_default_view(app_env, kind):
    x, _ = app_env["test"]
    at = run_page("single", query={"input": "draw", "draw": _hostile_codes()[kind]})
    assert at.session_state["single_source"] == "mnist"
    np.testing.assert_array_equal(heatmap_z(at, "test #0 as 28 × 28"), x[0])
    assert [i.value for i in at.info] == ["The drawing in this link could not be read (it is cut short, too long or "
                                          "changed), so the page shows an MNIST image instead. Ask for the link again."]
    assert "draw" not in at.query_params and link_of(at) == "/single"
    at.run()  # the notice is said once
    assert not at.info
