"""The first-run panel on a shared server (issue 13): the dataset is the server's, so a page installs MNIST only while
none is present, as one set told apart by headers; with MNIST_DIR set, nothing writes into a cache never read."""
import gzip
import json

import pytest

from tests import apptest_helpers
from tests.apptest_helpers import assert_no_exception, page_text, run_page
from tests.conftest import ROOT
from tests.synth import idx_bytes, synthetic_digits

no_data_env = apptest_helpers.no_data_env  # fixture
app_env = apptest_helpers.app_env  # fixture
CATALOG = {lang: json.loads((ROOT / "i18n" / f"{lang}.json").read_text(encoding="utf-8")) for lang in ("en", "zh", "ja")}


def uploads(n_train, n_test, *, seed=0):
    """Four uploads named so that a name-reader would file them wrongly ("latest" holds "test")."""
    names = {("train", "images"): "latest-train-images-idx3-ubyte.gz", ("train", "labels"): "latest-train-labels.gz",
             ("test", "images"): "digits-a.gz", ("test", "labels"): "digits-b.gz"}
    out = []
    for i, (split, n) in enumerate((("train", n_train), ("test", n_test))):
        x, t = synthetic_digits(n, seed=seed + i)
        for kind, arr in (("images", x), ("labels", t)):
            out.append((names[split, kind], gzip.compress(idx_bytes(arr, kind=kind)), "application/gzip"))
    return out


def test_files_are_filed_by_their_header_not_their_name(no_data_env):
    at = run_page("dataset")
    at.file_uploader(key="firstrun_upload").set_value(uploads(40, 12)).run()
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]
    at.run()
    assert "MNIST: 40 training and 12 test images" in page_text(at)  # the 40-image set is training, whatever its name


def test_an_open_panel_never_replaces_a_dataset_installed_meanwhile(no_data_env):
    first, second = run_page("dataset"), run_page("dataset")  # two visitors, both shown the panel
    first.file_uploader(key="firstrun_upload").set_value(uploads(40, 12)).run()
    stored = {p.name: p.read_bytes() for p in no_data_env.iterdir()}
    second.file_uploader(key="firstrun_upload").set_value(uploads(30, 10, seed=5)).run()
    assert_no_exception(second)
    assert {p.name: p.read_bytes() for p in no_data_env.iterdir()} == stored  # the first set, untouched
    said = second.session_state["firstrun_results"]
    assert any("already installed" in line for _, line in said), said  # refused, not replaced
    assert "MNIST: 40 training and 12 test images" in page_text(second)  # and the late visitor sees the server's set


def test_three_files_install_nothing_and_say_what_is_missing(no_data_env):
    at = run_page("dataset")
    at.file_uploader(key="firstrun_upload").set_value(uploads(60_000 // 1000, 12)[:3]).run()
    assert_no_exception(at)
    assert "Add the other" in page_text(at)
    assert not no_data_env.exists() or list(no_data_env.iterdir()) == []


def test_a_broken_mnist_dir_is_named_and_nothing_offers_to_write_elsewhere(no_data_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "no-such-folder"))
    at = run_page("dataset")
    assert_no_exception(at)
    text = page_text(at)
    assert "no-such-folder" in text and "MNIST_DIR" in text
    assert not [b for b in at.button if b.label == "Download MNIST"]
    assert not at.get("file_uploader") or all(u.key != "firstrun_upload" for u in at.get("file_uploader"))
    assert not no_data_env.exists()  # nothing written into the cache


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_an_offline_download_leads_with_what_to_do_instead(no_data_env, lang):
    at = run_page("dataset", query={"lang": lang})
    next(b for b in at.button if b.key == "firstrun_download").click().run()
    assert_no_exception(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1, errors
    first_line = errors[0].split("\n")[0]
    assert first_line == CATALOG[lang]["error.download"]  # the advice first, in the reader's language
    assert ("MNIST_DIR" in first_line) and ("no-such-mirror" in errors[0])  # then the engine's detail, as code
