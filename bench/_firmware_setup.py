"""Shared by the firmware benchmarks: pick or build an image, boot it in QEMU, open a client."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def add_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "rhythm-4-effv2", help="model folder")
    ap.add_argument("--work", type=Path, default=None, help="work folder holding the model's export (HIL_WORK)")
    ap.add_argument("--elf", type=Path, default=None, help="use this image instead of building one")
    ap.add_argument("--engine", default=None, help="engine of the built image (default: the board's choice)")
    ap.add_argument("--fake-engine", action="store_true",
                    help="the app with the test-double engine of tests/firmware_engine (no model needed)")


def image(args) -> tuple[Path, str]:
    """(elf, what it is)."""
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.firmware.build import cmake_build
    from hil.steps import build

    board = load_board(args.board, REPO / "boards.yaml")
    if args.elf:
        return args.elf, f"given image {args.elf}"
    if args.fake_engine:
        out = Path(tempfile.mkdtemp(prefix="hil-bench-fw-"))
        cmake_build(out, port=board.port, engine="test", engine_dir=REPO / "tests" / "firmware_engine")
        return out / "hil.elf", "app + TEST-DOUBLE engine (no model)"
    cfg = load_model_config(args.model)
    fw = build(board, cfg, ArtifactPaths.for_model(cfg.name, args.work), args.engine)  # None: as hil run
    return fw.dir / "hil.elf", f"{cfg.name} on {fw.size.get('engine')} {fw.size.get('kernels') or ''} ({fw.dir})"


@contextmanager
def device(args, elf: Path, inflight: int | None = None,
           transport: str | None = None) -> Iterator[tuple[object, object]]:
    """(client, board) with QEMU running the image, through the same DeviceSession as `hil run`.

    ``transport`` overrides the board's ``flasher.transport`` (uart, semihosting).
    The image check needs the export the image was built from; a given --elf
    or the test-double engine holds no model, so it is skipped for them.
    """
    from hil.config import load_board
    from hil.device.session import DeviceSession, ExpectedImage, LinkSettings

    board = load_board(args.board, REPO / "boards.yaml")
    if board.flasher.kind != "qemu":
        raise SystemExit(f"board {board.name}: this benchmark drives QEMU boards only")
    if transport:
        board = board.model_copy(update={"flasher": board.flasher.model_copy(update={"transport": transport})})
    expect = None
    if not args.elf and not args.fake_engine:
        from hil.artifacts import ArtifactPaths
        from hil.config import load_model_config

        export = ArtifactPaths.for_model(load_model_config(args.model).name, args.work).export
        expect = ExpectedImage.from_tflite(export / "model.tflite")
    link = LinkSettings.of(board, timeout_s=max(board.link.timeout_s, 30), retries=0, inflight=inflight)
    with DeviceSession(board, elf.parent, expect=expect, link=link) as session:
        yield session.client, board
