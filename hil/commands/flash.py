"""``hil flash``: write the built firmware to a board (or boot it in QEMU) and check it answers HELLO."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.commands.options import engine_option, json_option, work_option
from hil.config import DEFAULT_MODEL_DIR
from hil.device.session import flash_and_check
from hil.errors import InfraError


@click.command("flash")
@click.option("--board", default=None, help="Board of boards.yaml (default: the file's default).")
@click.option("--model", type=click.Path(path_type=Path), default=DEFAULT_MODEL_DIR, show_default=True,
              help="Model folder (config.yaml) whose firmware to flash.")
@engine_option("Engine of the image (default: the board's).")
@click.option("--firmware", type=click.Path(path_type=Path), default=None,
              help="Firmware folder (hil.elf/hil.bin); default <work>/<model>/firmware/<board>-<engine>.")
@work_option
@click.option("--log", "log", type=click.Path(path_type=Path), default=None, help="Flash log file.")
@json_option()
@click.pass_obj
def command(obj, board, model, engine, firmware, work, log, as_json) -> None:
    """Flash the firmware built by `hil build` and check the image with HELLO.

    Real boards use pyOCD (probe by unique_id, CMSIS pack from boards.yaml) and
    fall back to J-Link when the probe or tool is absent; qemu boards boot the
    ELF in QEMU.  Exit 2 on a flash/link failure, 3 on a configuration error.

    \b
    Examples:
      hil build --board apollo4 && hil flash --board apollo4
      hil flash --board qemu-m4 --json
    """
    doc = flash_and_check(board, model, engine=engine, firmware=firmware, work=work, log=log,
                          boards_file=obj.boards if obj else None)
    stale = doc.get("model_matches_export") is False
    if as_json:
        ui.print_json(doc)
    else:
        t = Table(title=f"hil flash · {doc['board']}", title_justify="left", show_header=False)
        t.add_column(style="bold")
        t.add_column(overflow="fold")
        for k in ("flasher", "image", "seconds", "url", "firmware_version", "engine", "model_sha256", "model_matches_export"):
            t.add_row(k, str(doc.get(k)))
        ui.console.print(t)
    if stale:
        raise InfraError(
            f"{doc['board']}: the image does not hold the current export: {'; '.join(doc['problems'])}",
            hint=f"rebuild and flash: hil build --board {doc['board']} && hil flash --board {doc['board']}",
        )
