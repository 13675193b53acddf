"""Message payloads of hil.device.protocol: INFO parsing and error names."""

from __future__ import annotations

import struct

import pytest

from hil.device.framing import ErrorCode, Frame, MsgType
from hil.device.protocol import error_name, error_of, parse_info


def _tensor(dtype, dims, nbytes, scale, zp):
    d = list(dims) + [0] * (4 - len(dims))
    return struct.pack("<BBH4iIfi", dtype, len(dims), 0, *d, nbytes, scale, zp)


def _info_payload(engine=b"aot", link=0):
    head = struct.pack("<BBHIII", 1, 5, 4096, 25_000_000, 34_000, 8192) + bytes(range(32))
    tensors = _tensor(1, (1, 800), 800, 0.05, -3) + _tensor(1, (1, 4), 4, 1 / 256, -128)
    strs = b"".join(bytes([len(s)]) + s for s in (b"0.1.0", b"qemu-m4", engine))
    return head + tensors + struct.pack("<HBB", 42, link, 0) + strs


def test_parse_info_reads_every_field():
    info = parse_info(_info_payload())
    assert info.protocol_version == 1
    assert info.reset_reason == "fault"
    assert (info.max_payload, info.clock_hz, info.arena_bytes, info.rx_buffer_bytes) == (4096, 25_000_000, 34_000, 8192)
    assert info.model_sha256 == bytes(range(32)).hex()
    assert info.input.shape == (1, 800) and info.input.bytes == 800 and info.input.zero_point == -3
    assert info.input.scale == pytest.approx(0.05)
    assert info.output.shape == (1, 4) and info.output.zero_point == -128
    assert (info.firmware_version, info.board, info.engine, info.ops) == ("0.1.0", "qemu-m4", "aot", 42)


def test_parse_info_splits_the_kernel_set_off_the_engine_string():
    assert parse_info(_info_payload()).kernels is None
    info = parse_info(_info_payload(b"tflm/cmsis-nn"))
    assert (info.engine, info.kernels) == ("tflm", "cmsis-nn")


def test_parse_info_names_the_link_that_carried_it():
    assert parse_info(_info_payload()).link == "uart"
    assert parse_info(_info_payload(link=1)).link == "semihosting"
    assert parse_info(_info_payload(link=9)).link == "link9"


def test_parse_info_refuses_a_short_payload():
    with pytest.raises(ValueError):
        parse_info(_info_payload()[:100])


def test_error_payload():
    frame = Frame(MsgType.ERROR, 0xFFFF, struct.pack("<H", 1) + b"bad crc")
    assert error_of(frame) == (ErrorCode.BAD_CRC, "bad crc")
    assert error_name(7) == "BAD_SIZE" and error_name(999) == "error 999"


def test_client_names_a_protocol_version_mismatch():
    """A device of another protocol version answers in its version: a clear ConfigError, no retries."""
    import serial

    from hil.device.framing import encode
    from hil.device.protocol import DeviceClient
    from hil.errors import ConfigError

    port = serial.serial_for_url("loop://", timeout=0.05)
    # What a version-2 device would send back (queued on the loop before the request).
    port.write(encode(Frame(MsgType.ERROR, 1, struct.pack("<H", ErrorCode.BAD_VERSION) + b"bad version", version=2)))
    client = DeviceClient(port, timeout_s=0.5, retries=3, inflight=1, board="old-board")
    client._flushed = True  # keep the queued reply: the loop echoes our request too, which is ignored as stale
    with pytest.raises(ConfigError, match="board old-board: the firmware answers in another protocol version 2"):
        client.hello()
