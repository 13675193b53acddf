"""``hil lab``: the places and resources a labgrid coordinator knows, which are free, and the boards on them."""

from __future__ import annotations

import os
import time

import click
from rich import box
from rich.table import Table

from hil import ui
from hil.commands.options import json_option
from hil.config import boards_path, load_boards
from hil.errors import ConfigError


def _coordinators(explicit: str | None, boards) -> list[str]:
    """--coordinator, else every coordinator boards.yaml names, else $LG_COORDINATOR (labgrid's own variable)."""
    if explicit:
        return [explicit]
    named = sorted({b.labgrid.coordinator for b in boards.values() if b.labgrid is not None})
    if named:
        return named
    if os.environ.get("LG_COORDINATOR"):
        return [os.environ["LG_COORDINATOR"]]
    raise ConfigError("hil lab: no coordinator: no board of boards.yaml has a `labgrid` section and LG_COORDINATOR "
                      "is not set", hint="pass --coordinator HOST:PORT (labgrid's default port is 20408)")


@click.command("lab")
@click.option("--coordinator", metavar="HOST:PORT", default=None,
              help="The labgrid coordinator (default: those boards.yaml names, else $LG_COORDINATOR).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              metavar="SECONDS", help="How long connecting to a coordinator may take.")
@json_option()
@click.pass_obj
def command(obj, coordinator: str | None, timeout_s: float, as_json: bool) -> None:
    """List the labgrid places and resources of the lab, which are free, and the boards of boards.yaml on them.

    A board of boards.yaml names its place with `labgrid: {coordinator:
    HOST:PORT, place: NAME}`; `hil run --board NAME` then acquires that place
    for the whole run (docs/lab.md).  Exit 2 when a coordinator is unreachable.

    \b
    Examples:
      hil lab
      hil lab --coordinator lab-server:20408 --json
    """
    from hil.device.labgrid_place import list_places

    boards = load_boards(boards_path(obj.boards if obj else None)).boards
    docs = []
    for address in _coordinators(coordinator, boards):
        doc = list_places(address, timeout_s)
        for p in doc["places"]:
            p["boards"] = sorted(n for n, b in boards.items()
                                 if b.labgrid is not None and b.labgrid.coordinator == address
                                 and b.labgrid.place == p["place"])
        docs.append(doc)
    if as_json:
        ui.print_json({"coordinators": docs})
        return
    for doc in docs:
        _print(doc)


def _print(doc: dict) -> None:
    t = Table(title=f"labgrid places on {doc['coordinator']}", title_justify="left", box=box.SIMPLE_HEAD,
              pad_edge=False)
    for col in ("place", "state", "boards", "resources"):
        t.add_column(col, overflow="fold")
    for p in doc["places"]:
        if p["free"]:
            state = "[green]free[/green]"
        else:
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(p["since"])) if p["since"] else "?"
            state = f"[yellow]held by {p['acquired_by']}[/yellow] since {since}"
        t.add_row(f"[bold]{p['place']}[/bold]", state, ", ".join(p["boards"]) or "-", ", ".join(p["matches"]) or "-")
    ui.console.print(t)
    r = Table(title=f"resources exported to {doc['coordinator']}", title_justify="left", box=box.SIMPLE_HEAD,
              pad_edge=False)
    for col in ("exporter/group/name", "class", "where", "state"):
        r.add_column(col, overflow="fold")
    for e in doc["resources"]:
        where = ":".join(str(e["params"][k]) for k in ("host", "port") if k in e["params"]) or "-"
        state = ("in place " + e["acquired_by_place"]) if e["acquired_by_place"] else \
            ("available" if e["available"] else "[red]unavailable[/red]")
        r.add_row(f"{e['exporter']}/{e['group']}/{e['name']}", e["cls"], where, state)
    ui.console.print(r)
