"""The server's BLAS thread policy (issue 17): one thread per process by default, set from inside the process."""
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CHILD = "import ui.threads as th; print(th.wanted(), th.apply(), flush=True)"


def run(env):
    """(wanted, in force) printed by a fresh Python that applies the policy; OPENBLAS_NUM_THREADS is cleared."""
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], out[1]


def test_one_blas_thread_by_default():
    assert run({}) == ("1", "1")


@pytest.mark.parametrize(("value", "expected"), [("2", ("2", "2")), ("banana", ("1", "1")), ("0", ("1", "1")),
                                                 ("-3", ("1", "1")), ("99999", ("1", "1"))])
def test_the_setting_is_read_and_bad_values_fall_back(value, expected):
    assert run({"MNIST_EXPLORER_BLAS_THREADS": value}) == expected


def test_auto_leaves_blas_alone():
    wanted, now = run({"MNIST_EXPLORER_BLAS_THREADS": "auto"})
    assert wanted == "None" and int(now) >= 1
