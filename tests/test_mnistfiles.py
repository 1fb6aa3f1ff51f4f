"""Which MNIST files the engine looks for, in which folder, and what it says when they are not there."""
import pytest

from engine.errors import MnistNotFoundError
from engine.mnistfiles import FILES, cache_refusal, candidates, find_files, locate, source_problem, writable_cache
from engine.paths import mnist_cache_dir
from tests.synth import write_mnist

ALL_GZ = "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"


def test_a_stem_goes_by_both_common_namings_gz_first():
    assert candidates("t10k-labels-idx1-ubyte") == ["t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte",
                                                    "t10k-labels.idx1-ubyte.gz", "t10k-labels.idx1-ubyte"]
    assert [stem for stem, _ in FILES.values()] == ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                                    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    assert [kind for _, kind in FILES.values()] == ["images", "labels", "images", "labels"]


def test_find_files_takes_the_first_naming_present_and_only_files(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"raw")
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"gz")
    (tmp_path / "train-labels.idx1-ubyte").write_bytes(b"dotted raw")
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"raw")
    (tmp_path / "t10k-images-idx3-ubyte.gz").mkdir()  # a folder of the right name is not the file
    (tmp_path / "t10k-images.idx3-ubyte").write_bytes(b"dotted raw")
    found = find_files(str(tmp_path))  # a folder given as a string works too
    assert found == {"train_img": tmp_path / "train-images-idx3-ubyte.gz", "train_label": tmp_path / "train-labels-idx1-ubyte",
                     "test_img": tmp_path / "t10k-images.idx3-ubyte", "test_label": None}


@pytest.fixture
def clean_env(fresh_cache, monkeypatch):
    """No MNIST_DIR, an empty private cache; returns the MNIST cache folder."""
    return mnist_cache_dir()


def test_data_dir_that_is_incomplete_names_what_is_missing_and_the_download_command(tmp_path, clean_env):
    folder, _ = write_mnist(tmp_path / "d", n_train=5, n_test=5)
    (folder / "train-images-idx3-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistNotFoundError) as e:
        locate(folder)
    assert str(e.value) == (f"MNIST is incomplete in {folder} (data_dir): missing train-images-idx3-ubyte.gz, "
                            f"t10k-labels-idx1-ubyte.gz. Put the four files there or run "
                            f"`python -m engine download --data-dir {folder}`.")


def test_a_complete_data_dir_or_mnist_dir_is_returned_with_its_files(tmp_path, clean_env, monkeypatch):
    folder, _ = write_mnist(tmp_path / "d", n_train=5, n_test=5)
    assert locate(str(folder)) == (folder, find_files(folder))
    monkeypatch.setenv("MNIST_DIR", str(folder))
    assert locate() == (folder, find_files(folder))
    assert source_problem() is None


@pytest.mark.parametrize("removed, them", [(["t10k-images-idx3-ubyte.gz"], "it"),
                                           (["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"], "them")])
def test_an_incomplete_mnist_dir_names_the_missing_files_and_the_fix(tmp_path, clean_env, monkeypatch, removed, them):
    folder, _ = write_mnist(tmp_path / "d", n_train=5, n_test=5)
    for name in removed:
        (folder / name).unlink()
    monkeypatch.setenv("MNIST_DIR", str(folder))
    expected = (f"MNIST_DIR points to {folder}, which is missing {', '.join(removed)}: put {them} there, or "
                f"fix MNIST_DIR or unset it to use the cache ({clean_env}).")
    assert source_problem() == expected
    with pytest.raises(MnistNotFoundError) as e:
        locate()
    assert str(e.value) == expected


def test_an_empty_cache_names_the_four_files_and_both_ways_to_get_them(clean_env):
    expected = (f"MNIST was not found: the four files {ALL_GZ.replace(', t10k-labels', ' and t10k-labels')} are needed. "
                f"Put them in a folder and set MNIST_DIR to it, or run `python -m engine download` to fetch them into {clean_env}.")
    with pytest.raises(MnistNotFoundError) as e:
        locate()
    assert str(e.value) == expected
    write_mnist(clean_env, n_train=5, n_test=5)
    assert locate() == (clean_env, find_files(clean_env))  # once they are there, the cache is where they are read from


def test_mnist_dir_naming_the_cache_by_another_path_does_not_refuse_the_cache(tmp_path, clean_env, monkeypatch):
    clean_env.mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(clean_env, target_is_directory=True)
    monkeypatch.setenv("MNIST_DIR", str(link))
    assert cache_refusal() is None
    assert writable_cache() == clean_env
    monkeypatch.setenv("MNIST_DIR", str(clean_env))
    monkeypatch.setenv("MNIST_EXPLORER_CACHE", str(tmp_path / "link-to-cache"))  # the cache itself reached through a link
    (tmp_path / "link-to-cache").symlink_to(clean_env.parent, target_is_directory=True)
    assert cache_refusal() is None


def test_an_unset_or_empty_mnist_dir_has_no_problem_and_no_refusal(clean_env, monkeypatch):
    assert source_problem() is None and cache_refusal() is None
    monkeypatch.setenv("MNIST_DIR", "")
    assert source_problem() is None and cache_refusal() is None
    assert writable_cache() == clean_env
    with pytest.raises(MnistNotFoundError, match="^MNIST was not found"):  # an empty MNIST_DIR falls back to the cache
        locate()
