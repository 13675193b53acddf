"""Engines and flashers are registries: a plug-in (tests/plugins/) is one module plus its registration,
and boards.yaml, the --engine options, `hil boards` and the flash helpers accept it with no other change.

The builds and runs with the plug-ins are in tests/integration/test_plugins_end_to_end.py.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hil.cli import cli
from hil.config import load_boards
from hil.engines import engine_names, get_engine
from hil.errors import ConfigError
from hil.flashers import flasher_kinds, get_flasher
from hil.plugins import Registry
from tests.plugins import registered

REPO = Path(__file__).resolve().parents[2]

TOY_BOARD = {
    "description": "the native host port, run by the toy-host flasher (test plug-in)",
    "cpu": "host", "fpu": "none", "clock_hz": 1_000_000_000,
    "memory": {"flash_bytes": 1 << 30, "ram_bytes": 1 << 30},
    "port": "host", "engine": "toy",
    "flasher": {"kind": "toy-host"},
    "link": {"baud": 115200, "timeout_s": 10},
    "timer": {"kind": "dwt", "unit": "cycles"},
}  # fmt: skip


def toy_boards_file(folder: Path, **board_edits) -> Path:
    """The shipped boards.yaml plus a board `toy` that uses both plug-ins."""
    data = yaml.safe_load((REPO / "boards.yaml").read_text())
    data["boards"]["toy"] = {**TOY_BOARD, **board_edits}
    path = folder / "boards.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def plugins():
    with registered():
        yield


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as exc:
        load_boards(path)
    return str(exc.value)


def test_built_ins_are_registered():
    assert engine_names() == ["aot", "tflm"]
    assert flasher_kinds() == ["qemu", "pyocd", "jlink", "exporter"]
    assert "CONV_2D" in get_engine("aot").supported_ops() and "CONV_2D" in get_engine("tflm").supported_ops()
    assert [get_flasher(k).image for k in flasher_kinds()] == ["hil.elf", "hil.bin", "hil.bin", "hil.elf"]
    assert get_flasher("qemu").can_restart and not get_flasher("pyocd").can_restart


def test_a_board_naming_plug_ins_loads_once_they_are_registered(tmp_path, plugins):
    board = load_boards(toy_boards_file(tmp_path)).boards["toy"]
    assert board.engine == "toy" and board.flasher.kind == "toy-host" and board.flasher.boot_timeout_s == 10
    assert type(board.flasher).__module__ == "tests.plugins.toy_flasher"
    assert board.model_dump(mode="json")["flasher"] == {"kind": "toy-host", "boot_timeout_s": 10.0}


def test_without_the_plug_ins_the_same_file_is_refused(tmp_path):
    msg = _error(toy_boards_file(tmp_path))
    assert "boards.toy.engine" in msg and "'aot' or 'tflm'" in msg and "'toy'" in msg
    assert "boards.toy.flasher" in msg and "'toy-host'" in msg and "'qemu', 'pyocd', 'jlink'" in msg


def test_mistakes_in_a_plug_in_section_name_the_full_key(tmp_path, plugins):
    msg = _error(toy_boards_file(tmp_path, flasher={"kind": "toy-host", "boot_timout_s": 3}))
    assert "boards.toy.flasher.boot_timout_s" in msg and "Did you mean 'boot_timeout_s'" in msg
    msg = _error(toy_boards_file(tmp_path, flasher={"kind": "toy-hots"}))
    assert "'toy-hots'" in msg and "'toy-host'" in msg
    msg = _error(toy_boards_file(tmp_path, engine="toys"))
    assert "'aot', 'tflm' or 'toy'" in msg


def test_engine_options_and_hil_boards_list_the_plug_ins(tmp_path, plugins):
    runner = CliRunner()
    for command in ("build", "run", "flash"):
        r = runner.invoke(cli, [command, "--help"], terminal_width=200)
        assert "[aot|tflm|toy]" in r.output, (command, r.output)
    r = runner.invoke(cli, ["--boards", str(toy_boards_file(tmp_path)), "boards"])
    assert r.exit_code == 0 and "toy-host" in r.output
    from hil.commands.boards import _flasher_summary  # the wide table's flasher column

    assert _flasher_summary(load_boards(toy_boards_file(tmp_path)).boards["toy"].flasher) == \
        "toy-host (host-port process on a pty)"
    r = runner.invoke(cli, ["build", "--engine", "nope"])
    assert r.exit_code == 3 and "'aot', 'tflm', 'toy'" in r.output


def test_flash_helpers_follow_the_plug_in_flasher(tmp_path, plugins):
    from hil.device.flash import check_port, flash_board

    board = load_boards(toy_boards_file(tmp_path)).boards["toy"]
    assert check_port(board) is None  # the flasher starts the device: there is no port to check yet
    with pytest.raises(ConfigError, match="nothing to flash"):
        flash_board(board, tmp_path)


def test_unregistered_names_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown engine 'toy'; known: aot, tflm"):
        get_engine("toy")
    with pytest.raises(ConfigError, match=r"unknown flasher 'openocd'; known: qemu, pyocd, jlink"):
        get_flasher("openocd")


def test_a_second_plug_in_under_a_taken_name_is_refused(plugins):
    from hil.engines import register_engine
    from hil.engines.aot import AotEngine

    class Impostor(AotEngine):
        name = "toy"

    with pytest.raises(ConfigError, match="already registered by tests.plugins.toy_engine.ToyEngine"):
        register_engine(Impostor)


def test_third_party_plug_ins_come_from_entry_points(monkeypatch):
    ep = importlib.metadata.EntryPoint("toy", "tests.plugins.toy_engine:ToyEngine", "hil.engines")
    seen = []

    def entry_points(*, group):
        seen.append(group)
        return [ep] if group == "hil.engines" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    reg = Registry("engine", "hil.engines", ("hil.engines.aot:AotEngine",), key=lambda e: e.name)
    assert reg.names() == ["aot", "toy"] and seen == ["hil.engines"]
    assert reg.get("toy").firmware_dir.name == "toy"

    broken = importlib.metadata.EntryPoint("bad", "tests.plugins.no_such_module:Engine", "hil.engines")
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda *, group: [broken])
    with pytest.raises(ConfigError, match="engine plug-in 'bad'.*failed to load"):
        Registry("engine", "hil.engines", (), key=lambda e: e.name).names()
