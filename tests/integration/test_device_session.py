"""DeviceSession on the real aot image in QEMU: the full image check, and everything closed on exit and on error."""

from contextlib import contextmanager
from dataclasses import replace

import pytest

from hil.device.session import DeviceSession, ExpectedImage
from hil.errors import InfraError

pytestmark = pytest.mark.qemu


@pytest.fixture
def expected(qemu_firmware):
    return ExpectedImage.from_tflite(qemu_firmware.export / "model.tflite")


def test_session_boots_checks_and_closes(qemu_firmware, expected, tmp_path):
    with DeviceSession(qemu_firmware.board, qemu_firmware.folder, expect=expected,
                       serial_log=tmp_path / "serial.log", flash_log=tmp_path / "flash.log") as s:
        assert s.info.model_sha256 == expected.model_sha256 and s.problems == []
        assert s.client.echo(b"hello") == b"hello"
        handle, port = s.handle, s._port
        assert handle.alive() and s.flash_result.flasher == "qemu"
        again = s.reconnect()  # a fresh link, checked again
        assert again is s.client and port.is_open is False
        port = s._port
    assert not handle.alive() and not port.is_open and s.client is None
    assert (tmp_path / "serial.log").stat().st_size > 0 and "qemu" in (tmp_path / "flash.log").read_text()


def test_stale_image_is_refused_and_qemu_stopped(qemu_firmware, expected, monkeypatch):
    import hil.device.session as session_mod

    handles = []
    real = session_mod.running_device

    @contextmanager
    def spy(*a, **kw):
        with real(*a, **kw) as h:
            handles.append(h)
            yield h

    monkeypatch.setattr(session_mod, "running_device", spy)
    with pytest.raises(InfraError) as e:
        with DeviceSession(qemu_firmware.board, qemu_firmware.folder, expect=replace(expected, model_sha256="0" * 64)):
            pytest.fail("a stale image must not get a session")
    assert e.value.exit_code == 2 and "stale image" in str(e.value)
    assert len(handles) == 1 and not handles[0].alive()  # QEMU stopped although __enter__ failed


def test_not_strict_records_every_problem(qemu_firmware, expected):
    other = replace(expected, input_zero_point=expected.input_zero_point + 1, input_shape=(1, 400))
    with DeviceSession(qemu_firmware.board, qemu_firmware.folder, expect=other, strict=False) as s:
        assert len(s.problems) == 2
        assert any("input quantisation" in p for p in s.problems) and any("input shape" in p for p in s.problems)
