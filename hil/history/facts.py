"""What a run contributes to the history: its row, its numbers and its series key."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

from hil.scoring.report_model import Report

SERIES_KEYS = ("board", "engine", "kernels", "model_name", "dataset_fingerprint", "split")


def kernels_of(rep: Report) -> str | None:
    """The kernel set, when the report names one (its own field, else the firmware's)."""
    k = rep.kernels or rep.firmware.kernels
    return None if k is None else str(k)


def series_key(fields: dict[str, Any]) -> str:
    """Runs compare within a series: board, engine, kernels, model name, dataset fingerprint, split."""
    return "|".join("-" if fields.get(k) is None else str(fields[k]) for k in SERIES_KEYS)


def numbers(rep: Report) -> dict[str, float]:
    """Every number a trend or a regression gate reads, by a flat name."""
    out: dict[str, float] = {}
    for backend in ("keras", "tflite", "tflm_host", "device"):
        m = getattr(rep.metrics, backend)
        if m is not None:
            out[f"accuracy.{backend}"] = m.accuracy
            out[f"f1_macro.{backend}"] = m.f1_macro
    for key in ("top1", "exact_match", "max_abs_diff_lsb", "rmse", "cosine"):
        v = getattr(rep.agreement, key)
        if v is not None:
            out[f"agreement.{key}"] = v
    for unit, stats in (("latency", rep.latency.cycles), ("latency_ms", rep.latency.ms)):
        if stats is not None:
            for k in ("min", "median", "p95", "max", "mean"):
                if getattr(stats, k) is not None:
                    out[f"{unit}.{k}"] = getattr(stats, k)
    for k in ("arena_bytes", "flash_bytes", "ram_bytes"):
        if getattr(rep.memory, k) is not None:
            out[f"memory.{k}"] = getattr(rep.memory, k)
    for op, ticks in _profile_totals(rep).items():
        out[f"profile.{op}"] = ticks
    return out


def _profile_totals(rep: Report) -> dict[str, float]:
    """Per-op-type totals of the run's own engine (report.json ``profile``; one entry per engine)."""
    for prof in rep.profile:
        if prof.engine == rep.engine or len(rep.profile) == 1:
            return {t.op: t.counts for t in prof.by_type}
    return {}


def git_commit() -> str | None:
    """The commit of the hil checkout this runs from, when it is one."""
    try:
        out = subprocess.run(["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def tflm_commit(engine: str | None) -> str | None:
    """The TFLM tree's checked-out commit for a tflm run, else the pinned one."""
    if engine != "tflm":
        return None
    root = os.environ.get("HIL_TFLM_ROOT")
    if root:
        try:
            out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    from hil.deps import tree

    return tree("tflm").commit


def report_row(rep: Report, run_dir: Path | None, exit_status: int, *, retries: int = 0,
               infra_error: str | None = None) -> dict[str, Any]:
    """The history row of a finished run."""
    fields = {
        "run_id": rep.run_id or (run_dir.name if run_dir else None), "created": rep.created,
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hil_version": rep.hil_version,
        "git_commit": git_commit(), "board": rep.board, "engine": rep.engine, "kernels": kernels_of(rep),
        "model_name": rep.model.name, "model_sha256": rep.model.sha256, "firmware_sha256": rep.firmware.sha256,
        "tflm_commit": tflm_commit(rep.engine), "dataset_fingerprint": rep.dataset.fingerprint,
        "split": rep.dataset.split, "windows": rep.windows, "run_dir": str(run_dir.resolve()) if run_dir else None,
        "exit_status": exit_status, "passed": None if rep.gates is None else int(rep.gates.passed),
        "infra_error": infra_error, "retries": retries,
        "baseline_run_id": rep.baseline.run_id if rep.baseline else None,
        "numbers": numbers(rep),
        "gates": [] if rep.gates is None else [c.model_dump(mode="json") for c in rep.gates.checks],
        "report": rep.to_json(),
    }
    fields["series"] = series_key(fields)
    return fields


def run_rows(rep: Report, run_dir: Path, exit_status: int) -> list[dict[str, Any]]:
    """The rows of a finished run folder: its own, or for a run of several engines one per engine series
    (each engine's own report.json in its folder; an engine that wrote none has no row)."""
    from hil.scoring.engines import engine_reports
    from hil.scoring.report_model import load_report

    if not rep.engines:
        return [report_row(rep, run_dir, exit_status)]
    rows = []
    for folder, path in engine_reports(rep, run_dir):
        sub = load_report(path)
        rows.append(report_row(sub, folder, 0 if sub.gates is None or sub.gates.passed else 1))
    return rows


def failure_row(run_id: str, board: str, engine: str | None, model_name: str | None, run_dir: Path | None,
                exit_status: int, error: str, *, retries: int = 0) -> dict[str, Any]:
    """The row of an attempt that ended before a report (an infrastructure or usage error)."""
    from hil import __version__

    fields = {"run_id": run_id, "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hil_version": __version__,
              "git_commit": git_commit(), "board": board, "engine": engine, "model_name": model_name,
              "run_dir": str(run_dir.resolve()) if run_dir else None, "exit_status": exit_status,
              "infra_error": error, "retries": retries}
    fields["series"] = None  # no dataset fingerprint: never a baseline, shown in the table
    return fields
