"""``hil doctor``: what this machine has and lacks, and how to fix it."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from hil import ui
from hil.commands.options import json_option
from hil.doctor import run_checks
from hil.errors import EXIT_USAGE


@click.command("doctor")
@json_option()
def command(as_json: bool) -> None:
    """Check the toolchain, QEMU, Python packages, serial permissions and probes.

    Exits 3 when something required is missing; prints the command that fixes
    each missing piece.

    \b
    Example:
      hil doctor
    """
    checks = run_checks()
    failed = [c for c in checks if c.required and not c.ok]
    if as_json:
        ui.print_json({"ok": not failed, "checks": [c.as_dict() for c in checks]})
    else:
        table = Table(title="hil doctor", title_justify="left")
        table.add_column("check")
        table.add_column("status")
        table.add_column("detail", overflow="fold")
        for c in checks:
            status = "[green]ok[/green]" if c.ok else ("[red]missing[/red]" if c.required else "[yellow]optional[/yellow]")
            table.add_row(c.name, status, c.detail + (f"\n[cyan]fix:[/cyan] {c.fix}" if c.fix else ""))
        ui.console.print(table)
        if failed:
            ui.console.print(f"[red]{len(failed)} required check(s) failed[/red]")
    if failed:
        sys.exit(EXIT_USAGE)
