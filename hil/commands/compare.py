"""``hil compare A B``: two runs, every number side by side."""

from __future__ import annotations

import click
from rich.table import Table

from hil import ui
from hil.commands.history import history_option
from hil.commands.options import json_option

COLOURS = {"better": "green", "worse": "bold red", "same": "dim", "missing": "yellow"}


@click.command("compare")
@click.argument("a")
@click.argument("b")
@history_option
@json_option()
def command(a, b, history, as_json) -> None:
    """Compares run B with run A (each a run id of the history or a run folder): values, B − A, verdict.

    \b
    Examples:
      hil compare 20240101-020000-qemu-m4 20240102-020000-qemu-m4
      hil compare runs/tflm runs/aot --json
    """
    from hil.history import open_history
    from hil.history.trend import compare

    with open_history(history) as h:
        doc = compare(h, a, b)
    if as_json:
        ui.print_json(doc)
        return
    note = "" if doc["same_series"] else " (different series)"
    t = Table(title=f"{doc['a']} → {doc['b']}{note}", title_justify="left")
    for col in ("metric", "A", "B", "B − A", "verdict"):
        t.add_column(col)
    for m in doc["metrics"]:
        v = m["verdict"]
        t.add_row(m["metric"], str(m["a"]), str(m["b"]), "—" if m["delta"] is None else f"{m['delta']:+.6g}",
                  f"[{COLOURS[v]}]{v}[/{COLOURS[v]}]")
    ui.console.print(t)
