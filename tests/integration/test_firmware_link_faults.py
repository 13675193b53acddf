"""DeviceClient over a fault-injecting transport to the real firmware app
(host port, test-double engine): garbage, dropped bytes, flipped bits,
duplicated and delayed frames in both directions, and valid results swapped
between windows, never attribute a result to the wrong window."""

from __future__ import annotations

import os
import signal
from collections import Counter

import numpy as np
import pytest

from hil.device.link import open_link
from hil.device.protocol import DeviceClient, LinkTimeout
from tests.fixtures.firmware import CORRUPTING, FAULT_KINDS, FaultyPort, fake_engine_outputs, host_port_process

N = 80


def _windows(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, size=(N, 800), dtype=np.int8)


def _stream_through(binary, x, port_kw, *, log=None, inflight=3, retries=12):
    """Streams ``x`` through a FaultyPort to the host port; returns (results by index, port, client)."""
    with host_port_process(binary) as (_proc, url):
        link = open_link(url, 115200, log)
        port = FaultyPort(link, **port_kw)
        try:
            client = DeviceClient(port, timeout_s=0.5, retries=retries, inflight=inflight, board="host")
            client.hello()
            results = list(client.infer_stream(enumerate(x)))
        finally:
            link.close()
    by_index = {r.index: r.outputs for r in results}
    assert len(by_index) == len(results) == len(x), "every window scored exactly once"
    return by_index, port, client


def _assert_each_result_is_its_own_windows(results, x):
    expected = [fake_engine_outputs(w) for w in x]
    assert len({e.tobytes() for e in expected}) == len(x), "distinct windows with distinct expected outputs"
    for i in range(len(x)):
        np.testing.assert_array_equal(results[i], expected[i], err_msg=f"window {i}")


def _assert_corrupted_frames_were_retried(port):
    """Each window whose request or result was corrupted on the wire went out again."""
    sends = Counter(f.window_crc() for f in port.frames["tx"] for _ in range(2 if f.fault == "duplicate" else 1))
    hit = [f.window_crc() for d in ("tx", "rx") for f in port.frames[d] if f.fault in CORRUPTING]
    hit = [c for c in hit if c is not None]
    assert hit, "some INFER or RESULT frame was corrupted"
    assert all(sends[c] >= 2 for c in hit), "a window whose frame was corrupted was never re-sent"


EVERY = 5  # one valid frame in five, per direction: ~16 faults each way over 80 windows


@pytest.mark.parametrize("kinds", [(k,) for k in FAULT_KINDS] + [FAULT_KINDS],
                         ids=[*FAULT_KINDS, "all"])
@pytest.mark.slow
def test_faults_in_both_directions_never_misattribute(fake_engine_host_port, tmp_path, kinds):
    x = _windows(7)
    results, port, client = _stream_through(
        fake_engine_host_port, x, dict(seed=11, every=EVERY, kinds=kinds), log=tmp_path / "serial.log")
    _assert_each_result_is_its_own_windows(results, x)
    for d in ("tx", "rx"):  # the same schedule each way, so comparable counts
        n = len(port.frames[d]) // EVERY  # full blocks of EVERY frames, one fault each
        assert n >= N // EVERY, f"{d}: only {len(port.frames[d])} valid frames went through"
        per_kind = port.injected[d]
        assert n <= sum(per_kind.values()) <= n + 1, f"{d}: {per_kind}"
        assert all(per_kind[k] >= n // len(kinds) for k in kinds), f"{d}: {per_kind}"
    if kinds == ("duplicate",):  # nothing lost: every second copy is recognised as stale, nothing re-sent
        dups = port.injected["tx"]["duplicate"] + port.injected["rx"]["duplicate"]
        assert client.stats.stale >= dups and client.stats.resent == 0, client.stats
    else:
        assert client.stats.resent > 0, "lost, reordered or corrupted frames were re-sent"
    if set(kinds) & set(CORRUPTING):
        _assert_corrupted_frames_were_retried(port)


@pytest.mark.slow
def test_results_swapped_between_windows_in_flight_are_refused_by_the_input_crc(fake_engine_host_port):
    """Valid RESULT frames (right seq, right frame CRC) carrying another in-flight window's
    result: only the input CRC inside the result can tell, and the client re-sends both."""
    x = _windows(3)
    results, port, client = _stream_through(fake_engine_host_port, x, dict(seed=5, swap=6), inflight=4)
    assert port.injected["rx"]["swap"] == 6
    _assert_each_result_is_its_own_windows(results, x)
    # Each swapped pair is refused twice, unless one of its frames answered an attempt already
    # given up (a stale reply) or both came from the same window (a timeout's resend).
    assert client.stats.wrong_input >= 2 * 6 - 2, client.stats.problems[:20]


@pytest.mark.timeout(60)  # a hang fails here, at a generous deadline (no speed claim)
def test_device_that_stops_answering_times_out_naming_window_and_board(fake_engine_host_port):
    x = _windows(1)
    with host_port_process(fake_engine_host_port) as (proc, url):
        link = open_link(url, 115200)
        client = DeviceClient(link, timeout_s=0.3, retries=1, inflight=2, board="bench-7")
        client.hello()
        stream = client.infer_stream(enumerate(x))
        first = next(stream)
        assert first.index == 0
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(LinkTimeout, match=r"board bench-7: window \d+: no valid result after 2 attempts"):
                list(stream)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
            link.close()


def test_hello_times_out_when_nothing_answers(fake_engine_host_port):
    with host_port_process(fake_engine_host_port) as (proc, url):
        link = open_link(url, 115200)
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            client = DeviceClient(link, timeout_s=0.2, retries=2, inflight=1, board="bench-7")
            with pytest.raises(LinkTimeout, match="board bench-7: HELLO failed after 3 attempts"):
                client.hello()
        finally:
            os.kill(proc.pid, signal.SIGCONT)
            link.close()
