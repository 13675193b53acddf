"""What ``hil run`` does with the history: compare with the baseline before the
report is written, record the run after."""

from __future__ import annotations

from pathlib import Path

from hil import ui
from hil.config import GatesCfg
from hil.history import baseline as bl
from hil.history import facts
from hil.history.db import History, open_history
from hil.scoring.report_model import BaselineFacts, Gates, Report


def with_baseline(history: History, spec: str, rep: Report, gates: GatesCfg, *, emulated: bool) -> Report:
    """``rep`` with its baseline facts and the regression gates added to its gates."""
    row = facts.report_row(rep, None, 0)
    base = bl.choose(history, spec, row["series"], rep.run_id)
    if base is None:
        if spec == bl.LAST_PASS:
            ui.info("  baseline: none yet in this series (the first passing run becomes it)")
        return rep
    checks, notes = bl.regression_checks(gates, rep, row["numbers"], base, emulated=emulated)
    same = base.get("series") == row["series"]
    if not same:
        notes.append(f"the baseline {base['run_id']} is from another series ({base.get('series')})")
    rep.baseline = BaselineFacts(run_id=base["run_id"], series=base.get("series"), same_series=same,
                                 created=base.get("created"), run_dir=base.get("run_dir"),
                                 pinned=bool(base.get("pinned")), notes=notes,
                                 deltas=bl.deltas(row["numbers"], base))
    old = rep.gates.checks if rep.gates else []
    rep.gates = Gates(passed=all(c.passed for c in [*old, *checks]), checks=[*old, *checks])
    for n in notes:
        ui.info(f"  [yellow]baseline: {n}[/yellow]")
    ui.info(f"  baseline: {base['run_id']}" + (" (pinned)" if base.get("pinned") else ""))
    return rep


def record(path: Path | None, rep: Report, run_dir: Path, exit_status: int) -> None:
    """Adds the finished run to the history; a failure warns (the report is on disk, importable later)."""
    try:
        with open_history(path) as h:
            h.record(facts.report_row(rep, run_dir, exit_status))
    except Exception as exc:  # noqa: BLE001 -- the run's own result stands; say how to recover the row
        ui.info(f"[yellow]warning: the run was not recorded in the history ({exc}); "
                f"`hil history import {run_dir}` adds it later[/yellow]")


def record_failure(path: Path | None, run_dir: Path, board: str, engine: str | None, model_name: str | None,
                   exc: Exception, *, run_id: str | None = None) -> None:
    """An attempt that ended before its report: its error and exit status are history too.

    ``run_id``: the row's id (default the folder's name; an engine of a run of several has its own)."""
    from hil.errors import HilError

    code = exc.exit_code if isinstance(exc, HilError) else 2
    # A resumed or re-tried folder keeps one row: the newest attempt's.
    row = facts.failure_row(run_id or run_dir.name, board, engine, model_name, run_dir, code, str(exc))
    try:
        with open_history(path) as h:
            existing = h.get(row["run_id"])
            if existing is not None and existing.get("report") is not None:
                return  # a finished run of that folder is not overwritten by a later failed resume
            h.record(row)
    except Exception as exc2:  # noqa: BLE001 -- the original error is what the user must see
        ui.info(f"[yellow]warning: the failed run was not recorded in the history ({exc2})[/yellow]")
