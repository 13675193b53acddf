"""Shared fixtures, one module per piece of the pipeline (tests/fixtures/*.py)."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.model",
    "tests.fixtures.firmware",
    "tests.fixtures.run",
]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs_tree(*names): needs the external trees NAMES (tflm, ambiqsuite); skips without them, "
        "fails with HIL_REQUIRE_TREES=1 (tests/trees.py)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before the test's fixtures, which would otherwise start building against a missing tree.
    names = [n for m in item.iter_markers("needs_tree") for n in m.args]
    if names:
        from tests.trees import require

        require(*dict.fromkeys(names))

