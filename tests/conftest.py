"""Shared fixtures, one module per piece of the pipeline (tests/fixtures/*.py)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.model",
    "tests.fixtures.firmware",
    "tests.fixtures.run",
]
