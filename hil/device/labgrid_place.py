"""A board that is a labgrid place, acquired through the lab's coordinator for the whole run (docs/lab.md).

labgrid does the sharing between hosts; this module only uses its client API
(``labgrid.remote.client.ClientSession``): acquire the place, read its
resources through labgrid's ``RemotePlace`` (so matches, renames and the SSH
forwards of isolated exporters are labgrid's), release it on every exit.

What a place gives the run:

- its ``NetworkSerialPort`` (ser2net or a plain TCP UART on the exporter
  host) becomes the board's ``link.url`` (``rfc2217://`` or ``socket://``);
- a ``pyocd`` board flashes through ``pyocd server`` on the exporter host that
  has the probe (the host of the place's ``NetworkUSBDebugger``, else of its
  serial port), port ``labgrid.probe_port``: flasher ``unique_id``
  ``remote:HOST:PORT``, pyOCD's own remote probe;
- an ``exporter`` board (emulated) is booted by the exporter host itself: hil
  writes nothing, and the HELLO check proves which image answers.

The coordinator keeps a place acquired when its client disconnects, so the
session is only open while acquiring, reading and releasing.  A place already
acquired by this host and user (``labgrid-client acquire`` by hand, or a run
killed with SIGKILL) is used as it is and left acquired.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import time
from typing import Any, Callable

from hil.config import Board
from hil.errors import ConfigError, InfraError

POLL_S = 0.5


class PlaceBusy(InfraError):
    """Someone else holds the place (exit 2: retry later, or pass --wait)."""


def _hint_unreachable(address: str) -> str:
    return (f"is labgrid-coordinator running and listening on {address}? (labgrid-coordinator --listen {address}); "
            "check the board's labgrid.coordinator in boards.yaml")


class Coordinator:
    """One short session with a labgrid coordinator; ``with Coordinator(addr) as c:`` connects and closes."""

    def __init__(self, address: str, timeout_s: float = 10.0, log: Callable[[str], None] = lambda s: None) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self.log = log
        self.session: Any = None

    def __enter__(self) -> "Coordinator":
        from labgrid.remote.client import ClientSession, ensure_event_loop
        from labgrid.util.proxy import proxymanager

        self.loop = loop = ensure_event_loop()
        args = argparse.Namespace(place=None, allow_unmatched=False, kick=False)
        address = proxymanager.get_grpc_address(self.address, default_port=20408)
        session = ClientSession(address, loop, args=args)
        logging.disable(logging.ERROR)  # labgrid also logs the failure it raises: the error below says it once
        try:
            self._run(session.start(), self.timeout_s)
        except (asyncio.TimeoutError, Exception) as exc:  # gRPC and labgrid raise their own types
            with contextlib.suppress(Exception):
                loop.run_until_complete(session.close())
            why = f"no answer in {self.timeout_s:g} s" if isinstance(exc, asyncio.TimeoutError) else str(exc)
            raise InfraError(f"labgrid coordinator {self.address} is unreachable: {why}",
                             hint=_hint_unreachable(self.address)) from None
        finally:
            logging.disable(logging.NOTSET)
        self.session = session
        return self

    def __exit__(self, *exc: object) -> None:
        s, self.session = self.session, None
        if s is not None:
            with contextlib.suppress(Exception):
                s.loop.run_until_complete(s.stop())
                s.loop.run_until_complete(s.close())

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        """Runs a labgrid coroutine; what labgrid prints ("acquired place ...") goes to the log, not stdout."""
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                return self.loop.run_until_complete(asyncio.wait_for(coro, timeout) if timeout else coro)
        finally:
            for line in out.getvalue().splitlines():
                self.log(f"labgrid: {line}")

    def refresh(self) -> None:
        """Lets the session take in the coordinator's updates (places acquired and released)."""
        self._run(self.session.sync_with_coordinator(), self.timeout_s)

    @property
    def me(self) -> str:
        return f"{self.session.gethostname()}/{self.session.getuser()}"

    def place(self, name: str) -> Any:
        place = self.session.places.get(name)
        if place is None:
            known = ", ".join(sorted(self.session.places)) or "none"
            raise ConfigError(f"labgrid: coordinator {self.address} has no place {name!r}; its places: {known}",
                              hint="fix labgrid.place in boards.yaml, or create the place: "
                              f"labgrid-client -x {self.address} -p {name} create")
        return place

    def acquire(self, name: str) -> None:
        self.session.args.place = name
        self._run(self.session.acquire(), self.timeout_s)

    def release(self, name: str) -> None:
        self.session.args.place = name
        self._run(self.session.release(), self.timeout_s)


def holder_text(place: Any) -> str:
    since = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(place.changed)) if place.changed else "?"
    comment = f" ({place.comment})" if place.comment else ""
    return f"{place.acquired} since {since}{comment}"


