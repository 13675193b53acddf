"""``hil boards``: list the boards of boards.yaml, or check the file."""

from __future__ import annotations

import click
from rich import box
from rich.table import Table

from hil import ui
from hil.commands.options import json_option
from hil.config import boards_path, load_boards


def _flasher_summary(f) -> str:
    from hil.flashers import flasher_for

    return flasher_for(f).summary(f)


def _link_summary(link) -> str:
    if link.url:
        return f"{link.url} {link.baud} baud"
    if link.usb:
        pid = f":{link.usb.pid:04x}" if link.usb.pid is not None else ""
        return f"usb {link.usb.vid:04x}{pid} {link.baud} baud"
    return "socket:// when QEMU starts"  # the flasher column says which QEMU link; QEMU ignores the baud rate


@click.command("boards")
@click.option("--check", is_flag=True, help="Only validate the file; exit 3 with a message if it is wrong.")
@json_option()
@click.pass_obj
def command(obj, check: bool, as_json: bool) -> None:
    """List the boards defined in boards.yaml (or validate it with --check).

    \b
    Examples:
      hil boards
      hil --boards lab/boards.yaml boards --check
    """
    path = boards_path(obj.boards)
    bf = load_boards(path)
    if check:
        if as_json:
            ui.print_json({"file": str(path), "valid": True, "boards": sorted(bf.boards)})
        else:
            ui.console.print(f"[green]ok[/green] {path}: {len(bf.boards)} boards ({', '.join(bf.boards)})")
        return
    if as_json:
        ui.print_json(
            {"file": str(path), "default": bf.default, "boards": {k: v.model_dump(mode="json") for k, v in bf.boards.items()}}
        )
        return
    # A wide terminal gets every detail; a narrow one the essentials (all of it is in --json).
    wide = ui.console.width >= 140
    cols = ["name", "description", "cpu", "clock", "engine", "flasher", "link", "timer"] if wide else \
        ["name", "cpu", "clock", "engine", "flasher", "link", "timer unit"]
    # The default is named in the title, not in the name column: 80 columns keep every value on one line.
    table = Table(title=f"Boards in {path} (default: {bf.default})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    for col in cols:
        # One-word values (a unit, a clock) never break; free text folds.
        # In the narrow table the flasher is a word or two ("pyocd, jlink"): it never breaks either.
        table.add_column(col, overflow="fold", no_wrap=col not in ("description", "flasher", "link") or not wide)
    for name, b in bf.boards.items():
        label = f"[bold]{name}[/bold]"
        if wide:
            flasher = _flasher_summary(b.flasher)
            if b.fallback_flasher:
                flasher += f"\nfallback: {_flasher_summary(b.fallback_flasher)}"
            table.add_row(label, b.description, f"{b.cpu} {b.fpu}", f"{b.clock_hz / 1e6:g} MHz", b.engine, flasher,
                          _link_summary(b.link), f"{b.timer.kind} ({b.timer.unit})")
        else:
            flasher = b.flasher.kind + (f", {b.fallback_flasher.kind}" if b.fallback_flasher else "")
            link = "usb" if b.link.usb else (b.link.url or "socket://").split(":")[0]
            table.add_row(label, b.cpu, f"{b.clock_hz / 1e6:g} MHz", b.engine, flasher, link, b.timer.unit)
    ui.console.print(table)
