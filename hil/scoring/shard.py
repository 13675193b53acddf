"""Streaming one run's windows over several devices at once (``hil run --devices N``, board lists).

One thread per device pulls window indices from a shared queue and streams
them through that device's own client; every result goes to the one
``results.jsonl`` (``ResultsStore`` is thread-safe) the moment it arrives.
A window is taken by exactly one device; when a device fails, the windows it
had in flight go back to the queue, and the device recovers (QEMU restarted)
at most ``max_recoveries`` times on its own.  A device that cannot recover
stops the others from taking new windows, they finish what is in flight, and
the run ends with exit 2 and everything scored kept for ``--resume``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from hil import ui
from hil.errors import InfraError
from hil.scoring.runner import InFlight, ResultsStore, StreamStats, make_record


@dataclass
class Device:
    """One device of a sharded stream: how to get its ready client and how to recover it."""

    index: int
    name: str
    connect: Callable[[], Any]
    recover: Callable[[Exception], None] | None = None


@dataclass
class DeviceStats:
    device: int
    board: str
    scored: int = 0
    recoveries: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class WindowQueue:
    """The indices still to score, handed out one at a time to whichever device asks first."""

    def __init__(self, pending: Sequence[int]) -> None:
        self._q = deque(pending)
        self._lock = threading.Lock()
        self._stopped = False

    def take(self) -> int | None:
        with self._lock:
            if self._stopped or not self._q:
                return None
            return self._q.popleft()

    def give_back(self, indices: set[int]) -> None:
        with self._lock:
            self._q.extendleft(sorted(indices, reverse=True))  # the lowest first, as before

    def stop(self) -> None:
        with self._lock:
            self._stopped = True

    def __len__(self) -> int:
        with self._lock:
            return len(self._q)


def _one_pass(dev: Device, q: WindowQueue, x_int8: np.ndarray, y: np.ndarray, refs: Sequence[Any],
              store: ResultsStore, st: DeviceStats, taken: set[int], advance: Callable[[], None]) -> None:
    flight = InFlight(x_int8)  # the runner's own check of every result against the windows handed out

    def feed():
        while (i := q.take()) is not None:
            taken.add(i)
            yield from flight.feed([i])

    client = dev.connect()
    for res in client.infer_stream(feed()):
        i = flight.accept(res, dev.name)  # index, sequence number and input CRC, or nothing is stored
        store.append(make_record(i, refs[i], int(y[i]), res.outputs, res.cycles, device=dev.index))
        taken.discard(i)
        st.scored += 1
        advance()
    if taken:
        raise InfraError(f"{dev.name}: the stream ended with {len(taken)} windows unanswered (first {min(taken)})")


def _worker(dev: Device, q: WindowQueue, x_int8: np.ndarray, y: np.ndarray, refs: Sequence[Any],
            store: ResultsStore, st: DeviceStats, max_recoveries: int, advance: Callable[[], None]) -> None:
    t0 = time.monotonic()
    try:
        while True:
            taken: set[int] = set()
            try:
                _one_pass(dev, q, x_int8, y, refs, store, st, taken, advance)
                return
            except InfraError as exc:
                q.give_back(taken)  # another device (or this one, recovered) scores them
                st.errors.append(str(exc))
                store.sync()
                if not exc.retryable or dev.recover is None or st.recoveries >= max_recoveries:
                    raise
                st.recoveries += 1
                ui.info(f"[yellow]{dev.name}: {exc}; recovering ({st.recoveries}/{max_recoveries})[/yellow]")
                dev.recover(exc)
    finally:
        st.seconds = time.monotonic() - t0


def stream_sharded(devices: Sequence[Device], x_int8: np.ndarray, y: np.ndarray, refs: Sequence[Any],
                   store: ResultsStore, *, done: set[int], max_recoveries: int = 2,
                   show_progress: bool = True) -> tuple[StreamStats, list[DeviceStats]]:
    """Scores every window not in ``done`` once, over all ``devices``; raises InfraError naming what is saved."""
    n = len(x_int8)
    q = WindowQueue([i for i in range(n) if i not in done])
    per = [DeviceStats(d.index, d.name) for d in devices]
    failures: list[BaseException] = []
    t0 = time.monotonic()
    with ui.progress() as prog:
        task = prog.add_task(f"streaming to {len(devices)} devices", total=n, completed=len(done),
                             visible=show_progress)

        def run(dev: Device, st: DeviceStats) -> None:
            try:
                _worker(dev, q, x_int8, y, refs, store, st, max_recoveries, lambda: prog.advance(task))
            except BaseException as exc:  # noqa: BLE001 -- handed to the main thread, which raises it
                if isinstance(exc, InfraError) and dev.name not in str(exc):
                    exc.args = (f"device {dev.name}: {exc}",)
                failures.append(exc)
                q.stop()  # the others finish their windows in flight, then stop

        threads = [threading.Thread(target=run, args=(d, s), name=f"hil-device-{d.index}", daemon=True)
                   for d, s in zip(devices, per)]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.2)  # a timed join lets Ctrl-C reach the main thread
        except KeyboardInterrupt:
            q.stop()
            for t in threads:
                t.join(30)
            raise
    store.sync()
    stats = StreamStats(scored=sum(s.scored for s in per), resumed=len(done),
                        recoveries=sum(s.recoveries for s in per), seconds=time.monotonic() - t0,
                        errors=[e for s in per for e in s.errors])
    left = n - len(done) - stats.scored
    if failures or left:
        raise _failed(failures, store, n, n - left)
    return stats, per


def _failed(failures: list[BaseException], store: ResultsStore, n: int, saved: int) -> BaseException:
    where = f"{saved} of {n} windows are scored and saved in {store.path}"
    first = failures[0] if failures else InfraError("windows were left unscored")
    if not isinstance(first, InfraError):
        return first
    if not first.retryable:  # the device's deterministic answer: keep its type and exit status
        first.args = (f"{first} -- {where}",)
        return first
    return InfraError(f"{first} -- {where}",
                      hint=f"finish the run with: hil run --resume --out {store.path.parent} (same options)")
