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
def hil_export(request: pytest.FixtureRequest, hil_model, hil_paths) -> Path:
    from hil.data import default_dataset, prepare_dataset
    from hil.export.quantize import export_model
    from hil.model.train import train_model
    from hil.run import AUTO, RunOptions, _profile_for

    given = request.config.getoption("--hil-dataset")
    dataset = Path(given) if given else default_dataset(hil_model, hil_paths.work)
    ds = prepare_dataset(hil_model, dataset, hil_paths.work)
    train_model(hil_model, ds, hil_paths, _profile_for(RunOptions(profile=AUTO), dataset))
    return Path(export_model(hil_model, ds, hil_paths))


@pytest.fixture(scope="session")
def hil_firmware(hil_board, hil_model, hil_paths, hil_export) -> Path:
    from hil.firmware.build import build_firmware

    return Path(build_firmware(hil_board, hil_model, hil_paths, hil_board.engine))


@pytest.fixture(scope="session")
def hil_device(hil_board, hil_firmware, tmp_path_factory) -> Iterator[Any]:
    from hil.device.flash import running_device

    log = tmp_path_factory.mktemp("hil-device") / "flash.log"
    with running_device(hil_board, hil_firmware, flash_log=log) as handle:
        yield handle


@pytest.fixture
def hil_client(hil_board, hil_device, hil_export, tmp_path) -> Iterator[Any]:
    from hil.artifacts import sha256_file
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.export.tflite_info import read_io_quant
    from hil.run import check_image

    board = hil_board
    name = board.name
    tflite = hil_export / "model.tflite"
    in_s, in_zp, out_s, out_zp, in_shape, _ = read_io_quant(tflite)
    port = open_link(hil_device.url, board.link.baud, tmp_path / "serial.log")
    try:
        client = DeviceClient(port, timeout_s=board.link.timeout_s, retries=board.link.retries,
                              inflight=board.link.inflight, board=name)
        check_image(client.hello(), name, sha256_file(tflite), (in_s, in_zp), (out_s, out_zp), tuple(in_shape))
        yield client
    finally:
        port.close()


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
