"""``hil build``: the firmware image of a model for a board."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.artifacts import ArtifactPaths
from hil.commands.options import engine_option, json_option, kernels_option, work_option
from hil.config import DEFAULT_MODEL_DIR, load_board, load_model_config


@click.command("build")
@click.option("--board", "board_name", default=None, help="Board name in boards.yaml (default: its `default`).")
@click.option(
    "--model", "model_dir", type=click.Path(path_type=Path), default=DEFAULT_MODEL_DIR, show_default=True,
    help="Model folder holding config.yaml (its export must exist: hil export).",
)
@engine_option("Override the board's engine.")
@kernels_option()
@click.option("--host", is_flag=True, help="Build the native host port instead (tests, fuzzing).")
@work_option
@json_option()
@click.pass_obj
def command(obj, board_name: str | None, model_dir: Path, engine: str | None, kernels: str | None, host: bool,
            work: Path | None, as_json: bool) -> None:
    """Build the firmware image (ELF, raw binary, map, size report, manifest).

    Reuses the image when the model, the firmware sources, the board entry and
    the toolchain did not change.

    \b
    Examples:
      hil build --board qemu-m4 --model models/rhythm-4-effv2
      hil build --board qemu-m4 --host        # native build of the same app + engine
      hil build --board qemu-m4 --engine tflm --kernels reference
    """
    from hil.firmware.build import build_firmware

    board = load_board(board_name, obj.boards if obj else None)
    cfg = load_model_config(model_dir)
    paths = ArtifactPaths.for_model(cfg.name, work)
    with ui.err_console.status(f"building firmware for {board.name}..."):
        out = build_firmware(board, cfg, paths, engine, host=host, kernels=kernels)
    size = json.loads((out / "size.json").read_text())
    if as_json:
        ui.print_json({"folder": str(out), **size})
        return
    kernels_text = f", {size['kernels']} kernels" if size.get("kernels") else ""
    ui.console.print(f"firmware: {out} ({size.get('engine')}{kernels_text})", soft_wrap=True)
    table = Table()
    table.add_column("item")
    table.add_column("bytes", justify="right")
    for key in ("text", "data", "bss", "flash_bytes", "ram_bytes", "model_bytes", "arena_bytes"):
        table.add_row(key, f"{size[key]:,}")
    ui.console.print(table)
    if size.get("regions"):
        ui.console.print(_regions_table(size["regions"]))


def _regions_table(regions: dict) -> Table:
    """Used against available bytes per memory region of the port's linker script."""
    table = Table(title="memory regions (linker script)")
    for col in ("region", "origin", "used", "size", "used %"):
        table.add_column(col, justify="left" if col == "region" else "right")
    for name, r in regions.items():
        table.add_row(name, f"{r['origin']:#010x}", f"{r['used']:,}", f"{r['size']:,}", f"{r['used'] / r['size']:.1%}")
    return table
