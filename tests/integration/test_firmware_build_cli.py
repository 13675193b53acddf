"""`hil build`: errors a user can fix get a message and exit 3, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hil.cli import cli

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str):
    return CliRunner().invoke(cli, ["--boards", str(REPO / "boards.yaml"), "build", *args])


def test_build_without_an_export(tmp_path):
    r = _run("--board", "qemu-m4", "--model", str(REPO / "models" / "rhythm-4-effv2"), "--work", str(tmp_path))
    assert r.exit_code == 3
    assert "no exported model" in r.output and "hil export" in r.output
    assert "Traceback" not in r.output


def test_build_unknown_board(tmp_path):
    r = _run("--board", "qemu-m5", "--work", str(tmp_path))
    assert r.exit_code == 3 and "qemu-m4" in r.output


def test_build_tflm_without_a_tree(tmp_path, monkeypatch):
    monkeypatch.delenv("HIL_TFLM_ROOT", raising=False)
    export = tmp_path / "rhythm-4-effv2" / "export"
    export.mkdir(parents=True)
    (export / "model.tflite").write_bytes(b"not really a model")
    r = _run("--board", "qemu-m4", "--engine", "tflm", "--work", str(tmp_path))
    assert r.exit_code == 3 and "HIL_TFLM_ROOT" in r.output


def test_build_help_has_an_example():
    r = CliRunner().invoke(cli, ["build", "--help"])
    assert r.exit_code == 0 and "hil build --board qemu-m4 --model models/rhythm-4-effv2" in r.output


@pytest.mark.slow
@pytest.mark.parametrize(
    "port, engine, expected",
    [
        ("host", "nope", ["unknown engine HIL_ENGINE=nope", "engine.cmake not found in",
                          "engines in this tree: aot, tflm"]),
        ("nope", "aot", ["unknown port HIL_PORT=nope", "port.cmake not found in",
                         "ports in this tree: apollo4, host, qemu_mps2"]),
    ],
)  # fmt: skip
def test_cmake_names_a_missing_engine_or_port_and_lists_the_choices(tmp_path, port, engine, expected):
    from hil.errors import ConfigError
    from hil.firmware.build import cmake_build

    with pytest.raises(ConfigError, match="configuring the firmware"):
        cmake_build(tmp_path, port=port, engine=engine)
    # CMake word-wraps error text at a width that depends on the path length,
    # so compare with whitespace collapsed.
    log = " ".join((tmp_path / "build.log").read_text().split())
    for text in expected:
        assert text in log
