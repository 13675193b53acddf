"""Sharding windows over several devices: each window scored exactly once, failures recovered per device.

The devices are in-process stand-ins for DeviceClient (the QEMU tests in
tests/integration/test_run_devices.py use real ones); the queue, the threads
and the one results.jsonl are the real code.
"""

import itertools
import json
import threading

import numpy as np
import pytest

from hil.device.framing import crc32
from hil.errors import InfraError
from hil.scoring.runner import ResultsStore
from hil.scoring.shard import Device, stream_sharded

N = 60


_seqs = itertools.count()


class _Result:
    """What DeviceClient.infer_stream yields: the window's index, outputs, ticks, reply seq and input CRC."""

    def __init__(self, i, x):
        self.index, self.outputs, self.cycles = i, np.array([x[0], -x[0]], dtype=np.int8), 100 + i
        self.seq, self.input_crc = next(_seqs), crc32(np.ascontiguousarray(x).tobytes())


class FakeClient:
    """Answers each window with outputs derived from it; optionally dies after ``die_after`` results.

    ``died`` is set when it dies; ``wait_for`` holds every answer until that event is set, so a
    test decides which device fails first instead of leaving it to thread timing.
    """

    def __init__(self, die_after=None, died=None, wait_for=None):
        self.die_after = die_after
        self.died, self.wait_for = died, wait_for
        self.answered = 0

    def infer_stream(self, windows):
        flight = []
        for i, x in windows:
            flight.append((i, x))
            if len(flight) == 2:  # two in flight, like the real client
                i0, x0 = flight.pop(0)
                if self.die_after is not None and self.answered >= self.die_after:
                    if self.died is not None:
                        self.died.set()
                    raise InfraError("link lost")
                if self.wait_for is not None:
                    assert self.wait_for.wait(30), "the other device never failed"
                self.answered += 1
                yield _Result(i0, x0)
        for i, x in flight:
            yield _Result(i, x)


def _data():
    x = (np.arange(N, dtype=np.int64) % 100).astype(np.int8).reshape(N, 1)
    return x, np.zeros(N, dtype=np.int64), [{"record": "r", "lead": 0, "start": i} for i in range(N)]


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_window_once_over_two_devices(tmp_path):
    x, y, refs = _data()
    devs = [Device(k, f"qemu#{k}", connect=FakeClient) for k in range(2)]
    with ResultsStore(tmp_path / "results.jsonl") as store:
        stats, per = stream_sharded(devs, x, y, refs, store, done={0, 1, 2}, show_progress=False)
    rows = _rows(tmp_path / "results.jsonl")
    assert sorted(r["index"] for r in rows) == list(range(3, N))
    assert all(r["outputs"] == [int(x[r["index"], 0]), -int(x[r["index"], 0])] for r in rows)
    assert stats.scored == N - 3 and stats.resumed == 3 and sum(s.scored for s in per) == N - 3
    assert {r["device"] for r in rows} == {0, 1}


def test_a_device_that_fails_recovers_and_loses_no_window(tmp_path):
    x, y, refs = _data()
    died = threading.Event()
    clients = iter([FakeClient(die_after=5, died=died), FakeClient()])  # device 1: dies once, then a fresh client
    recovered = []
    devs = [Device(0, "qemu#0", connect=lambda: FakeClient(wait_for=died)),
            Device(1, "qemu#1", connect=lambda: next(clients), recover=recovered.append)]
    with ResultsStore(tmp_path / "results.jsonl") as store:
        stats, per = stream_sharded(devs, x, y, refs, store, done=set(), show_progress=False)
    assert sorted(r["index"] for r in _rows(tmp_path / "results.jsonl")) == list(range(N))
    assert len(recovered) == 1 and per[1].recoveries == 1 and "link lost" in per[1].errors[0]


def test_a_device_beyond_recovery_ends_the_run_with_everything_kept(tmp_path):
    x, y, refs = _data()
    died = threading.Event()
    devs = [Device(0, "qemu#0", connect=lambda: FakeClient(wait_for=died)),
            Device(1, "qemu#1", connect=lambda: FakeClient(die_after=3, died=died))]
    with ResultsStore(tmp_path / "results.jsonl") as store:
        with pytest.raises(InfraError) as e:
            stream_sharded(devs, x, y, refs, store, done=set(), max_recoveries=0, show_progress=False)
    rows = _rows(tmp_path / "results.jsonl")
    indices = [r["index"] for r in rows]
    assert len(indices) == len(set(indices)) >= 3  # nothing twice, nothing measured lost
    assert e.value.exit_code == 2 and "--resume" in e.value.hint
    assert "device qemu#1: link lost" in str(e.value)  # which device failed
    assert f"{len(rows)} of {N} windows are scored and saved" in str(e.value)


def test_a_result_for_another_window_is_never_stored(tmp_path):
    """The sharded path checks each result against what it handed out, as the one-device runner does."""
    x, y, refs = _data()

    class Shifted(FakeClient):
        def infer_stream(self, windows):
            for r in super().infer_stream(windows):
                r.index += 1  # answers window i under index i + 1
                yield r

    devs = [Device(0, "qemu#0", connect=Shifted)]
    with ResultsStore(tmp_path / "results.jsonl") as store:
        with pytest.raises(InfraError, match="not stored"):
            stream_sharded(devs, x, y, refs, store, done=set(), max_recoveries=0, show_progress=False)
    path = tmp_path / "results.jsonl"
    assert not path.exists() or _rows(path) == []  # the very first result was misfiled: nothing is stored
