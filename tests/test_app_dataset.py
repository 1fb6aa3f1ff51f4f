"""AppTest of the dataset browser on synthetic MNIST: filters, paging, the URL view, each tab's numbers, and first run."""
import gzip
from urllib.parse import parse_qsl

import numpy as np
import pytest

from tests import apptest_helpers
from tests.apptest_helpers import (
    array,
    assert_no_exception,
    image_captions,
    page_text,
    plotly_figures,
    run_page,
)
from tests.synth import STEMS, idx_bytes

PER_PAGE = 24


def figure_titled(at, words):
    """The one plotly figure whose title contains words, read without the line breaks that fit it to a phone
    (ui.charts.wrap)."""
    found = [f for f in plotly_figures(at) if words in f["layout"].get("title", {}).get("text", "").replace("<br>", " ")]
    assert len(found) == 1, [f["layout"].get("title", {}).get("text") for f in plotly_figures(at)]
    return found[0]

app_env, no_data_env = apptest_helpers.app_env, apptest_helpers.no_data_env  # fixtures this module uses


def captions_for(idx, t):
    """What the grid's captions should say for these indices, in index order."""
    return [f"#{i} · {t[i]}" for i in sorted(idx)]


def grid(at):
    """The grid's captions in index order (the page lists them column by column)."""
    return sorted(image_captions(at), key=lambda c: int(c[1:].split(" ")[0]))


def open_tab(at, label):
    at.session_state["ds_tab"] = label
    return at.run()


def heatmap_z(at, title_words):
    return array(figure_titled(at, title_words)["data"][0]["z"]).astype(float)


def test_first_page_of_the_training_set(app_env):
    x, t = app_env["train"]
    at = run_page("dataset")
    assert grid(at) == captions_for(range(PER_PAGE), t)
    assert f"{len(t)} images match. Showing 1–24, page by page ({-(-len(t) // PER_PAGE)} pages)" in page_text(at)
    # the selected image defaults to the first one in the grid, drawn value for value
    np.testing.assert_array_equal(heatmap_z(at, "train #0"), x[0])
    assert at.metric[0].value == str(t[0])
    assert dict(at.query_params) == {}  # the default view needs no parameters


def test_class_distribution_counts_both_splits(app_env):
    at = run_page("dataset")
    fig = figure_titled(at, "Images per digit")
    bars = {tr["name"]: array(tr["y"]).tolist() for tr in fig["data"]}
    for split in ("train", "test"):
        t = app_env[split][1]
        assert bars[split] == [int((t == d).sum()) for d in range(10)]
    assert fig["layout"]["xaxis"]["title"]["text"] == "Digit" and fig["layout"]["yaxis"]["title"]["text"] == "images"


def test_digit_filter_and_paging_change_grid_and_url(app_env):
    _, t = app_env["train"]
    threes = np.flatnonzero(t == 3)
    at = run_page("dataset")
    at.selectbox(key="ds_digit").select(3).run()
    assert_no_exception(at)
    assert grid(at) == captions_for(threes[:PER_PAGE], t)
    assert at.query_params["digit"] == "3"
    np.testing.assert_array_equal(heatmap_z(at, f"train #{threes[0]}"), app_env["train"][0][threes[0]])
    at.get("pagination")[0].select(2).run()
    assert grid(at) == captions_for(threes[PER_PAGE:2 * PER_PAGE], t)
    assert at.query_params["page"] == "2"
    at.radio(key="ds_split").set_value("test").run()  # a new split starts on page 1
    t_test = app_env["test"][1]
    assert grid(at) == captions_for(np.flatnonzero(t_test == 3)[:PER_PAGE], t_test)
    assert at.query_params["split"] == "test" and "page" not in at.query_params


