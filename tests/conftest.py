"""Shared fixtures, one module per piece of the pipeline (tests/fixtures/*.py)."""

import os
import shutil

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

pytest_plugins = [
    "tests.fixtures.data",
    "tests.fixtures.model",
    "tests.fixtures.firmware",
    "tests.fixtures.run",
    "tests.fixtures.windows",
]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "needs_tree(*names): needs the external trees NAMES (tflm, ambiqsuite); skips without them, "
        "fails with HIL_REQUIRE_TREES=1 (tests/trees.py)",
    )


# A test that needs TFLM may be the one whose fixtures compile TFLM's library for a kernel set
# (every kernel: minutes on two cores, more on a busy machine), on top of its own work.
TFLM_TEST_TIMEOUT_S = 1800


def pytest_collection_modifyitems(config, items):
    for item in items:
        trees = {n for m in item.iter_markers("needs_tree") for n in m.args}
        if "tflm" in trees and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TFLM_TEST_TIMEOUT_S))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before the test's fixtures, which would otherwise start building against a missing tree.
    names = [n for m in item.iter_markers("needs_tree") for n in m.args]
    if names:
        from tests.trees import require

        require(*dict.fromkeys(names))


@pytest.fixture(autouse=True)
def _own_history(tmp_path_factory, monkeypatch):
    """Each test records its runs in a history of its own: one test's run is never another's baseline."""
    monkeypatch.setenv("HIL_HISTORY", str(tmp_path_factory.mktemp("history") / "history.sqlite"))


@pytest.fixture(scope="session", autouse=True)
def compiler_cache(tmp_path_factory):
    """Every firmware build of the session compiles through one ccache in the session's work folder.

    TFLM's library is the big compile (minutes on two cores). Within one work
    folder it is compiled once anyway (<work>/cache/tflm-lib); tests that
    build in a work folder of their own take its objects from this cache. CMake reads CMAKE_<LANG>_COMPILER_LAUNCHER from
    the environment at a build folder's first configure. Without ccache (it is
    in `make setup`'s packages) every build compiles its own copy.
    """
    if not shutil.which("ccache") or os.environ.get("CMAKE_CXX_COMPILER_LAUNCHER"):
        yield None
        return
    cache = tmp_path_factory.mktemp("ccache")
    with pytest.MonkeyPatch.context() as mp:
        for lang in ("C", "CXX"):
            mp.setenv(f"CMAKE_{lang}_COMPILER_LAUNCHER", "ccache")
        mp.setenv("CCACHE_DIR", str(cache))
        mp.setenv("CCACHE_NOHASHDIR", "1")  # -g puts the build folder in the hash otherwise; each image has its own
        yield cache
