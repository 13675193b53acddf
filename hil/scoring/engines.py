"""A run of several engines (``hil run --engines``): each engine's entry, and the one report over all of them.

Every engine streams the same windows in a run folder of its own (``engines/<label>/``, a complete one-engine
run with its own report.json); the run's report is the first finished engine's, with ``engines`` (one
:class:`EngineRun` each), every engine's gate checks (each naming its engine) and every engine's profile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hil.scoring.report_model import EngineLatency, EngineRun, Gates, ProfileTotals, Report

ENGINES_DIR = "engines"
PASSED, FAILED, ERROR = "passed", "failed", "error"


def engine_dir(run_dir: Path, label: str) -> Path:
    """Where one engine of a run of several keeps its results, logs and one-engine report."""
    return Path(run_dir) / ENGINES_DIR / label


def _latency(rep: Report, ticks: np.ndarray) -> EngineLatency:
    counts = np.asarray(ticks, dtype=np.float64) * rep.latency.counts_per_tick
    stats = {k: float(np.percentile(counts, q)) for k, q in (("median", 50), ("p90", 90), ("max", 100))} \
        if counts.size else {}
    return EngineLatency(unit=rep.latency.unit, ms_median=rep.latency.ms.median if rep.latency.ms else None, **stats)


def _profile(rep: Report) -> ProfileTotals | None:
    prof = next((p for p in rep.profile if p.engine == rep.engine), rep.profile[0] if rep.profile else None)
    if prof is None:
        return None
    return ProfileTotals(unit=prof.unit, invoke=prof.invoke, total=prof.total, overhead_share=prof.overhead_share,
                         by_type={t.op: t.counts for t in prof.by_type})


def finished(label: str, rel_dir: str, rep: Report, ticks: np.ndarray, reason: str | None,
             error: str | None = None) -> EngineRun:
    """The entry of an engine that has a report (``error``: what failed after it, e.g. its diagnosis)."""
    passed = rep.gates is not None and rep.gates.passed
    device = rep.metrics.device
    return EngineRun(
        engine=rep.engine, label=label, kernels=rep.kernels, dir=rel_dir,
        status=ERROR if error else (PASSED if passed else FAILED), reason=reason, error=error,
        windows=len(ticks), firmware_sha256=rep.firmware.sha256, latency=_latency(rep, ticks), memory=rep.memory,
        accuracy=device.accuracy if device else None, agreement=rep.agreement,
        agreement_tflm_host=rep.agreement_tflm_host, gates=rep.gates, profile=_profile(rep), timings=rep.timings)


def failed(engine: str, label: str, kernels: str | None, rel_dir: str, reason: str | None, error: str,
           scored: int) -> EngineRun:
    """The entry of an engine that stopped before its report (its results so far are in ``rel_dir``)."""
    return EngineRun(engine=engine, label=label, kernels=kernels, dir=rel_dir, status=ERROR, reason=reason,
                     error=error, windows=scored)


def combine(run_id: str, entries: Sequence[EngineRun], reports: Sequence[Report], files: dict[str, str],
            shared_timings: dict[str, float], notes: Sequence[str] = ()) -> Report:
    """The run's report: the first report's sections, every engine's entry, gates and profile."""
    first = reports[0]
    rep = first.model_copy(deep=True)
    rep.run_id = run_id
    rep.engines = list(entries)
    checks = [c.model_copy(update={"engine": e.label}) for e in entries if e.gates for c in e.gates.checks]
    complete = all(e.status != ERROR for e in entries)
    rep.gates = Gates(passed=complete and all(c.passed for c in checks), checks=checks)
    rep.profile = [p for r in reports for p in r.profile]
    rep.files = {**files, **{f"{k}:{e.label}": f"{e.dir}/{v}" for e in entries for k, v in _engine_files(first)}}
    rep.timings = _timings(shared_timings, [r.timings for r in reports])
    rep.warnings = [*first.warnings, *notes,
                    *(f"engine {e.label} did not finish: {e.error}" for e in entries if e.status == ERROR)]
    return rep


def _engine_files(rep: Report) -> list[tuple[str, str]]:
    return [(k, v) for k, v in rep.files.items() if k in ("results", "serial_log", "flash_log", "html")]


def _timings(shared: dict[str, float], per_engine: Sequence[dict[str, float]]) -> dict[str, float]:
    """The shared stages once, each engine's own stages added up over the engines."""
    out = dict(shared)
    for t in per_engine:
        for stage, seconds in t.items():
            if stage not in shared:
                out[stage] = round(out.get(stage, 0.0) + seconds, 3)
    return out


def failed_engines(rep: Report) -> list[EngineRun]:
    return [e for e in rep.engines or [] if e.status != PASSED]


def summary_line(e: EngineRun) -> str:
    """One engine's verdict in words, for the terminal summary."""
    if e.status == ERROR:
        return f"engine {e.label}: did not finish ({e.error})"
    bad = [c.name for c in (e.gates.checks if e.gates else []) if not c.passed]
    return f"engine {e.label}: " + ("passed" if not bad else f"gate failed: {', '.join(bad)}")


def engine_reports(rep: Report, run_dir: Path) -> list[tuple[Path, Any]]:
    """(folder, report.json path) of each engine of a run of several that wrote its report."""
    out = []
    for e in rep.engines or []:
        path = Path(run_dir) / e.dir / "report.json"
        if path.is_file():
            out.append((Path(run_dir) / e.dir, path))
    return out
