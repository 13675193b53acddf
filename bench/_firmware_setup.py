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
    ap.add_argument("--fake-engine", action="store_true",
                    help="the app with the test-double engine of tests/firmware_engine (no model needed)")


def image(args) -> tuple[Path, str]:
    """(elf, what it is)."""
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware, cmake_build

    board = load_board(args.board, REPO / "boards.yaml")
    if args.elf:
        return args.elf, f"given image {args.elf}"
    if args.fake_engine:
        out = Path(tempfile.mkdtemp(prefix="hil-bench-fw-"))
        cmake_build(out, port=board.port, engine="test", engine_dir=REPO / "tests" / "firmware_engine")
        return out / "hil.elf", "app + TEST-DOUBLE engine (no model)"
    cfg = load_model_config(args.model)
    folder = build_firmware(board, cfg, ArtifactPaths.for_model(cfg.name, args.work))
    return folder / "hil.elf", f"{cfg.name} on {board.engine} ({folder})"


@contextmanager
def device(args, elf: Path, inflight: int | None = None) -> Iterator[tuple[object, object]]:
    """(client, board) with QEMU running the image."""
    from hil.config import load_board
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.device.qemu import QemuInstance

    board = load_board(args.board, REPO / "boards.yaml")
    name = board.name
    if board.flasher.kind != "qemu":
        raise SystemExit(f"board {name}: this benchmark drives QEMU boards only")
    with QemuInstance(elf, board.flasher) as q:
        link = open_link(q.url, board.link.baud)
        try:
            client = DeviceClient(link, timeout_s=max(board.link.timeout_s, 30), retries=0,
                                  inflight=inflight or board.link.inflight, board=name)
            client.hello()
            yield client, board
        finally:
            link.close()
