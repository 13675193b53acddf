"""One device session: the image running on the board, the link open, HELLO done and the image checked.

``DeviceSession`` is the one place that flashes (or boots) an image, opens the
serial link, says HELLO and checks that the image holds the expected model:
same SHA-256, same input/output quantisation and shape.  ``hil run``, ``hil
flash``, the pytest plugin and the benchmarks all use it, so they check the
same things the same way, and everything it opened is closed on exit and on
error.

A stale image is an infrastructure failure (exit 2): the flash (or boot) did
not put what was built on the device, and flashing again fixes it.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.config import Board
from hil.device import link as link_mod
from hil.device.flash import DeviceHandle, FlashResult, running_device
from hil.device.protocol import DeviceClient, DeviceInfo
from hil.errors import InfraError


@dataclass(frozen=True)
class ExpectedImage:
    """What the image on the device must hold: the exported model and its tensors' quantisation."""

    model_sha256: str
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    input_shape: tuple[int, ...]

    @classmethod
    def from_tflite(cls, tflite: Path, sha256: str | None = None) -> "ExpectedImage":
        from hil.artifacts import sha256_file
        from hil.export.tflite_info import read_io_quant

        in_s, in_zp, out_s, out_zp, in_shape, _ = read_io_quant(tflite)
        return cls(sha256 or sha256_file(tflite), in_s, in_zp, out_s, out_zp, tuple(in_shape))


def image_problems(info: Any, expected: ExpectedImage) -> list[str]:
    """Every way the device's image differs from ``expected`` (empty when it holds the exported model)."""
    problems = []
    dev_sha = str(getattr(info, "model_sha256", "")).lower()
    if dev_sha != expected.model_sha256.lower():
        problems.append(f"model {dev_sha[:12] or '?'}…, not the exported model {expected.model_sha256[:12]}…")
    tin, tout = getattr(info, "input", None), getattr(info, "output", None)
    if tin is not None:
        if not np.isclose(float(tin.scale), expected.input_scale, rtol=1e-6) or int(tin.zero_point) != expected.input_zero_point:
            problems.append(f"input quantisation {tin.scale}/{tin.zero_point} != "
                            f"{expected.input_scale}/{expected.input_zero_point}")
        if int(np.prod(tuple(tin.shape))) != int(np.prod(expected.input_shape)):
            problems.append(f"input shape {tuple(tin.shape)} != {expected.input_shape}")
    if tout is not None and (not np.isclose(float(tout.scale), expected.output_scale, rtol=1e-6)
                             or int(tout.zero_point) != expected.output_zero_point):
        problems.append(f"output quantisation {tout.scale}/{tout.zero_point} != "
                        f"{expected.output_scale}/{expected.output_zero_point}")
    return problems


def check_image(info: Any, board_name: str, expected: ExpectedImage) -> None:
    """Refuses to score an image that does not hold the exported model (InfraError, exit 2)."""
    problems = image_problems(info, expected)
    if not problems:
        return
    if problems[0].startswith("model "):
        raise InfraError(
            f"{board_name}: the image on the device holds {problems[0]} -- refusing to score a stale image",
            hint="flash again (hil flash --board NAME) or drop --no-flash; `hil run` rebuilds the image when the model changes",
        )
    raise InfraError(f"{board_name}: the image's tensors do not match the export: {'; '.join(problems)}",
                     hint="flash the image built from this export again")


@dataclass(frozen=True)
class LinkSettings:
    """The board's link settings, with what a caller overrides (a benchmark wants no retries)."""

    timeout_s: float
    retries: int
    inflight: int

    @classmethod
    def of(cls, board: Board, **override: Any) -> "LinkSettings":
        base = {"timeout_s": board.link.timeout_s, "retries": board.link.retries, "inflight": board.link.inflight}
        base.update({k: v for k, v in override.items() if v is not None})
        return cls(**base)


