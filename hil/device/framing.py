"""Frame layer of the link protocol (docs/protocol.md): COBS, CRC-32, header.

A frame on the wire is ``COBS(header + payload + crc32) 0x00``. This module
only turns messages into bytes and bytes into messages; it knows nothing of
what the messages mean (see :mod:`hil.device.protocol`).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from cobs import cobs

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBHH")  # version, type, seq, length
HEADER_BYTES = HEADER.size
CRC_BYTES = 4
MAX_PAYLOAD = 4096
MAX_RAW = HEADER_BYTES + MAX_PAYLOAD + CRC_BYTES
MAX_ENCODED = MAX_RAW + (MAX_RAW + 253) // 254
SEQ_UNKNOWN = 0xFFFF
DELIMITER = b"\x00"
BANNER_PREFIX = b"HIL-BOOT "


class MsgType(IntEnum):
    HELLO = 0x01
    INFER = 0x02
    BENCH = 0x03
    ECHO = 0x04
    PROFILE = 0x05
    SINK = 0x06
    DUMP = 0x07
    CRASH = 0x0E
    INFO = 0x81
    RESULT = 0x82
    BENCH_RESULT = 0x83
    ECHO_REPLY = 0x84
    PROFILE_RESULT = 0x85
    SINK_ACK = 0x86
    DUMP_RESULT = 0x87
    ERROR = 0xFF


class ErrorCode(IntEnum):
    BAD_CRC = 1
    BAD_FRAME = 2
    BAD_LENGTH = 3
    TOO_LONG = 4
    BAD_VERSION = 5
    UNKNOWN_TYPE = 6
    BAD_SIZE = 7
    BAD_ARG = 8
    ENGINE = 9
    FAULT = 11


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC, as zlib."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes = b""
    version: int = PROTOCOL_VERSION


class FrameError(ValueError):
    """Bytes between two delimiters that are not a valid frame."""


def encode_raw(frame: Frame) -> bytes:
    """Header + payload + CRC, before COBS."""
    if len(frame.payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(frame.payload)} bytes exceeds the maximum of {MAX_PAYLOAD}")
    body = HEADER.pack(frame.version, frame.type, frame.seq, len(frame.payload)) + frame.payload
    return body + struct.pack("<I", crc32(body))


def encode(frame: Frame) -> bytes:
    """The frame as it goes on the wire, delimiter included."""
    return cobs.encode(encode_raw(frame)) + DELIMITER


def decode_raw(raw: bytes) -> Frame:
    """Checks a raw (COBS-decoded) frame; raises FrameError naming what is wrong."""
    if len(raw) < HEADER_BYTES + CRC_BYTES:
        raise FrameError(f"frame of {len(raw)} bytes is shorter than header + crc")
    body, (crc,) = raw[:-CRC_BYTES], struct.unpack("<I", raw[-CRC_BYTES:])
    if crc32(body) != crc:
        raise FrameError("bad crc")
    version, type_, seq, length = HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise FrameError(f"protocol version {version}, expected {PROTOCOL_VERSION}")
    if length != len(body) - HEADER_BYTES:
        raise FrameError(f"length field {length} but {len(body) - HEADER_BYTES} payload bytes")
    return Frame(type_, seq, bytes(body[HEADER_BYTES:]), version)


def decode(encoded: bytes) -> Frame:
    """One frame from its COBS bytes (no delimiter)."""
    try:
        raw = cobs.decode(encoded)
    except cobs.DecodeError as exc:
        raise FrameError(f"bad COBS: {exc}") from None
    return decode_raw(raw)


@dataclass(frozen=True)
class Junk:
    """Bytes between delimiters that are not a frame (noise, a boot banner)."""

    data: bytes
    reason: str

    @property
    def banner(self) -> str | None:
        """The boot banner's text if this is one."""
        i = self.data.find(BANNER_PREFIX)
        if i < 0:
            return None
        return self.data[i:].decode("ascii", "replace").strip()


class Deframer:
    """Splits a byte stream at delimiters into frames and junk; resynchronises on 0x00."""

    def __init__(self, max_encoded: int = MAX_ENCODED) -> None:
        self._buf = bytearray()
        self._max = max_encoded
        self._overlong = False

    def feed(self, data: bytes) -> list[Frame | Junk]:
        out: list[Frame | Junk] = []
        for part_i, part in enumerate(bytes(data).split(DELIMITER)):
            if part_i > 0:
                out.extend(self._end())
            if self._overlong:
                continue
            self._buf += part
            if len(self._buf) > self._max:
                self._overlong = True
                self._buf.clear()
        return out

    def _end(self) -> list[Frame | Junk]:
        if self._overlong:
            self._overlong = False
            return [Junk(b"", "frame too long")]
        if not self._buf:
            return []
        chunk, self._buf = bytes(self._buf), bytearray()
        try:
            return [decode(chunk)]
        except FrameError as exc:
            return [Junk(chunk, str(exc))]
