"""The test plug-ins (tests/plugins/) through the real commands: `hil build --engine toy` builds an
image with the toy engine, and `hil run` on a board whose flasher is toy-host scores windows on it.

Both run in this process (click's CliRunner), since the plug-ins are registered here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hil.cli import cli
from tests.plugins import registered
from tests.unit.test_registries import toy_boards_file

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "rhythm-4-effv2"
N = 16


@pytest.fixture
def plugins():
    with registered():
        yield


def test_hil_build_with_the_toy_engine(tiny_model, plugins):
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from tests.fixtures.firmware import host_port_process

    work = Path(tiny_model.paths.work)
    r = CliRunner().invoke(cli, ["--boards", str(REPO / "boards.yaml"), "build", "--board", "qemu-m4", "--host",
                                 "--engine", "toy", "--model", str(MODEL), "--work", str(work), "--json"])
    assert r.exit_code == 0, r.output
    folder = Path(json.loads(r.output)["folder"])
    assert folder.name == "host-toy"
    size = json.loads((folder / "size.json").read_text())
    assert size["engine"] == "toy" and size["arena_bytes"] > 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["inputs"]["engine"] == "toy" and "aot_kernels" in manifest["inputs"]
    assert "toy engine: aot kernels" in (folder / "build.log").read_text()  # CMake used tests/plugins/firmware/toy
    export_sha = json.loads((Path(tiny_model.export_dir) / "manifest.json").read_text())["outputs"]["sha256"]
    with host_port_process(folder / "hil.elf") as (_proc, url):
        link = open_link(url, 115200)
        try:
            info = DeviceClient(link, timeout_s=5, retries=1, inflight=1, board="host").hello()
        finally:
            link.close()
    assert info.engine == "toy" and info.model_sha256.lower() == export_sha.lower()


def test_hil_run_on_the_toy_flasher(tiny_model, plugins, tmp_path):
    out = tmp_path / "run"
    boards = toy_boards_file(tmp_path)
    r = CliRunner().invoke(cli, [
        "--boards", str(boards), "run", "--board", "toy", "--no-train", "--model", str(MODEL),
        "--dataset", str(tiny_model.dataset.path), "--work", str(tiny_model.paths.work),
        "--windows", str(N), "--out", str(out), "--json",
    ])  # fmt: skip
    assert r.exit_code == 0, r.output[-3000:]
    rep = json.loads((out / "report.json").read_text())
    assert rep["board"] == "toy" and rep["engine"] == "toy" and rep["windows"] == N
    assert rep["device_info"]["engine"] == "toy" and rep["device_info"]["board"] == "toy"
    assert rep["agreement"]["exact_match"] == 1.0 and rep["agreement"]["max_abs_diff_lsb"] == 0
    assert sum(map(sum, rep["metrics"]["device"]["confusion"])) == N
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(row["index"] for row in rows) == list(range(N)) and all(len(row["outputs"]) == 4 for row in rows)
    assert "toy-host:" in (out / "flash.log").read_text()
    assert (Path(tiny_model.paths.work) / tiny_model.cfg.name / "firmware" / "toy-toy" / "hil.elf").is_file()
