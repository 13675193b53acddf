"""pytest plugin ``hil`` (entry point in pyproject): tests against a board, composed like pytest-embedded.

Options: ``--board NAME`` (a board of boards.yaml), ``--hil-boards FILE``,
``--hil-model DIR``, ``--hil-work DIR``, ``--hil-dataset DIR``,
``--hil-history FILE``.  Tests marked ``device`` are skipped unless
``--board`` is given, so ``pytest`` on a machine with no bench never touches
a probe.  A run of ``hil_run`` is a ``hil run``: its own folder under the runs
folder (``$HIL_RUNS``, default ./runs) and a row in the history, compared
with its baseline like any other run.

Fixtures, each built on the previous one (all session-scoped except the
client, so one flash serves a whole session)::

    hil_board      the Board of --board (default: the file's default)
    hil_model      ModelConfig from --hil-model
    hil_paths      ArtifactPaths under --hil-work
    hil_export     the exported model (data -> train -> export, reused when fresh)
    hil_firmware   the image for the board (built, reused when fresh)
    hil_device     the flashed (or QEMU-booted) device: a DeviceHandle with .url
    hil_client     a DeviceClient that passed HELLO and the model-hash check
    hil_run        a function running the whole pipeline on the board: hil_run(windows=200) -> RunResult
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "hardware-in-the-loop")
    group.addoption("--board", action="store", default=None, help="Board of boards.yaml to run `device` tests on.")
    group.addoption("--hil-boards", action="store", default=None, help="boards.yaml to use (default ./boards.yaml).")
    group.addoption("--hil-model", action="store", default="models/rhythm-4-effv2", help="Model folder for device tests.")
    group.addoption("--hil-work", action="store", default=None, help="Artifact folder for device tests (default ./build).")
    group.addoption("--hil-dataset", action="store", default=None, help="Dataset for device tests (default as `hil run`).")
    group.addoption("--hil-history", action="store", default=None,
                    help="History file the runs are recorded in (default as `hil run`: $HIL_HISTORY or beside runs/).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "device: needs a physical board on the bench (select with --board NAME)")
    config.addinivalue_line("markers", "nightly: the nightly regression against a board")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--board"):
        return
    skip = pytest.mark.skip(reason="needs a board on the bench: pass --board NAME")
    for item in items:
        if "device" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def hil_board(request: pytest.FixtureRequest):
    from hil.config import load_board

    return load_board(request.config.getoption("--board"), request.config.getoption("--hil-boards"))


@pytest.fixture(scope="session")
def hil_model(request: pytest.FixtureRequest):
    from hil.config import load_model_config

    return load_model_config(request.config.getoption("--hil-model"))


@pytest.fixture(scope="session")
def hil_paths(request: pytest.FixtureRequest, hil_model):
    from hil.artifacts import ArtifactPaths

    return ArtifactPaths.for_model(hil_model.name, request.config.getoption("--hil-work"))


@pytest.fixture(scope="session")
def hil_prepared(request: pytest.FixtureRequest, hil_model, hil_paths):
    """The dataset and the exported model (data -> train -> export, reused when fresh): hil.steps.prepare."""
    from hil.steps import prepare

    given = request.config.getoption("--hil-dataset")
    return prepare(hil_model, hil_paths, dataset=Path(given) if given else None)


@pytest.fixture(scope="session")
def hil_export(hil_prepared) -> Path:
    return hil_prepared.export_dir


@pytest.fixture(scope="session")
def hil_firmware(hil_board, hil_model, hil_paths, hil_prepared) -> Path:
    from hil.steps import build

    return build(hil_board, hil_model, hil_paths, None).dir  # the board's engine choice, as `hil run` makes it


@pytest.fixture(scope="session")
def hil_session(hil_board, hil_firmware, hil_prepared, tmp_path_factory) -> Iterator[Any]:
    """One DeviceSession for the whole test session: flashed once, HELLO and the image check passed."""
    from hil.device.session import DeviceSession

    logs = tmp_path_factory.mktemp("hil-device")
    with DeviceSession(hil_board, hil_firmware, expect=hil_prepared.expect, flash_log=logs / "flash.log",
                       serial_log=logs / "serial.log") as session:
        session.disconnect()  # the port stays free between tests (a whole-pipeline test opens it itself)
        yield session


@pytest.fixture(scope="session")
def hil_device(hil_session) -> Any:
    """The running device (DeviceHandle: .url, .can_restart, .restart())."""
    return hil_session.handle


@pytest.fixture
def hil_client(hil_session) -> Iterator[Any]:
    """A DeviceClient on a fresh link that passed HELLO and the full image check; closed after the test."""
    try:
        yield hil_session.reconnect()
    finally:
        hil_session.disconnect()


@pytest.fixture
def hil_run(request: pytest.FixtureRequest, hil_board) -> Callable[..., Any]:
    """Runs the whole pipeline on the selected board; keyword arguments are RunOptions fields.

    The default run folder, ``<runs>/<time>-<board>-<test>``, outlives the test
    session and names the run in the history (a fixed name would replace one
    night's row with the next)."""
    from hil.run import RunOptions, run_pipeline

    def run(**kw: Any):
        opt = request.config.getoption
        history = opt("--hil-history")
        opts = RunOptions(board=hil_board.name, model=Path(opt("--hil-model")), work=opt("--hil-work"),
                          boards_file=opt("--hil-boards"), dataset=opt("--hil-dataset"),
                          history=Path(history) if history else None, out=kw.pop("out", None) or _run_dir(request),
                          show_progress=False)
        for k, v in kw.items():
            setattr(opts, k, v)
        return run_pipeline(opts)

    return run


def _run_dir(request: pytest.FixtureRequest) -> Path:
    import os
    import re
    import time

    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    board = request.getfixturevalue("hil_board").name
    base = Path(os.environ.get("HIL_RUNS", "runs")) / f"{time.strftime('%Y%m%d-%H%M%S')}-{board}-{test}"
    out, n = base, 1
    while out.exists():  # a second run of the same test within a second
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out