def test_a_copied_url_reopens_the_same_view(app_env):
    x, t = app_env["test"]
    threes = np.flatnonzero(t == 3)
    at = run_page("dataset", query={"split": "test", "digit": 3, "page": 1, "index": 42, "tab": "hist"})
    assert at.radio(key="ds_split").value == "test" and at.selectbox(key="ds_digit").value == 3
    assert grid(at) == captions_for(threes[:PER_PAGE], t)
    np.testing.assert_array_equal(heatmap_z(at, "test #42"), x[42])
    figure_titled(at, "How often each pixel value occurs (test set, digit 3)")
    assert at.number_input(key="ds_index").value == 42
    assert dict(at.query_params) == {"split": "test", "digit": "3", "index": "42", "tab": "hist"}


@pytest.mark.parametrize("query", [
    {"split": "banana", "digit": "11", "page": "-3", "index": "abc", "tab": "nope", "sample": "x"},
    {"split": "", "digit": "3.5", "page": "1e9", "index": "99999999", "tab": "", "model": "../../etc"},
    {"digit": "७", "index": "-0", "page": "0x10"},
])
def test_bad_url_values_fall_back_to_the_default_view(app_env, query):
    x, t = app_env["train"]
    at = run_page("dataset", query=query)
    assert not at.error
    assert at.radio(key="ds_split").value == "train" and at.selectbox(key="ds_digit").value == "all"
    assert grid(at) == captions_for(range(PER_PAGE), t)
    assert at.number_input(key="ds_index").value == 0  # the default: the grid's first image
    np.testing.assert_array_equal(heatmap_z(at, "train #0:"), x[0])
    figure_titled(at, "Images per digit")
    assert "index" not in at.query_params and "page" not in at.query_params


@pytest.mark.parametrize("bad", ["abc", "-1", "100", "1e2", "", "42.0"])
def test_a_bad_index_selects_the_grids_first_image(app_env, bad):
    x, t = app_env["test"]  # 100 test images: 100 is one past the last
    sevens = np.flatnonzero(t == 7)
    at = run_page("dataset", query={"split": "test", "digit": 7, "index": bad})
    assert at.number_input(key="ds_index").value == sevens[0]  # documented: no usable index, the grid's first image
    np.testing.assert_array_equal(heatmap_z(at, f"test #{sevens[0]}:"), x[sevens[0]])
    assert at.button(key=f"ds_pick_{sevens[0]}").proto.type == "primary"
    assert dict(at.query_params) == {"split": "test", "digit": "7"}


def test_inspect_selects_an_image(app_env):
    x, t = app_env["train"]
    at = run_page("dataset")
    at.button(key="ds_pick_5").click().run()
    np.testing.assert_array_equal(heatmap_z(at, "train #5"), x[5])
    assert at.query_params["index"] == "5"
    assert f"**{int((x[5] > 0).sum())}** of 784 pixels carry ink (> 0), **{int((x[5] > 127).sum())}** are brighter " \
           f"than half (> 127), the brightest is {int(x[5].max())}." in page_text(at)
    primary = [b.key for b in at.button if b.key.startswith("ds_pick_") and b.proto.type == "primary"]
    assert primary == ["ds_pick_5"]  # the open picture's button stands out


def test_random_sample_is_reproducible_from_its_url(app_env):
    _, t = app_env["train"]
    at = run_page("dataset")
    at.radio(key="ds_order").set_value("random").run()
    first = grid(at)
    seed = at.query_params["sample"]
    assert len(set(first)) == PER_PAGE and first != captions_for(range(PER_PAGE), t)
    at.button(key="ds_new_sample").click().run()
    assert grid(at) != first and at.query_params["sample"] != seed
    again = run_page("dataset", query={"sample": seed})
    assert grid(again) == first


