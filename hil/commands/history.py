"""``hil history``: the trend table, ``import``, ``pin`` and the HTML ``report``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.commands.options import json_option

history_option = click.option(
    "--history", "history", type=click.Path(path_type=Path), envvar="HIL_HISTORY", default=None,
    help="History file (env HIL_HISTORY; default history.sqlite beside the runs folder).")


def _fmt(v, change=None) -> str:
    if v is None:
        return "—"
    s = f"{v:,.4f}" if isinstance(v, float) and abs(v) < 10 else f"{v:,.0f}"
    if change:
        s += f" ({change:+,.4g})"
    return s


@click.group("history", invoke_without_command=True)
@click.option("--board", default=None, help="Only runs of this board.")
@click.option("--engine", default=None, help="Only runs of this engine.")
@click.option("--last", type=int, default=20, show_default=True, help="The newest N runs.")
@history_option
@json_option()
@click.pass_context
def command(ctx, board, engine, last, history, as_json) -> None:
    """Every recorded run, newest first, each number with its change against the previous run of its series.

    \b
    Examples:
      hil history --board qemu-m4 --last 10
      hil history import runs/20240101-020000-qemu-m4
      hil history pin 20240101-020000-qemu-m4
      hil history report --out runs/trends
    """
    ctx.ensure_object(dict)
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"history": history, "parent": ctx.obj}
        return
    from hil.history import open_history
    from hil.history.trend import TREND_COLUMNS, trend

    with open_history(history) as h:
        rows = trend(h, board=board, engine=engine, last=last)
    if as_json:
        ui.print_json(rows)
        return
    t = Table(title=f"hil history · {len(rows)} runs", title_justify="left")
    for col in ("run", "board", "engine", "exit", *(c[0] for c in TREND_COLUMNS), "failed"):
        t.add_column(col)
    for r in rows:
        cols = [_fmt(r["columns"][c[0]]["value"], r["columns"][c[0]]["change"]) for c in TREND_COLUMNS]
        failed = ", ".join(r["failed_gates"]) or (r["error"] or "")[:40]
        t.add_row(r["run_id"] + (" 📌" if r["pinned"] else ""), r["board"], r["engine"] or "—", str(r["exit_status"]),
                  *cols, failed)
    ui.console.print(t)


def _history_path(ctx) -> Path | None:
    return (ctx.obj or {}).get("history")


@command.command("import")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx, run_dirs) -> None:
    """Adds finished run folders (their report.json, any schema version) to the history.

    \b
    Example:
      hil history import runs/*
    """
    from hil.history import facts, open_history
    from hil.scoring.report_model import load_report

    with open_history(_history_path(ctx)) as h:
        for d in run_dirs:
            rep = load_report(d / "report.json")
            code = 0 if rep.gates is None or rep.gates.passed else 1
            for row in facts.run_rows(rep, d, code):  # a run of several engines: one row per engine
                h.record(row)
                ui.info(f"imported {row['run_dir']} (run {row['run_id']}, schema version {rep.schema_version}, "
                        f"exit {row['exit_status']})")


@command.command("pin")
@click.argument("run_id")
@click.pass_context
def pin_command(ctx, run_id) -> None:
    """Makes RUN_ID the baseline of its series (for --baseline last-pass) until another is pinned.

    \b
    Example:
      hil history pin 20240101-020000-qemu-m4
    """
    from hil.history import open_history

    with open_history(_history_path(ctx)) as h:
        row = h.pin(run_id)
    ui.info(f"pinned {run_id} as the baseline of series {row['series']}")


@command.command("report")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for index.html.")
@click.pass_context
def report_command(ctx, out) -> None:
    """Writes a static HTML trend page: per series, plots over time, regressions marked, links to each run.

    \b
    Example:
      hil history report --out runs/trends
    """
    from hil.history import open_history
    from hil.history.page import write_page

    with open_history(_history_path(ctx)) as h:
        page = write_page(h, out)
    ui.info(f"wrote {page}")
