"""Frame layer (hil.device.framing) against the byte-level vectors of docs/protocol-vectors.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.device import framing
from hil.device.framing import Deframer, Frame, FrameError, Junk, MsgType

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "protocol-vectors.json").read_text())


def test_crc32_check_value():
    check = VECTORS["crc32_check"]
    assert framing.crc32(check["input_ascii"].encode()) == int(check["crc32"], 16)


@pytest.mark.parametrize("vec", VECTORS["frames"], ids=lambda v: v["name"])
def test_encode_matches_vector(vec):
    frame = Frame(vec["type"], vec["seq"], bytes.fromhex(vec["payload_hex"]))
    assert framing.encode_raw(frame).hex() == vec["raw_hex"]
    wire = framing.encode(frame)
    assert wire.hex() == vec["wire_hex"]
    assert wire.count(0) == 1 and wire.endswith(b"\x00")


@pytest.mark.parametrize("vec", VECTORS["frames"], ids=lambda v: v["name"])
def test_decode_matches_vector(vec):
    out = Deframer().feed(bytes.fromhex(vec["wire_hex"]))
    assert out == [Frame(vec["type"], vec["seq"], bytes.fromhex(vec["payload_hex"]))]


def test_deframer_splits_a_stream_fed_byte_by_byte():
    wire = b"".join(bytes.fromhex(v["wire_hex"]) for v in VECTORS["frames"])
    d = Deframer()
    got = [ev for b in wire for ev in d.feed(bytes([b]))]
    assert [(f.type, f.seq) for f in got] == [(v["type"], v["seq"]) for v in VECTORS["frames"]]


def test_deframer_resyncs_after_garbage_and_recognises_the_banner():
    good = framing.encode(Frame(MsgType.ECHO, 3, b"ok"))
    stream = b"\x13\x37garbage" + b"\x00" + b"\x00HIL-BOOT proto=1 fw=0.1.0 board=x engine=y reset=fault\r\n\x00" + good
    out = Deframer().feed(stream)
    assert isinstance(out[0], Junk) and out[0].banner is None
    assert isinstance(out[1], Junk) and out[1].banner.startswith("HIL-BOOT proto=1")
    assert out[2] == Frame(MsgType.ECHO, 3, b"ok")


def test_deframer_drops_an_overlong_frame_then_serves_the_next():
    good = framing.encode(Frame(MsgType.ECHO, 4, b"x"))
    out = Deframer().feed(b"\x11" * (framing.MAX_ENCODED + 10) + b"\x00" + good)
    assert isinstance(out[0], Junk) and "too long" in out[0].reason
    assert out[1] == Frame(MsgType.ECHO, 4, b"x")


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x01\x01\x00", "shorter"),
        (framing.encode_raw(Frame(1, 1))[:-1] + b"\x00", "bad crc"),
        (framing.encode_raw(Frame(1, 1, version=2)), "version"),
    ],
)
def test_decode_raw_rejects(raw, message):
    with pytest.raises(FrameError, match=message):
        framing.decode_raw(raw)


def test_decode_raw_rejects_a_wrong_length_field():
    body = framing.HEADER.pack(1, 4, 9, 5) + b"abc"
    raw = body + framing.crc32(body).to_bytes(4, "little")
    with pytest.raises(FrameError, match="length field 5"):
        framing.decode_raw(raw)


def test_encode_refuses_an_oversized_payload():
    with pytest.raises(ValueError, match="exceeds"):
        framing.encode(Frame(MsgType.ECHO, 1, bytes(framing.MAX_PAYLOAD + 1)))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=1200))
def test_roundtrip(type_, seq, payload):
    assert Deframer().feed(framing.encode(Frame(type_, seq, payload))) == [Frame(type_, seq, payload)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_arbitrary_bytes_never_raise_and_a_valid_frame_survives_them(noise):
    good = Frame(MsgType.RESULT, 77, b"\x01\x02")
    out = Deframer().feed(noise + b"\x00" + framing.encode(good))
    assert out[-1] == good
    assert all(isinstance(ev, (Frame, Junk)) for ev in out)
