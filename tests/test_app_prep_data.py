"""The preprocessing page's data tab, against NumPy: the whitened digit, and a bad ?index= falling back to image 0.

(Beside tests/test_app_preprocess.py, which checks the other four panels; the whitening panel was only checked for
its shape there, so a panel showing another choice's image went unnoticed.)
"""
import numpy as np
import pytest

from tests import apptest_helpers
from tests.apptest_helpers import array, figure_titled, run_page

app_env = apptest_helpers.app_env  # fixture


def zca_by_hand(x_train, img, *, eps=0.1):
    """ZCA whitening written out: (img / 255 - mean) @ U diag(1 / sqrt(s + eps)) U^T, from the training pixels / 255."""
    x = x_train.reshape(len(x_train), -1).astype(np.float64) / 255
    mean = x.mean(axis=0)
    s, U = np.linalg.eigh((x - mean).T @ (x - mean) / len(x))
    Z = U @ np.diag(1 / np.sqrt(np.clip(s, 0, None) + eps)) @ U.T
    return ((img.reshape(-1).astype(np.float64) / 255 - mean) @ Z).reshape(28, 28)


def test_the_whitening_panel_shows_the_whitened_digit(app_env):
    x_train, _ = app_env["train"]
    x_test, t_test = app_env["test"]
    at = run_page("preprocess", query={"tab": "data", "index": 3})
    fig = figure_titled(at, f"Test image #3 (a {t_test[3]}) under each choice")
    z = {tr["name"]: array(tr["z"]).astype(np.float64) for tr in fig["data"]}
    want = zca_by_hand(x_train, x_test[3])
    np.testing.assert_allclose(z["whiten"], want, atol=2e-3 * np.abs(want).max())
    assert not np.allclose(z["whiten"], z["unit"], atol=0.05)  # a different picture from pixels / 255


@pytest.mark.parametrize("bad", ["abc", "-1", "100"])
def test_a_bad_index_falls_back_to_the_first_test_image(app_env, bad):
    _, t_test = app_env["test"]
    at = run_page("preprocess", query={"tab": "data", "index": bad})
    assert at.number_input(key="pp_index").value == 0
    figure_titled(at, f"Test image #0 (a {t_test[0]}) under each choice")  # the panels show image 0, not another default


@pytest.mark.parametrize("query, state", [
    ({"tab": "nope", "index": "abc"}, {"pp_tab": "data", "pp_index": 0}),
    ({"tab": "mismatch", "mm": "../../x"}, {"pp_tab": "mismatch", "pp_model": "default"}),  # the page's model: no pre-unit here
    ({"tab": "compare", "kinds": "pca-unit", "ep": "99", "seed": "-3"}, {"pp_tab": "compare", "pp_kinds": ["unit"],
                                                                         "pp_epochs": 3, "pp_seed": 0}),
])
def test_bad_url_values_fall_back_to_the_documented_defaults(app_env, query, state):
    from ui.i18n import t
    at = run_page("preprocess", query=query)
    assert not at.error
    shown = {k: at.session_state[k] for k in state}
    assert shown == {**state, "pp_tab": t(f"prep.tab_{state['pp_tab']}")}
    assert not {"index", "mm", "ep", "seed"} & set(at.query_params)  # a default is not written back into the link
