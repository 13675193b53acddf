"""The firmware app on the native host port (test-double engine): the
protocol vectors, bad input, and the DeviceClient end to end over a pty."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from hil.device.framing import Deframer, Frame, Junk, MsgType, encode
from hil.device.link import open_link
from hil.device.protocol import DeviceClient, DeviceError
from hil.errors import ConfigError
from tests.fixtures.firmware import VECTORS, fake_engine_outputs, host_port_process, read_until

EXCHANGES = json.loads(VECTORS.read_text())["exchanges"]
ECHO_AFTER = encode(Frame(MsgType.ECHO, 0x0BEE, b"still here"))
ECHO_REPLY = encode(Frame(MsgType.ECHO_REPLY, 0x0BEE, b"still here"))


def _talk(binary, stream: bytes) -> bytes:
    """Everything the host port answers to ``stream`` on stdin, after its banner."""
    out = subprocess.run([str(binary)], input=stream, capture_output=True, timeout=30).stdout
    banner_end = out.index(b"\r\n\x00") + 3
    assert out.startswith(b"\x00HIL-BOOT proto=1 ")
    return out[banner_end:]


@pytest.mark.parametrize("vec", EXCHANGES, ids=lambda v: v["name"])
def test_vector_exchange_then_next_frame_served(fake_engine_host_port, vec):
    reply = _talk(fake_engine_host_port, bytes.fromhex(vec["request_hex"]) + ECHO_AFTER)
    assert reply.hex() == vec["response_hex"] + ECHO_REPLY.hex()


def test_all_exchanges_in_one_stream(fake_engine_host_port):
    stream = b"".join(bytes.fromhex(v["request_hex"]) for v in EXCHANGES) + ECHO_AFTER
    expect = "".join(v["response_hex"] for v in EXCHANGES) + ECHO_REPLY.hex()
    assert _talk(fake_engine_host_port, stream).hex() == expect


def test_vectors_under_asan(fake_engine_host_port_asan):
    """The same bad input with AddressSanitizer + UBSan: no report, same replies."""
    stream = b"".join(bytes.fromhex(v["request_hex"]) for v in EXCHANGES) + ECHO_AFTER
    proc = subprocess.run([str(fake_engine_host_port_asan)], input=stream, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"ERROR: AddressSanitizer" not in proc.stderr and b"runtime error" not in proc.stderr
    banner_end = proc.stdout.index(b"\r\n\x00") + 3
    expect = "".join(v["response_hex"] for v in EXCHANGES) + ECHO_REPLY.hex()
    assert proc.stdout[banner_end:].hex() == expect  # every reply, not only the last


def test_half_frame_then_silence_then_valid_frame(fake_engine_host_port):
    with host_port_process(fake_engine_host_port) as (_proc, url):
        link = open_link(url, 115200)
        try:
            link.write(encode(Frame(MsgType.ECHO, 1, b"abcdefgh"))[:6])  # half a frame, then nothing
            link.timeout = 0.3
            assert link.read(64) == b""  # the device waits for the delimiter, says nothing
            # The next delimiter ends the half frame (an error), then the valid frame is served.
            link.write(b"\x00" + ECHO_AFTER)
            link.timeout = 0.2
            raw = read_until(link, lambda b: len([e for e in Deframer().feed(b) if isinstance(e, Frame)]) >= 2,
                             "the ERROR for the half frame and the ECHO_REPLY", 10)
            frames = [e for e in Deframer().feed(raw) if isinstance(e, Frame)]
            assert frames[0].type == MsgType.ERROR and frames[0].seq == 0xFFFF
            assert frames[1] == Frame(MsgType.ECHO_REPLY, 0x0BEE, b"still here")
        finally:
            link.close()


@pytest.fixture()
def client(fake_engine_host_port, tmp_path):
    with host_port_process(fake_engine_host_port) as (_proc, url):
        link = open_link(url, 115200, tmp_path / "serial.log")
        try:
            yield DeviceClient(link, timeout_s=2, retries=2, inflight=3, board="host")
        finally:
            link.close()


def test_client_hello_echo_bench_profile(client, tmp_path):
    info = client.hello()
    assert (info.board, info.engine, info.protocol_version) == ("host", "test", 1)
    assert info.input.bytes == 800 and info.output.shape == (1, 4)
    assert client.echo(b"\x00\x01\x00" * 100) == b"\x00\x01\x00" * 100
    r = client.bench_result(5)
    assert r.n == 5 and r.min_ticks <= r.max_ticks and r.total_ticks >= 5 * r.min_ticks
    ops = client.profile()
    assert [(o.op_index, o.op_name) for o in ops] == [(0, "FULLY_CONNECTED"), (1, "RESHAPE")]
    log = (tmp_path / "serial.log").read_text()
    assert " TX " in log and " RX " in log


def test_client_stream_matches_the_reference(client):
    rng = np.random.default_rng(1)
    x = rng.integers(-128, 128, size=(64, 800), dtype=np.int8)
    x[0] = -128
    x[1] = 127
    results = {r.index: r for r in client.infer_stream((i + 1000, w) for i, w in enumerate(x))}
    assert sorted(results) == list(range(1000, 1064))
    for i, w in enumerate(x):
        np.testing.assert_array_equal(results[i + 1000].outputs, fake_engine_outputs(w))
    # BENCH runs n invokes on the device's copy of the last window streamed; that
    # copy survives them (the engine scribbles over its input): a fresh INFER of
    # the window afterwards still gives its reference output.
    b = client.bench_result(3)
    assert b.n == 3 and 0 < b.min_ticks <= b.max_ticks and b.total_ticks >= 3 * b.min_ticks
    (again,) = client.infer_stream([(5000, x[-1])])
    np.testing.assert_array_equal(again.outputs, fake_engine_outputs(x[-1]))


def test_client_refuses_a_window_of_the_wrong_size(client):
    with pytest.raises(ConfigError, match="window 7"):
        list(client.infer_stream([(7, np.zeros(799, np.int8))]))
    with pytest.raises(ConfigError, match="int8"):
        list(client.infer_stream([(8, np.zeros(800, np.float32))]))


def test_client_device_error_is_not_retried(client):
    with pytest.raises(DeviceError, match="BAD_ARG"):
        client._request(MsgType.BENCH, (0).to_bytes(4, "little"), MsgType.BENCH_RESULT)
    assert client.stats.resent == 0


def test_crash_on_host_port_reports_a_fault(fake_engine_host_port):
    out = subprocess.run(
        [str(fake_engine_host_port)], input=encode(Frame(MsgType.CRASH, 5)), capture_output=True, timeout=10
    )
    assert out.returncode == 3
    events = Deframer().feed(out.stdout)
    assert isinstance(events[0], Junk) and events[0].banner
    assert events[1].type == MsgType.ERROR and events[1].payload[:2] == b"\x0b\x00"
