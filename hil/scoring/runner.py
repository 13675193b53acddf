"""Streaming the fixed windows to a device and keeping every result on disk as it arrives.

``results.jsonl`` holds one JSON object per scored window, appended and
flushed line by line (fsync'd every few lines and at the end), so a run that
dies keeps what it scored.  ``--resume`` reads it back, drops a torn last line,
and streams only the windows that are missing; nothing already scored is sent
again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from hil import ui
from hil.device.framing import crc32
from hil.errors import ConfigError, InfraError

RESULTS = "results.jsonl"


class _Result(Protocol):
    index: int
    outputs: np.ndarray
    cycles: int
    seq: int
    input_crc: int


class _Client(Protocol):
    def infer_stream(self, windows: Any) -> Iterator[_Result]: ...


class ResultsStore:
    """Append-only ``results.jsonl``: one line per window, never rewritten except to drop a torn tail.

    Thread-safe: the devices of a sharded run append to the one file, a whole
    line at a time.
    """

    def __init__(self, path: Path, *, fsync_every: int = 32) -> None:
        self.path = Path(path)
        self.fsync_every = fsync_every
        self._f = None
        self._unsynced = 0
        self._lock = threading.RLock()

    def load(self) -> dict[int, dict[str, Any]]:
        """Records by window index.  A last line cut short by a crash is removed from the file."""
        if not self.path.exists():
            return {}
        raw = self.path.read_bytes()
        records: dict[int, dict[str, Any]] = {}
        good_end = 0
        pos = 0
        for line in raw.splitlines(keepends=True):
            pos += len(line)
            if not line.endswith(b"\n"):
                break  # torn tail: the process died mid-write
            text = line.strip()
            if text:
                try:
                    rec = json.loads(text)
                    records[int(rec["index"])] = rec
                except (ValueError, KeyError, TypeError):
                    lineno = raw[:pos].count(b"\n")
                    raise ConfigError(
                        f"{self.path}: line {lineno} is not a result record; "
                        "this is not a results file hil wrote, start a new run without --resume"
                    ) from None
            good_end = pos
        if good_end < len(raw):
            with open(self.path, "r+b") as f:
                f.truncate(good_end)
        return records

    def append(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._append(record)

    def _append(self, record: dict[str, Any]) -> None:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "a", encoding="utf-8")
        try:
            self._f.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._f.flush()  # in the OS once written: survives the process dying
        except OSError as exc:  # e.g. a full disk: say which file (write errors carry no name)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        self._unsynced += 1
        if self._unsynced >= self.fsync_every:
            self.sync()

    def sync(self) -> None:
        with self._lock:
            if self._f is not None and self._unsynced:
                os.fsync(self._f.fileno())  # on the disk: survives the machine dying
                self._unsynced = 0

    def close(self) -> None:
        with self._lock:
            if self._f is not None:
                self.sync()
                self._f.close()
                self._f = None

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class StreamStats:
    scored: int = 0
    resumed: int = 0
    recoveries: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def make_record(index: int, ref: Any, true_class: int, outputs: np.ndarray, ticks: int,
                device: int | None = None) -> dict[str, Any]:
    r = ref if isinstance(ref, dict) else {"record": ref.record, "lead": int(ref.lead), "start": int(ref.start)}
    rec = {
        "index": int(index),
        "ref": r,
        "true": int(true_class),
        "outputs": [int(v) for v in np.asarray(outputs).reshape(-1)],
        "ticks": int(ticks),
    }
    if device is not None:  # which device of a sharded run scored it
        rec["device"] = int(device)
    return rec


class InFlight:
    """The windows handed to the client and not yet answered, to check each result against.

    The protocol client already matches replies by sequence number and input
    CRC; this is the runner's own check, so that no client (or a bug in one)
    can make it write a result under another window's index.
    """

    def __init__(self, x_int8: np.ndarray) -> None:
        self.x = x_int8
        self.crcs: dict[int, int] = {}  # index -> CRC-32 of the bytes handed out
        self.seqs: set[int] = set()  # of results already accepted in this stream

    def feed(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        for i in indices:
            self.crcs[i] = crc32(np.ascontiguousarray(self.x[i]).tobytes())
            yield i, self.x[i]

    def accept(self, res: _Result, board: str) -> int:
        i, seq = int(res.index), int(res.seq)
        if i not in self.crcs:
            problem = f"result for window {i}, which was not in flight"
        elif seq in self.seqs:
            problem = f"second result with sequence number {seq} (window {i})"
        elif int(res.input_crc) != self.crcs[i]:
            problem = (f"result for window {i} was computed on other data (input CRC {int(res.input_crc):#010x}, "
                       f"the window's is {self.crcs[i]:#010x})")
        else:
            del self.crcs[i]
            self.seqs.add(seq)
            return i
        # The protocol client guarantees none of these happen; refuse to guess, store nothing of it.
        raise InfraError(f"{board}: {problem}; not stored")


def stream_windows(
    connect: Callable[[], _Client],
    x_int8: np.ndarray,
    y: np.ndarray,
    refs: Sequence[Any],
    store: ResultsStore,
    *,
    done: set[int],
    board: str,
    recover: Callable[[Exception], None] | None = None,
    max_recoveries: int = 2,
    show_progress: bool = True,
) -> StreamStats:
    """Scores every window whose index is not in ``done``; each result goes to ``store`` at once.

    ``connect()`` returns a ready client (after the HELLO check).  When the
    stream fails with a retryable InfraError (link timeout, device reset, QEMU
    died), ``recover(exc)`` (e.g. restart QEMU) is called and the stream
    resumes with the windows still missing, at most ``max_recoveries`` times;
    then the error is raised naming what is saved and how to finish the run.
    An error that is not retryable (the device's own ERROR reply) ends the
    stream at once: restarting would get the same answer.
    """
    stats = StreamStats(resumed=len(done))
    pending = [i for i in range(len(x_int8)) if i not in done]
    t0 = time.monotonic()
    with ui.progress() as prog:
        task = prog.add_task(f"streaming to {board}", total=len(x_int8), completed=len(done), visible=show_progress)
        while pending:
            wanted = set(pending)
            try:
                client = connect()
                flight = InFlight(x_int8)
                for res in client.infer_stream(flight.feed(list(pending))):
                    i = flight.accept(res, board)  # raises before anything wrong is written
                    store.append(make_record(i, refs[i], int(y[i]), res.outputs, res.cycles))
                    wanted.discard(i)
                    stats.scored += 1
                    prog.advance(task)
                pending = [i for i in pending if i in wanted]
                if pending:
                    raise InfraError(f"{board}: the stream ended with {len(pending)} windows unanswered (first {pending[0]})")
            except InfraError as exc:
                pending = [i for i in pending if i in wanted]
                stats.errors.append(str(exc))
                store.sync()
                total = len(x_int8) - len(pending)
                saved = f"{total} of {len(x_int8)} windows are scored and saved in {store.path}"
                if not exc.retryable:  # the device's deterministic answer: the same again gets the same
                    exc.args = (f"{exc} -- {saved}",)
                    raise
                if recover is None or stats.recoveries >= max_recoveries:
                    raise InfraError(
                        f"{exc} -- {saved}",
                        hint=f"finish the run with: hil run --resume --out {store.path.parent} (same options)",
                    ) from exc
                stats.recoveries += 1
                ui.info(f"[yellow]{board}: {exc}; recovering ({stats.recoveries}/{max_recoveries}) and continuing "
                        f"with {len(pending)} windows[/yellow]")
                recover(exc)
    store.sync()
    stats.seconds = time.monotonic() - t0
    return stats


def results_arrays(records: dict[int, dict[str, Any]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(outputs int8 [n, C], ticks int64 [n]) in window order; every index 0..n-1 must be present."""
    missing = [i for i in range(n) if i not in records]
    if missing:
        raise InfraError(f"{len(missing)} windows have no result (first {missing[0]})")
    outputs = np.array([records[i]["outputs"] for i in range(n)], dtype=np.int8)
    ticks = np.array([records[i]["ticks"] for i in range(n)], dtype=np.int64)
    return outputs, ticks