class DeviceSession:
    """Flashes or boots ``firmware_dir``'s image, connects and checks it; closes everything on exit.

    ``expect=None`` skips the image check (an image with no model, e.g. a
    benchmark's test-double engine).  ``strict=False`` records the problems in
    ``problems`` instead of raising (``hil flash`` reports them itself).
    ``reconnect()`` reopens the link and repeats HELLO and the check;
    ``recover(exc)`` restarts a board that can be restarted (QEMU) first.
    """

    def __init__(self, board: Board, firmware_dir: Path, *, expect: ExpectedImage | None,
                 flash_log: Path | None = None, serial_log: Path | None = None, flash: bool = True,
                 strict: bool = True, link: LinkSettings | None = None) -> None:
        self.board = board
        self.firmware_dir = Path(firmware_dir)
        self.expect = expect
        self.flash_log = flash_log
        self.serial_log = serial_log
        self.do_flash = flash
        self.strict = strict
        self.link = link or LinkSettings.of(board)
        self.handle: DeviceHandle | None = None
        self.client: DeviceClient | None = None
        self.info: DeviceInfo | None = None
        self.problems: list[str] = []
        self._port: Any = None
        self._stack = ExitStack()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> "DeviceSession":
        try:
            self.handle = self._stack.enter_context(
                running_device(self.board, self.firmware_dir, flash_log=self.flash_log, flash=self.do_flash))
            self._stack.callback(self.disconnect)
            self.reconnect()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def flash_result(self) -> FlashResult | None:
        return self.handle.flash if self.handle is not None else None

    @property
    def url(self) -> str:
        assert self.handle is not None, "the session is not open"
        return self.handle.url

    # ------------------------------------------------------------------ link

    def disconnect(self) -> None:
        """Closes the link (the device keeps running; ``reconnect()`` opens it again)."""
        port, self._port, self.client = self._port, None, None
        if port is not None:
            try:
                port.close()
            except Exception:  # the old link is dead anyway
                pass

    def reconnect(self) -> DeviceClient:
        """Opens the link afresh, says HELLO and checks the image; returns the ready client."""
        self.disconnect()
        self._port = link_mod.open_link(self.url, self.board.link.baud, self.serial_log)
        client = DeviceClient(self._port, timeout_s=self.link.timeout_s, retries=self.link.retries,
                              inflight=self.link.inflight, board=self.board.name)
        self.info = client.hello()
        if self.expect is not None:
            self.problems = image_problems(self.info, self.expect)
            if self.strict:
                check_image(self.info, self.board.name, self.expect)
        self.client = client
        return client

    def recover(self, exc: Exception) -> None:
        """After a link failure: restart a board that can be restarted (QEMU); a real board is only reconnected.

        Only for retryable errors: a DeviceError is the device's deterministic
        answer, and the runner lets it end the run without calling this.
        """
        if self.handle is not None and self.handle.can_restart:
            self.disconnect()
            self.handle.restart()

    def info_dict(self) -> dict[str, Any]:
        """INFO as plain JSON values (for report.json)."""
        if self.info is None:
            return {}
        return json.loads(json.dumps(asdict(self.info), default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def flash_and_check(board: str | None, model_dir: Path, *, engine: str | None = None, firmware: Path | None = None,
                    work: Path | None = None, log: Path | None = None, boards_file: Path | None = None) -> dict:
    """``hil flash``: flashes (or boots) the built image in a session and says whether it holds the export."""
    from hil.artifacts import ArtifactPaths, read_manifest
    from hil.config import load_board, load_model_config
    from hil.errors import ConfigError

    b = load_board(board, boards_file)
    cfg = load_model_config(model_dir)
    from hil.engines import choose_engine

    chosen = choose_engine(b, engine).engine
    engine = chosen.name
    paths = ArtifactPaths.for_model(cfg.name, work)
    fw_dir = Path(firmware) if firmware else paths.firmware(b.name, chosen.label)
    if not fw_dir.is_dir():
        raise ConfigError(f"{fw_dir}: no firmware built for {b.name} ({engine}); run "
                          f"`hil build --board {b.name} --model {model_dir}` first")
    tflite = paths.export / "model.tflite"
    export_sha = ((read_manifest(paths.export) or {}).get("outputs") or {}).get("sha256")
    expect = ExpectedImage.from_tflite(tflite, export_sha) if export_sha and tflite.is_file() else None
    from hil.device.devices import hold_boards

    with ExitStack() as held:
        # A board another run holds (or a labgrid place someone else has) is not flashed under it: exit 2, holder named.
        b = hold_boards(held, [b], "hil-flash", 0.0)[0]
        session = held.enter_context(DeviceSession(b, fw_dir, expect=expect, flash_log=log, strict=False,
                                                   link=LinkSettings.of(b, inflight=1)))
        info, flashed, url = session.info, session.flash_result, session.url
    return {
        "board": b.name,
        "flasher": flashed.flasher if flashed else None,
        "image": str(flashed.image) if flashed else None,
        "seconds": round(flashed.seconds, 2) if flashed else None,
        "url": url,
        "firmware_version": getattr(info, "firmware_version", None),
        "engine": getattr(info, "engine", None),
        "model_sha256": str(getattr(info, "model_sha256", "")),
        "model_matches_export": None if expect is None else not session.problems,
        "problems": session.problems,
    }