def test_mean_and_variance_tab(app_env):
    x, t = app_env["train"]
    at = open_tab(run_page("dataset"), "🖼️ Mean and variance")
    assert_no_exception(at)
    grid = figure_titled(at, "The average picture of each digit (train set)")
    panels = {tr["name"]: tr for tr in grid["data"]}
    assert list(panels) == [str(d) for d in range(10)]
    for d in range(10):  # panel d sits at row d // 5, column d % 5: 28 pixels + a 3-pixel gap apart, rows 9 (their labels)
        r, c = divmod(d, 5)
        assert (panels[str(d)]["x0"], panels[str(d)]["y0"]) == (c * 31, r * 37)
        np.testing.assert_allclose(array(panels[str(d)]["z"]), x[t == d].mean(axis=0), atol=0.01)
    assert grid["layout"]["coloraxis"]["colorbar"]["title"]["text"] == "mean pixel value (0–255)"
    var = heatmap_z(at, "How much each pixel varies (train set, all digits)")
    np.testing.assert_allclose(var, x.astype(float).var(axis=0), rtol=1e-4, atol=0.05)
    bar = figure_titled(at, "How much each pixel varies")["data"][0]["colorbar"]
    assert bar["title"]["text"] == "variance (pixel value²)" and bar["tickformat"] == ","  # "12,000", not "12k" with no unit


def test_histogram_tab_counts_every_pixel(app_env):
    x, t = app_env["test"]
    at = run_page("dataset", query={"split": "test", "digit": 7, "tab": "hist"})
    counts = array(figure_titled(at, "digit 7")["data"][0]["y"])
    assert counts.sum() == int((t == 7).sum()) * 784
    assert counts.tolist() == np.histogram(x[t == 7], bins=np.arange(0, 257, 8))[0].tolist()
    at.toggle(key="ds_log").set_value(False).run()
    assert figure_titled(at, "digit 7")["layout"]["yaxis"]["type"] == "linear"


def test_pca_tab_places_every_sampled_image(app_env):
    _, t = app_env["train"]
    at = run_page("dataset", query={"tab": "pca"})
    fig = figure_titled(at, "(PCA)")
    points = {tr["name"]: array(tr["customdata"]).tolist() for tr in fig["data"]}
    assert sum(len(v) for v in points.values()) == len(t)  # 600 < 3,000: every image is on the map
    for d, idx in points.items():
        assert all(t[i] == int(d) for i in idx)
    assert "% of the variance" in fig["layout"]["xaxis"]["title"]["text"]


def test_load_mnist_flags_tab_mirrors_the_seed(app_env):
    x, t = app_env["train"]
    at = run_page("dataset", query={"tab": "flags"})
    table = at.dataframe[0].value
    assert table["shape"].tolist() == [str((len(t), 784)), str((len(t),))]
    assert table["dtype"].tolist() == ["float32", "uint8"]
    assert table["max"].tolist() == [f"{x.max() / 255:g}", str(t.max())]
    code = at.code[0].value
    assert "print(img.shape)       # (784,)" in code and "img = img.reshape(28, 28)" in code
    assert f"print(label)           # {t[0]}" in code
    at.toggle(key="ds_normalize").set_value(False).run()
    at.toggle(key="ds_flatten").set_value(False).run()
    at.toggle(key="ds_one_hot").set_value(True).run()
    table = at.dataframe[0].value
    assert table["shape"].tolist() == [str((len(t), 1, 28, 28)), str((len(t), 10))]
    assert table["dtype"].tolist() == ["uint8", "float32"]
    assert table["max"].tolist() == [str(x.max()), "1"]
    assert "print(img.shape)       # (1, 28, 28)" in at.code[0].value
    np.testing.assert_array_equal(heatmap_z(at, "x_train[0].reshape(28, 28)"), x[0])


def test_one_control_per_thumbnail_and_one_link_for_the_open_image(app_env):
    at = run_page("dataset", query={"split": "test", "model": "small", "index": 7})
    assert_no_exception(at)
    assert "not part of this app yet" not in page_text(at)
    pick = [b for b in at.button if b.key.startswith("ds_pick_")]
    assert sorted(int(b.key.rsplit("_", 1)[1]) for b in pick) == list(range(PER_PAGE))  # one button per picture
    assert {b.label for b in pick} == {"Inspect"} and len(image_captions(at)) == PER_PAGE
    queries = [dict(parse_qsl(link.proto.query_string)) for link in at.main.get("page_link")]
    assert queries == [{"split": "test", "index": "7", "model": "small"}]  # the image shown pixel by pixel, and only it
    assert [link.proto.label for link in at.main.get("page_link")] == ["Open #7 in the single-image page"]


