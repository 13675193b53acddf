"""``hil nightly PLAN.yaml``: the nightly regression over a plan's boards and engines."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from hil import ui


@click.command("nightly")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--night", default=None, help="Name of the night's folder under the runs folder (default night-<time>).")
@click.option("--check", is_flag=True, help="Only check the plan (boards, engines, keys) and exit.")
def command(plan_file, night, check) -> None:
    """Runs every (board, engine[, kernels]) entry of PLAN_FILE, retrying infrastructure failures.

    Every attempt is recorded in the history; the night's folder holds
    nightly-junit.xml (a test case per entry and gate) and summary/index.html.
    Exit: 0 all passed, 1 a gate or regression failed, 2 infrastructure still
    failing after the retries, 3 the plan is wrong (nothing ran). See docs/nightly.md.

    \b
    Examples:
      hil nightly nightly.yaml
      hil nightly nightly.yaml --check
    """
    from hil.nightly import JUNIT, SUMMARY, load_plan, run_nightly

    plan = load_plan(plan_file)
    if check:
        ui.info(f"{plan_file}: {len(plan.entries)} entries, all boards and engines known")
        return
    code, night_dir = run_nightly(plan, night)
    ui.info(f"nightly exit {code}: {night_dir / JUNIT}, {night_dir / SUMMARY / 'index.html'}")
    if code:
        sys.exit(code)
