"""hil.device.link: any pyserial URL, raw log of both directions, clear errors."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hil.config import UsbMatch
from hil.device import link as link_mod
from hil.device.link import LinkError, find_usb_port, open_link


def test_loop_url_logs_every_byte_both_ways(tmp_path):
    log = tmp_path / "serial.log"
    port = open_link("loop://", 115200, log, timeout=0.1)
    port.write(b"\x00\x01hello")
    assert port.read(7) == b"\x00\x01hello"
    port.close()
    lines = [ln.split() for ln in log.read_text().splitlines() if not ln.startswith("#")]
    assert [(d, h) for _, d, h in lines] == [("TX", "000168656c6c6f"), ("RX", "000168656c6c6f")]
    assert all(float(t) >= 0 for t, _, _ in lines)


def test_without_a_log_nothing_is_written(tmp_path):
    port = open_link("loop://", 115200)
    port.write(b"x")
    assert port.read(1) == b"x"
    port.close()
    assert list(tmp_path.iterdir()) == []


def test_missing_device_names_the_port_and_a_fix(tmp_path):
    with pytest.raises(LinkError, match="/dev/ttyNOPE") as exc:
        open_link("/dev/ttyNOPE", 115200)
    assert exc.value.exit_code == 2 and exc.value.hint


def test_refused_socket_hints_at_qemu():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        with pytest.raises(LinkError, match="cannot open serial link") as exc:
            open_link(f"socket://127.0.0.1:{port}", 115200)
    assert "QEMU" in (exc.value.hint or "")


def test_socket_link_counts_every_waiting_byte(tmp_path):
    """A frame that has arrived is read in one call (pyserial's own socket:// says 1)."""
    import socket
    import time

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        port = open_link(f"socket://127.0.0.1:{srv.getsockname()[1]}", 115200, tmp_path / "raw.log")
        conn, _ = srv.accept()
        try:
            assert port.in_waiting == 0
            conn.sendall(bytes(range(1, 201)) + b"\x00")
            deadline = time.monotonic() + 5
            while port.in_waiting < 201 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert port.in_waiting == 201
            assert port.read(port.in_waiting) == bytes(range(1, 201)) + b"\x00"
            conn.close()
            time.sleep(0.05)
            assert port.in_waiting == 1  # closed: readable, so read() sees it
        finally:
            port.close()


def test_bad_url_is_a_link_error():
    with pytest.raises(LinkError, match="nosuchscheme"):
        open_link("nosuchscheme://x", 115200)


def _ports(*specs):
    return [SimpleNamespace(device=d, vid=v, pid=p, serial_number=s) for d, v, p, s in specs]


def test_find_usb_port(monkeypatch):
    monkeypatch.setattr(link_mod.serial.tools.list_ports, "comports",
                        lambda: _ports(("/dev/ttyACM0", 0x1366, 0x1051, "A1"), ("/dev/ttyUSB0", 0x0403, 0x6001, "F")))
    assert find_usb_port(UsbMatch(vid=0x1366), "apollo4") == "/dev/ttyACM0"
    with pytest.raises(LinkError, match="no serial port with USB 1366:9999"):
        find_usb_port(UsbMatch(vid=0x1366, pid=0x9999), "apollo4")


def test_find_usb_port_several_match(monkeypatch):
    monkeypatch.setattr(link_mod.serial.tools.list_ports, "comports",
                        lambda: _ports(("/dev/ttyACM0", 0x1366, 1, "A1"), ("/dev/ttyACM1", 0x1366, 1, "B2")))
    with pytest.raises(LinkError, match="several serial ports") as exc:
        find_usb_port(UsbMatch(vid=0x1366), "apollo4")
    assert "serial_number" in exc.value.hint
