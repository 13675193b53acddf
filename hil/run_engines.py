"""``hil run --engines A,B`` (or ``all``): the same windows through each engine's image in turn, one report.

Each engine runs as a one-engine run in ``engines/<label>/`` of the run folder (its own results.jsonl, logs,
report.json and history row), so ``--resume`` continues each engine where it stopped.  The engines run in
order; the first one that fails ends the run with its exit status (2 for infrastructure), after the run's
report is written from the engines that finished, saying which failed and which did not run.
"""

from __future__ import annotations

from typing import Any

from hil import ui
from hil.errors import EXIT_GATE_FAILED, EXIT_OK, HilError
from hil.run import FILES, EngineRun, Plan, RunResult, Shared, _identity, _record_failure, _write_meta, run_engine
from hil.scoring import engines as eng
from hil.scoring import report as report_mod
from hil.scoring.runner import RESULTS, ResultsStore

# The run folder's own files; each engine's results and logs are in its folder (report.json `files`).
TOP_FILES = {k: FILES[k] for k in ("config", "junit", "html")}


def run_engines(plan: Plan, runs: list[EngineRun], shared: Shared) -> RunResult:
    meta = {**_identity(plan, shared), "engines": [r.choice.name for r in runs], "labels": [r.label for r in runs]}
    shared.created = _write_meta(plan, plan.run_dir, meta, shared, None)
    entries, results, failure = [], [], None
    for k, er in enumerate(runs):
        rel = er.run_dir.relative_to(plan.run_dir).as_posix()
        if failure is not None:
            entries.append(eng.failed(er.choice.name, er.label, er.choice.engine.kernels, rel, er.choice.reason,
                                      f"not run: engine {failure[0].label} failed before it", _scored(er)))
            continue
        ui.info(f"[bold]engine {k + 1} of {len(runs)}: {er.label}[/bold] in {er.run_dir}")
        try:
            res, after = run_engine(plan, er, shared)
        except HilError as exc:
            _record_failure(plan, er.run_dir, er.run_id, er.choice.name, exc)
            entries.append(eng.failed(er.choice.name, er.label, er.choice.engine.kernels, rel, er.choice.reason,
                                      str(exc), _scored(er)))
            failure = (er, exc)
            continue
        if after is not None:
            _record_failure(plan, er.run_dir, er.run_id, er.choice.name, after)
            failure = (er, after)
        results.append((er.label, res))
        entries.append(eng.finished(er.label, rel, res.report, res.ticks, er.choice.reason,
                                    None if after is None else str(after)))
    if not results:
        raise failure[1]  # no engine finished: nothing to report beyond its results.jsonl
    rep = _write(plan, entries, results, shared)
    for e in entries:
        ui.info(f"  {eng.summary_line(e)}")
    if failure is not None:
        raise _failed(plan, *failure)
    return RunResult(plan.run_dir, rep, EXIT_OK if rep.gates.passed else EXIT_GATE_FAILED, None, None)


def _scored(er: EngineRun) -> int:
    return len(ResultsStore(er.run_dir / RESULTS).load()) if (er.run_dir / RESULTS).exists() else 0


def _write(plan: Plan, entries: list[Any], results: list[tuple[str, RunResult]], shared: Shared) -> Any:
    """The run's report.html, junit.xml and report.json (last: its presence means the run finished)."""
    rep = eng.combine(plan.run_dir.name, entries, [r.report for _, r in results], TOP_FILES,
                      shared.timer.timings, plan.notes)
    plots = results[0][1].plots
    plots.engine_ticks = {label: r.ticks for label, r in results}
    with shared.timer.stage("report", "the run's report over every engine"):
        report_mod.write_html(plan.run_dir, rep, plots)
    report_mod.write_junit(plan.run_dir, rep)
    report_mod.write_report_json(plan.run_dir, rep)
    return rep


def _failed(plan: Plan, er: EngineRun, exc: HilError) -> HilError:
    """The engine's error, naming it and what the run kept, with the error's own exit status."""
    err = HilError(f"engine {er.label}: {exc}", hint=exc.hint or (
        f"the other engines' results and the report are in {plan.run_dir}; finish the run with "
        f"hil run --resume --out {plan.run_dir} (same options)"))
    err.exit_code = exc.exit_code
    err.retryable = exc.retryable
    return err

