"""``hil diagnose``: which op of the device first departs from the host references."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.commands.options import json_option
from hil.scoring.diagnosis import DIAGNOSE_WINDOWS, summary


@click.command("diagnose")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--windows", "count", type=int, default=DIAGNOSE_WINDOWS, show_default=True,
              help="Windows to diagnose: the first disagreeing ones (the first windows when all agree).")
@click.option("--no-flash", is_flag=True, help="Real boards: the image is already on the board; only connect.")
@json_option()
def command(run_dir: Path, count: int, no_flash: bool, as_json: bool) -> None:
    """Layer by layer: every op's output on the device against TFLite (BUILTIN_REF) and TFLM on the host.

    Boots (or flashes) the run's firmware, has the device send back every
    intermediate tensor of the chosen windows (DUMP) and names the first op
    that differs. The result goes into RUN_DIR/report.json (`diagnosis`) and
    RUN_DIR/diagnosis.json, and report.html is made again with the table.
    On tflm the device runs a diagnosis image that keeps every tensor (built
    beside the run's, <board>-tflm-<kernels>-dump; docs/diagnose.md).
    Exit 0: no op diverges; 1: an op diverges; 2: the device or link failed
    (the op the dump reached is named); 3: this engine or board cannot dump.

    \b
    Examples:
      hil diagnose runs/qemu-m4-20250101-120000
      hil diagnose runs/nightly --windows 1 --json
    """
    from hil.diagnose import diagnose_run

    doc = diagnose_run(run_dir, count, flash=not no_flash)
    if as_json:
        ui.print_json(doc)
    else:
        _render(doc)
    if doc.get("first_divergence"):
        sys.exit(1)


def _render(doc: dict) -> None:
    t = Table(title="first divergence per window", title_justify="left")
    for col in ("window", "op", "type", "tensor", "max |diff| LSB", "differing", "vs"):
        t.add_column(col)
    for w in doc["windows"]:
        d = w["first_divergence"]
        if d is None:
            t.add_row(str(w["window"]), "—", "—", "—", "0", "0 %", "both match")
            continue
        t.add_row(str(w["window"]), str(d["index"]), d["op"], str(d.get("output")), f"{d['max_abs_diff_lsb']:g}",
                  f"{d['differing_share']:.1%}", ", ".join(d["references"]))
    ui.console.print(t)
    ui.console.print(summary(doc) or "no op diverges on the diagnosed windows")
