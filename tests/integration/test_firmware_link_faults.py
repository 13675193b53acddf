"""DeviceClient over a fault-injecting transport to the real firmware app
(host port, test-double engine): garbage, dropped bytes and flipped bits in
both directions never attribute a result to the wrong window."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from hil.device.link import open_link
from hil.device.protocol import DeviceClient, LinkTimeout
from tests.fixtures.firmware import FaultyPort
from tests.fixtures.firmware import fake_engine_outputs, host_port_process

N = 80


def _windows(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, size=(N, 800), dtype=np.int8)


@pytest.mark.parametrize(
    "faults",
    [
        {"garbage": 0.0005},
        {"drop": 0.0005},
        {"flip": 0.0005},
        {"garbage": 0.0003, "drop": 0.0003, "flip": 0.0003},
    ],
    ids=["garbage", "drop", "flip", "all"],
)
@pytest.mark.slow
def test_faults_never_misattribute(fake_engine_host_port, tmp_path, faults):
    x = _windows(7)
    with host_port_process(fake_engine_host_port) as (_proc, url):
        link = open_link(url, 115200, tmp_path / "serial.log")
        port = FaultyPort(link, seed=11, **faults)
        client = DeviceClient(port, timeout_s=0.5, retries=12, inflight=3, board="host")
        client.hello()
        results = list(client.infer_stream(enumerate(x)))
        link.close()
    assert sorted(r.index for r in results) == list(range(N)), "every window scored exactly once"
    for r in results:
        np.testing.assert_array_equal(r.outputs, fake_engine_outputs(x[r.index]), err_msg=f"window {r.index}")
    assert sum(port.injected.values()) > 0, "the transport did inject faults"
    assert client.stats.resent > 0, "corrupted frames were retried"


@pytest.mark.slow
def test_results_are_computed_on_the_window_they_are_attributed_to(fake_engine_host_port):
    """Identical windows under different indices and distinct ones: outputs follow the data."""
    x = _windows(3)
    x[10] = x[20]
    with host_port_process(fake_engine_host_port) as (_proc, url):
        link = open_link(url, 115200)
        port = FaultyPort(link, seed=5, flip=0.001)
        client = DeviceClient(port, timeout_s=0.5, retries=20, inflight=4, board="host")
        results = {r.index: r.outputs for r in client.infer_stream(enumerate(x))}
        link.close()
    for i in range(N):
        np.testing.assert_array_equal(results[i], fake_engine_outputs(x[i]))


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
        t0 = time.monotonic()
        try:
            with pytest.raises(LinkTimeout, match=r"board bench-7: window \d+: no valid result after 2 attempts"):
                list(stream)
        finally:
            os.kill(proc.pid, signal.SIGCONT)
            link.close()
        assert time.monotonic() - t0 < 5, "no hang"


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