def test_a_dot_on_the_pca_map_names_its_image(app_env):
    from engine import explore
    from ui.dataset.pca import picked

    x, t = app_env["train"]
    at = run_page("dataset", query={"tab": "pca"})
    fig = figure_titled(at, "(PCA)")
    _, idx, _ = explore.pca_2d(x, n=3000, seed=0)  # what the page samples (all 600 here), in the map's order
    labels = t[idx]
    for d, k in ((0, 0), (3, 5), (9, -1)):
        drawn = array(fig["data"][d]["customdata"])
        k = k % len(drawn)
        click = {"curve_number": d, "point_number": k, "point_index": k, "x": 0.1, "y": 0.2}
        assert picked([click], labels, idx) == drawn[k] and t[drawn[k]] == d
        assert picked([{**click, "customdata": int(drawn[k])}], labels, idx) == drawn[k]
    assert picked([{"curve_number": 3, "point_index": 10**6}], labels, idx) is None  # no such dot
    assert picked([{"curve_number": 3, "point_index": 0, "customdata": int(drawn[0]) + 1}], labels, idx) is None
    assert picked([{"curve_number": 12, "point_index": 0}, "junk"], labels, idx) is None and picked(None, labels, idx) is None
    assert "Click a dot on the map to open its image here." in [i.value for i in at.info]


def test_an_image_opened_from_the_map_is_shown_beside_it_and_above(app_env):
    x, t = app_env["train"]
    at = run_page("dataset", query={"tab": "pca", "model": "small"})
    at.session_state["ds_index"] = 321  # what a click on dot #321 does (ui.dataset.pca._on_click)
    at.session_state["ds_pca_pick"] = ("train", 321)
    at.run()
    assert_no_exception(at)
    assert f"#321 · {t[321]}" in image_captions(at)
    assert "Image #321, opened from the map. It is also shown pixel by pixel above." in page_text(at)
    np.testing.assert_array_equal(heatmap_z(at, "train #321:"), x[321])
    links = [dict(parse_qsl(link.proto.query_string)) for link in at.main.get("page_link")]
    assert links == [{"split": "train", "index": "321", "model": "small"}] * 2  # beside the map and beside the pixels
    assert at.query_params["index"] == "321" and at.query_params["tab"] == "pca"
    at.button(key="ds_pick_2").click().run()  # another image chosen in the grid: the map's panel lets go of #321
    assert "Click a dot on the map to open its image here." in [i.value for i in at.info]


# --- first run: no data anywhere


def four_files(arrays, *, gz):
    """(name, bytes) of the four MNIST files built from synthetic arrays."""
    out = []
    for split, (x, t) in arrays.items():
        for stem, arr, kind in ((STEMS[split][0], x, "images"), (STEMS[split][1], t, "labels")):
            data = idx_bytes(arr, kind=kind)
            out.append((stem + (".gz" if gz else ""), gzip.compress(data) if gz else data))
    return out


def test_without_data_the_dataset_page_shows_the_first_run_panel(no_data_env):
    at = run_page("dataset")
    text = page_text(at)
    assert "MNIST is not here yet" in text and "export MNIST_DIR=" in text
    assert [b.label for b in at.button if b.label == "Download MNIST"]
    assert at.file_uploader(key="firstrun_upload")
    assert not at.image and not at.get("plotly_chart")


@pytest.mark.parametrize("gz", [True, False])
def test_uploading_the_four_files_makes_the_browser_work(no_data_env, synth_mnist, gz):
    _, arrays = synth_mnist
    at = run_page("dataset")
    files = [(f"upload-{name}", data, "application/octet-stream") for name, data in four_files(arrays, gz=gz)]
    at.file_uploader(key="firstrun_upload").set_value(files).run()
    assert_no_exception(at)
    assert not at.error
    stored = sorted(p.name for p in no_data_env.iterdir())
    assert stored == sorted(name for name, _ in four_files(arrays, gz=gz))  # standard names, not the uploaded ones
    at.run()
    assert grid(at) == captions_for(range(PER_PAGE), arrays["train"][1])