class PlaceHold:
    """The place of ``board`` acquired (or found acquired by us) until ``release()``; ``board`` resolved."""

    def __init__(self, board: Board, log: Callable[[str], None] = lambda s: None) -> None:
        assert board.labgrid is not None
        self.cfg = board.labgrid
        self.unresolved = board
        self.board: Board | None = None
        self.acquired_here = False
        self.log = log

    def _coordinator(self) -> Coordinator:
        return Coordinator(self.cfg.coordinator, self.cfg.timeout_s, self.log)

    def acquire(self, wait_s: float = 0.0) -> "PlaceHold":
        """Acquires the place, waiting up to ``wait_s`` s for its holder; PlaceBusy naming the holder otherwise."""
        with self._coordinator() as c:
            try:
                self._take(c, time.monotonic() + max(0.0, wait_s), wait_s)
                self.board = resolve_board(self.unresolved, c, self.log)
            except BaseException:  # Ctrl-C and errors too: never leave a place this run acquired
                with contextlib.suppress(Exception):
                    self._release_with(c)
                raise
        return self

    def _take(self, c: Coordinator, deadline: float, wait_s: float) -> None:
        name = self.cfg.place
        while True:
            place, failure = c.place(name), None
            if place.acquired == c.me:
                self.log(f"labgrid: place {name} is already acquired by {c.me}: using it, leaving it acquired")
                return
            if not place.acquired:
                try:
                    c.acquire(name)
                    self.acquired_here = True
                    return
                except Exception as exc:  # taken between our look and our request, or its resources are gone
                    failure = exc
                    self.log(f"labgrid: acquiring {name} failed: {exc}")
            if time.monotonic() >= deadline:
                if failure is None:
                    raise self._busy(c, place, wait_s)
                raise InfraError(f"board {self.unresolved.name}: labgrid could not acquire place {name} on "
                                 f"{c.address}: {failure}", hint=f"labgrid-client -x {c.address} -p {name} show: "
                                 "are its resources exported (is the exporter running)?")
            time.sleep(POLL_S)
            c.refresh()

    def _busy(self, c: Coordinator, place: Any, wait_s: float) -> PlaceBusy:
        waited = f" (waited {wait_s:g} s)" if wait_s > 0 else ""
        return PlaceBusy(f"board {self.unresolved.name}: labgrid place {place.name} on {c.address} is held by "
                         f"{holder_text(place)}{waited}",
                         hint=f"wait for {place.acquired} to release it (labgrid-client -p {place.name} release), "
                         "or pass --wait SECONDS to queue behind it")

    def _release_with(self, c: Coordinator) -> None:
        if self.acquired_here:
            self.acquired_here = False
            c.release(self.cfg.place)

    def release(self) -> None:
        """Releases the place if this run acquired it (a failure to release is logged, never raised)."""
        if not self.acquired_here:
            return
        try:
            with self._coordinator() as c:
                self._release_with(c)
        except Exception as exc:  # the run's own outcome matters more; the log says what to do
            self.log(f"labgrid: could not release place {self.cfg.place}: {exc}; "
                     f"release it by hand: labgrid-client -x {self.cfg.coordinator} -p {self.cfg.place} release")


def resolve_board(board: Board, c: Coordinator, log: Callable[[str], None] = lambda s: None) -> Board:
    """``board`` with the place's serial port as its link and, for pyocd, the exporter's probe server."""
    from labgrid import Target
    from labgrid.resource import NetworkSerialPort, RemotePlace
    from labgrid.resource.remote import RemotePlaceManager
    from labgrid.util.proxy import proxymanager

    manager = RemotePlaceManager.get()
    manager.session, manager.loop = c.session, c.session.loop
    target = Target(board.labgrid.place)
    try:
        RemotePlace(target, name=board.labgrid.place)
        serial = _one(target, NetworkSerialPort, board)
        host, port = proxymanager.get_host_and_port(serial)
        scheme = "rfc2217" if serial.protocol == "rfc2217" else "socket"
        url = f"{scheme}://{host}:{port}"
        update: dict[str, Any] = {"link": board.link.model_copy(update={"url": url, "usb": None}),
                                  "fallback_flasher": None}  # a local fallback tool cannot reach a remote probe
        if getattr(board.flasher, "kind", None) == "pyocd":
            probe = _probe_resource(target) or serial
            phost, pport = proxymanager.get_host_and_port(probe, force_port=board.labgrid.probe_port)
            uid = f"remote:{phost}:{pport}"
            update["flasher"] = board.flasher.model_copy(update={"unique_id": uid})
            log(f"labgrid: place {board.labgrid.place}: probe {uid} (pyocd server on the exporter host)")
        log(f"labgrid: place {board.labgrid.place}: serial {url} (NetworkSerialPort {serial.host}:{serial.port})")
        return board.model_copy(update=update)
    finally:
        target.cleanup()


def _one(target: Any, cls: type, board: Board) -> Any:
    from labgrid.exceptions import NoResourceFoundError

    try:
        return target.get_resource(cls)
    except NoResourceFoundError as exc:
        raise ConfigError(f"board {board.name}: labgrid place {board.labgrid.place} has no usable {cls.__name__}: "
                          f"{exc}", hint="export the board's serial port on the exporter host (docs/lab.md) and add "
                          f"it to the place: labgrid-client -p {board.labgrid.place} add-match EXPORTER/GROUP/*") from None


def _probe_resource(target: Any) -> Any:
    from labgrid.exceptions import NoResourceFoundError
    from labgrid.resource.remote import NetworkUSBDebugger

    try:
        return target.get_resource(NetworkUSBDebugger)
    except NoResourceFoundError:
        return None


def list_places(address: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """What ``hil lab`` shows: every place (holder, resources) and every exported resource of the coordinator."""
    with Coordinator(address, timeout_s) as c:
        s = c.session
        places = []
        for name, p in sorted(s.places.items()):
            places.append({"place": name, "free": not p.acquired, "acquired_by": p.acquired or None,
                           "since": p.changed if p.acquired else None, "comment": p.comment or "",
                           "tags": dict(p.tags), "matches": [str(m) for m in p.matches]})
        resources = []
        for exporter, groups in sorted(s.resources.items()):
            for group, entries in sorted(groups.items()):
                for rname, r in sorted(entries.items()):
                    resources.append({"exporter": exporter, "group": group, "name": rname, "cls": r.cls,
                                      "available": bool(r.avail), "acquired_by_place": r.acquired or None,
                                      "params": {k: v for k, v in r.args.items()}})
        return {"coordinator": address, "places": places, "resources": resources}

