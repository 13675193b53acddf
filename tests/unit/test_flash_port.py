"""A real board's serial port is checked before any long stage: missing or busy ports end the run with exit 2.

A pseudo-terminal stands in for the board's USB serial port (no board in CI).
"""

import os
import subprocess
import sys

import pytest
import serial
import yaml

from hil.config import load_boards
from hil.device.flash import check_port, resolve_port
from hil.errors import InfraError


@pytest.fixture
def pty_path():
    master, slave = os.openpty()
    path = os.ttyname(slave)
    yield path
    os.close(master)
    os.close(slave)


def _bench_board(url):
    b = load_boards("boards.yaml").boards["apollo4"]
    return b.model_copy(update={"name": "bench", "link": b.link.model_copy(update={"url": url, "usb": None})})


def test_free_port_passes(pty_path):
    assert check_port(_bench_board(pty_path)) == pty_path


def test_busy_port(pty_path):
    holder = serial.Serial(pty_path, exclusive=True)  # e.g. another hil run on the same board
    try:
        with pytest.raises(InfraError) as e:
            check_port(_bench_board(pty_path))
        assert e.value.exit_code == 2 and pty_path in str(e.value) and "another program" in e.value.hint
    finally:
        holder.close()


def test_missing_port():
    with pytest.raises(InfraError) as e:
        check_port(_bench_board("/dev/ttyHIL-not-there"))
    assert "bench" in str(e.value) and "plugged in" in e.value.hint


def test_emulated_board_has_no_port_yet():
    assert check_port(load_boards("boards.yaml").boards["qemu-m4"]) is None


def test_usb_identity_with_no_such_device():
    b = load_boards("boards.yaml").boards["apollo4"]
    b = b.model_copy(update={"link": b.link.model_copy(update={"usb": b.link.usb.model_copy(update={"vid": 0xFFFE})})})
    with pytest.raises(InfraError) as e:
        resolve_port(b)
    assert "fffe" in str(e.value).lower()


def test_hil_run_exits_2_on_a_missing_port_before_training(tmp_path):
    boards = yaml.safe_load(open("boards.yaml"))
    boards["boards"]["apollo4"]["link"] = {"url": "/dev/ttyHIL-not-there", "baud": 115200}
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(boards))
    p = subprocess.run([sys.executable, "-m", "hil.cli", "--boards", str(f), "run", "--board", "apollo4",
                        "--engine", "aot", "--work", str(tmp_path / "w"), "--out", str(tmp_path / "r")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "/dev/ttyHIL-not-there" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "w").exists()  # nothing was generated or trained