def test_a_bad_upload_is_one_clear_error_and_stores_nothing(no_data_env, synth_mnist):
    _, arrays = synth_mnist
    name, data = four_files(arrays, gz=True)[0]
    at = run_page("dataset")
    at.file_uploader(key="firstrun_upload").set_value(("train-images-idx3-ubyte.gz", data[:5000], "application/gzip")).run()
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "train-images-idx3-ubyte.gz is a truncated gzip file" in errors[0], errors
    assert not no_data_env.exists() or not any(no_data_env.iterdir())
    at.file_uploader(key="firstrun_upload").set_value(("labels.bin", b"\x00\x00\x08\x01" + b"\x00" * 4, "x")).run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "labels.bin declares 0 labels" in errors[0], errors


def test_a_failed_download_is_one_clear_error(no_data_env):
    at = run_page("dataset")
    next(b for b in at.button if b.label == "Download MNIST").click().run()
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Could not download train-images-idx3-ubyte.gz from any mirror" in errors[0], errors


@pytest.mark.mnist
def test_download_button_fetches_verifies_and_loads(no_data_env, mnist_dir, monkeypatch):
    # a file:// mirror holding the real files: the button's whole path runs, SHA-256 checks included, offline
    monkeypatch.setenv("MNIST_MIRRORS", mnist_dir.resolve().as_uri() + "/")
    at = run_page("dataset")
    next(b for b in at.button if b.label == "Download MNIST").click().run(timeout=120)
    assert_no_exception(at)
    assert not at.error
    assert sorted(p.name for p in no_data_env.iterdir()) == sorted(
        f"{s}.gz" for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    assert "60,000 images match" in page_text(at)


@pytest.mark.parametrize("lang, words", [("zh", "主方向"), ("ja", "主方向")])
def test_the_page_speaks_the_language_in_the_url(app_env, lang, words):
    at = run_page("dataset", query={"lang": lang, "tab": "pca"})
    figure_titled(at, words)
    assert "images match" not in page_text(at)  # no English left in the grid caption
    assert at.query_params["lang"] == lang and at.query_params["tab"] == "pca"


def test_the_dataset_loads_once_for_simultaneous_first_visits_and_is_read_only(app_env, monkeypatch):
    import threading

    from ui import loaders

    calls = []
    real = loaders.load_raw

    def counting_load_raw(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(loaders, "load_raw", counting_load_raw)
    results = [None] * 6
    start = threading.Barrier(6)

    def visit(i):
        start.wait()
        results[i] = loaders.dataset()

    threads = [threading.Thread(target=visit, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and all(r is results[0] for r in results)
    with pytest.raises(ValueError, match="read-only"):
        results[0].images("train")[0, 0, 0] = 1


@pytest.mark.parametrize("text, expected", [("42", 42), ("0", 0), (None, 7), ("", 7), ("4.2", 7), ("1e3", 7), ("abc", 7),
                                            ("-1", 7), ("101", 7), ("9" * 400, 7), (" 5", 7), ("١٢", 7)])
def test_as_int_accepts_only_plain_in_range_integers(text, expected):
    from ui.urlstate import as_int
    assert as_int(text, 7, lo=0, hi=100) == expected


def test_as_choice_and_as_bool_fall_back_to_the_default():
    from ui.urlstate import as_bool, as_choice
    assert as_choice("3", ("all", *range(10)), "all") == 3 and as_choice("test", ("train", "test"), "train") == "test"
    assert as_choice("10", ("all", *range(10)), "all") == "all" and as_choice(None, ("a",), "a") == "a"
    assert [as_bool(v, None) for v in ("1", "TRUE", "off", "maybe", None)] == [True, True, False, None, None]
