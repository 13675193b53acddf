"""Which devices a run streams to: --devices on an emulated board, --board lists of one kind."""

import pytest

from hil.config import load_boards
from hil.device.devices import board_names, device_boards
from hil.errors import ConfigError

BOARDS = load_boards("boards.yaml").boards


def test_emulated_board_is_booted_n_times_default_the_cores(monkeypatch):
    assert device_boards([BOARDS["qemu-m4"]], 3) == [BOARDS["qemu-m4"]] * 3
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3, 4})
    assert len(device_boards([BOARDS["qemu-m4"]], None)) == 5


def test_physical_board_takes_no_devices_count():
    with pytest.raises(ConfigError, match="--board NAME-A,NAME-B"):
        device_boards([BOARDS["apollo4"]], 2)
    assert device_boards([BOARDS["apollo4"]], None) == [BOARDS["apollo4"]]


def test_a_list_must_be_boards_of_one_kind():
    a = BOARDS["apollo4"]
    b = a.model_copy(update={"name": "apollo4-b"})
    assert device_boards([a, b], None) == [a, b]
    with pytest.raises(ConfigError, match="x differs from apollo4 in port, clock_hz, engine"):
        device_boards([a, BOARDS["qemu-m4"].model_copy(update={"name": "x", "emulated": False, "engine": "aot"})],
                      None)
    with pytest.raises(ConfigError, match="drop --devices"):
        device_boards([a, b], 3)


def test_board_list_syntax():
    assert board_names(None) == [None] and board_names("a, b") == ["a", "b"]
    for bad in ("a,,b", "a,a"):
        with pytest.raises(ConfigError):
            board_names(bad)
