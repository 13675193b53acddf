"""results.jsonl written as results arrive, --resume logic, recovery after a device reset.

The device client here is a stand-in object with the DeviceClient contract's
``infer_stream`` (the real client over QEMU is exercised in
tests/integration/test_run_*.py); it lets these tests kill the "device" at
an exact window, which a real link cannot do deterministically.
"""

import json
from dataclasses import dataclass
from itertools import count

import numpy as np
import pytest

from hil.device.framing import crc32
from hil.device.protocol import InferResult
from hil.errors import ConfigError, InfraError
from hil.scoring.runner import ResultsStore, results_arrays, stream_windows


@dataclass
class WindowRef:  # same fields as hil.data.WindowRef
    record: str
    lead: int
    start: int


_seqs = count(1)


def outputs_of(x):
    """What the fake devices compute on a window (the "reference" of these tests)."""
    return (np.asarray(x)[:4] // 2).astype(np.int8)


def Res(i, x, cycles=1, seq=None, data=None):
    """An honest result for window ``i`` with data ``x`` (``data``: the bytes it was computed on, if others)."""
    on = x if data is None else data
    return InferResult(i, outputs_of(on), cycles, next(_seqs) if seq is None else seq, crc32(on.tobytes()))


class FakeDevice:
    """Answers window i with outputs derived from the window; dies after ``die_after`` results in a session."""

    def __init__(self, die_after=None):
        self.die_after = list(die_after or [])
        self.sent: list[int] = []
        self.sessions = 0

    def connect(self):
        self.sessions += 1
        limit = self.die_after.pop(0) if self.die_after else None
        dev = self

        class Client:
            def infer_stream(self, windows):
                for k, (i, x) in enumerate(windows):
                    if limit is not None and k == limit:
                        raise InfraError(f"link timeout on window {i} (board fake)")
                    dev.sent.append(i)
                    yield Res(i, x, 1000 + i)

        return Client()


def _data(n=20):
    x = (np.arange(n * 8).reshape(n, 8) % 100).astype(np.int8)
    y = np.arange(n) % 4
    refs = [WindowRef(f"JS{i:05d}", i % 12, 100 * i) for i in range(n)]
    return x, y, refs


def test_every_window_is_saved_in_order_of_arrival(tmp_path):
    x, y, refs = _data()
    dev = FakeDevice()
    with ResultsStore(tmp_path / "results.jsonl") as store:
        stats = stream_windows(dev.connect, x, y, refs, store, done=set(), board="fake", show_progress=False)
    assert stats.scored == 20 and stats.recoveries == 0
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 20
    rec = json.loads(lines[7])
    assert rec == {"index": 7, "ref": {"record": "JS00007", "lead": 7, "start": 700}, "true": 3,
                   "outputs": [int(v) for v in x[7, :4] // 2], "ticks": 1007}
    out, ticks = results_arrays(ResultsStore(tmp_path / "results.jsonl").load(), 20)
    assert out.dtype == np.int8 and out.shape == (20, 4) and ticks[19] == 1019


def test_device_reset_recovers_and_continues_without_rescoring(tmp_path):
    x, y, refs = _data()
    dev = FakeDevice(die_after=[6, 5])
    restarts = []
    with ResultsStore(tmp_path / "results.jsonl") as store:
        stats = stream_windows(dev.connect, x, y, refs, store, done=set(), board="fake",
                               recover=lambda e: restarts.append(str(e)), show_progress=False)
    assert stats.recoveries == 2 and len(restarts) == 2 and dev.sessions == 3
    assert sorted(dev.sent) == list(range(20))  # nothing scored twice, nothing lost
    _assert_stored_are_references(tmp_path / "results.jsonl", x)


def _assert_stored_are_references(path, x):
    lines = path.read_text().splitlines()
    saved = ResultsStore(path).load()
    assert len(lines) == len(saved) == len(x), "each window stored exactly once"
    for i, rec in saved.items():
        assert rec["outputs"] == [int(v) for v in outputs_of(x[i])], f"window {i} holds another window's outputs"


def test_too_many_resets_exit_2_with_results_on_disk_then_resume_finishes(tmp_path):
    x, y, refs = _data()
    dev = FakeDevice(die_after=[4, 3, 2])
    path = tmp_path / "results.jsonl"
    with ResultsStore(path) as store, pytest.raises(InfraError) as e:
        stream_windows(dev.connect, x, y, refs, store, done=set(), board="fake", recover=lambda e: None,
                       max_recoveries=2, show_progress=False)
    assert e.value.exit_code == 2
    assert "9 of 20 windows are scored" in str(e.value) and "--resume" in e.value.hint
    saved = ResultsStore(path).load()
    assert sorted(saved) == sorted(dev.sent) and len(saved) == 9

    # --resume: only the missing windows are sent
    dev2 = FakeDevice()
    with ResultsStore(path) as store:
        stats = stream_windows(dev2.connect, x, y, refs, store, done=set(saved), board="fake", show_progress=False)
    assert stats.resumed == 9 and stats.scored == 11
    assert set(dev2.sent).isdisjoint(saved)
    _assert_stored_are_references(path, x)


def _swap_pairs(windows):
    """Both windows of a pair in flight, each answered with the other's index: only the input CRC tells."""
    it = iter(windows)
    for a, xa in it:
        b, xb = next(it)
        yield Res(b, xb, data=xa)
        yield Res(a, xa, data=xb)


def _shift(windows):
    """Reads one window ahead and answers window i under index i+1 (in flight, so only the CRC tells)."""
    it = iter(windows)
    prev = next(it)
    for nxt in it:
        yield Res(nxt[0], nxt[1], data=prev[1])
        prev = nxt


def _duplicate(windows):
    """Every result twice: the second copy's window is no longer in flight."""
    for i, x in windows:
        r = Res(i, x)
        yield r
        yield r


def _repeated_seq(windows):
    """A correct result for the second window under the sequence number of the first one's."""
    it = iter(windows)
    (a, xa), (b, xb) = next(it), next(it)
    first = Res(a, xa)
    yield first
    yield Res(b, xb, seq=first.seq)


def _past_the_end(windows):
    for i, x in windows:
        yield Res(i + 100, x)


LIES = {"swapped pairs": (_swap_pairs, "computed on other data"),
        "shifted indices": (_shift, "computed on other data"),
        "duplicates": (_duplicate, "not in flight"),
        "repeated sequence number": (_repeated_seq, "sequence number"),
        "index not in flight": (_past_the_end, "not in flight")}


class Liar:
    """Lies (``lie`` over the windows) in its first session, answers honestly in later ones."""

    def __init__(self, lie):
        self.lie, self.sessions = lie, 0

    def connect(self):
        self.sessions += 1
        lie = self.lie if self.sessions == 1 else (lambda ws: (Res(i, x) for i, x in ws))

        class Client:
            def infer_stream(self, windows):
                yield from lie(windows)

        return Client()


@pytest.mark.parametrize("lie", list(LIES), ids=list(LIES))
def test_a_result_not_matching_a_window_in_flight_is_never_stored(tmp_path, lie):
    x, y, refs = _data(10)
    fn, reason = LIES[lie]
    path = tmp_path / "r.jsonl"
    with ResultsStore(path) as store, pytest.raises(InfraError) as e:
        stream_windows(Liar(fn).connect, x, y, refs, store, done=set(), board="fake", show_progress=False)
    assert reason in str(e.value) and "not stored" in str(e.value)
    saved = ResultsStore(path).load()
    assert len(saved) <= 1  # at most the honest first result before the lie
    for i, rec in saved.items():
        assert rec["outputs"] == [int(v) for v in outputs_of(x[i])]

    # with a recovery, the honest second session scores what the lie left, each window with its own outputs
    path.unlink(missing_ok=True)
    with ResultsStore(path) as store:
        stats = stream_windows(Liar(fn).connect, x, y, refs, store, done=set(), board="fake",
                               recover=lambda exc: None, show_progress=False)
    assert stats.recoveries == 1 and reason in stats.errors[0]
    _assert_stored_are_references(path, x)


def test_torn_last_line_is_dropped_on_load(tmp_path):
    path = tmp_path / "results.jsonl"
    store = ResultsStore(path)
    for i in range(3):
        store.append({"index": i, "ref": {}, "true": 0, "outputs": [1, 2], "ticks": 5})
    store.close()
    with open(path, "a") as f:
        f.write('{"index": 3, "ref": {}, "tr')  # the process died mid-line
    assert sorted(ResultsStore(path).load()) == [0, 1, 2]
    assert path.read_text().endswith("}\n")  # the torn tail is gone, appends start on a clean line
    s2 = ResultsStore(path)
    s2.append({"index": 3, "ref": {}, "true": 0, "outputs": [1, 2], "ticks": 5})
    s2.close()
    assert sorted(ResultsStore(path).load()) == [0, 1, 2, 3]


def test_a_file_that_is_not_ours_is_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"index": 0}\nhello world\n')
    with pytest.raises(ConfigError) as e:
        ResultsStore(path).load()
    assert "line 2" in str(e.value)


def test_missing_results_are_reported():
    with pytest.raises(InfraError) as e:
        results_arrays({0: {"outputs": [1], "ticks": 1}}, 3)
    assert "2 windows" in str(e.value) and "first 1" in str(e.value)


def test_a_device_error_ends_the_stream_without_recovery(tmp_path):
    """The device's own ERROR reply is deterministic: no reconnect, no QEMU restart, results kept."""
    from hil.device.protocol import DeviceError

    x, y, refs = _data(10)
    sessions = []

    class Refuses:
        def infer_stream(self, windows):
            for k, (i, w) in enumerate(windows):
                if k == 3:
                    raise DeviceError(f"board fake: window {i} refused: BAD_ARG (size)", 3)
                yield Res(i, w)

    def connect():
        sessions.append(1)
        return Refuses()

    restarts = []
    path = tmp_path / "r.jsonl"
    with ResultsStore(path) as store, pytest.raises(DeviceError) as e:
        stream_windows(connect, x, y, refs, store, done=set(), board="fake",
                       recover=lambda exc: restarts.append(exc), max_recoveries=5, show_progress=False)
    assert restarts == [] and len(sessions) == 1  # neither recovered nor reconnected
    assert e.value.exit_code == 2 and e.value.code == 3
    assert "BAD_ARG" in str(e.value) and "3 of 10 windows are scored" in str(e.value)
    saved = ResultsStore(path).load()
    assert sorted(saved) == [0, 1, 2]
    assert all(saved[i]["outputs"] == [int(v) for v in x[i, :4] // 2] for i in saved)
