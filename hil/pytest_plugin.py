"""pytest plugin ``hil`` (entry point in pyproject): tests against a board, composed like pytest-embedded.

Options: ``--board NAME`` (a board of boards.yaml), ``--hil-boards FILE``,
``--hil-model DIR``, ``--hil-work DIR``, ``--hil-dataset DIR``.  Tests marked
``device`` are skipped unless ``--board`` is given, so ``pytest`` on a
machine with no bench never touches a probe.

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
def hil_run(request: pytest.FixtureRequest, hil_board, tmp_path) -> Callable[..., Any]:
    """Runs the whole pipeline on the selected board; keyword arguments are RunOptions fields."""
    from hil.run import RunOptions, run_pipeline

    def run(**kw: Any):
        opts = RunOptions(board=hil_board.name, model=Path(request.config.getoption("--hil-model")),
                          work=request.config.getoption("--hil-work"), boards_file=request.config.getoption("--hil-boards"),
                          dataset=request.config.getoption("--hil-dataset"), out=kw.pop("out", tmp_path / "run"),
                          show_progress=False)
        for k, v in kw.items():
            setattr(opts, k, v)
        return run_pipeline(opts)

    return run
