"""Which earlier run a new one is compared with, and the regression gates against it.

``last-pass`` (the default) is the series' pinned run if there is one, else its
newest run that passed every gate; ``none`` compares with nothing; any other
value is a run id of the history (of any series: comparing two engines is a
normal question, and the report then says the baseline is from another series).
"""

from __future__ import annotations

from typing import Any

from hil.config import GatesCfg
from hil.errors import ConfigError
from hil.history.db import History
from hil.scoring.report_model import GateCheck, Report

LAST_PASS = "last-pass"
NONE = "none"


def check_spec(history: History, spec: str) -> None:
    """Refuses an unknown explicit baseline before anything long runs."""
    if spec in (LAST_PASS, NONE):
        return
    row = history.get(spec)
    if row is None:
        raise ConfigError(f"--baseline {spec!r}: no such run in {history.path} "
                          f"(use last-pass, none, or an id from `hil history`)")
    if row.get("report") is None:
        raise ConfigError(f"--baseline {spec!r}: that run has no report (it failed before scoring)")


def choose(history: History, spec: str, series: str, run_id: str | None) -> dict[str, Any] | None:
    """The baseline row for a run of ``series`` (never the run itself), or None."""
    if spec == NONE:
        return None
    if spec != LAST_PASS:
        check_spec(history, spec)
        return history.get(spec)
    other = "AND run_id != ?" if run_id else ""
    params: tuple = (series, run_id) if run_id else (series,)
    pinned = history.rows(f"series = ? AND pinned = 1 AND report IS NOT NULL {other}", params, last=1)
    if pinned:
        return pinned[0]
    passed = history.rows(f"series = ? AND exit_status = 0 AND report IS NOT NULL {other}", params, last=1)
    return passed[0] if passed else None


def _n(row: dict[str, Any], key: str) -> float | None:
    return (row.get("numbers") or {}).get(key)


def regression_checks(gates: GatesCfg, rep: Report, new: dict[str, float], base: dict[str, Any],
                      *, emulated: bool) -> tuple[list[GateCheck], list[str]]:
    """Regression gates of ``rep`` (numbers ``new``) against the baseline row; and what could not be compared."""
    checks: list[GateCheck] = []
    notes: list[str] = []

    def check(name: str, value: float | None, limit: float | None, unit: str) -> None:
        if limit is None or value is None:
            return
        checks.append(GateCheck(name=f"regression.{name}", value=round(value, 9), limit=limit,
                                passed=value <= limit, comparison="<=", unit=unit))

    same_windows = (base.get("windows") == rep.windows and base.get("split") == rep.dataset.split
                    and base.get("dataset_fingerprint") == rep.dataset.fingerprint)
    if same_windows:
        b_lat, n_lat = _n(base, "latency.median"), new.get("latency.median")
        same_unit = ((base.get("report") or {}).get("latency") or {}).get("unit") == rep.latency.unit
        if b_lat and n_lat is not None and same_unit:
            limit = gates.max_latency_growth_pct_emulated if emulated else gates.max_latency_growth_pct
            check("latency_growth", (n_lat - b_lat) / b_lat * 100.0, limit, "%")
        for name, key, limit in (("accuracy_drop", "accuracy.device", gates.max_accuracy_drop_vs_baseline),
                                 ("agreement_drop", "agreement.top1", gates.max_agreement_drop)):
            b, n = _n(base, key), new.get(key)
            if b is not None and n is not None:
                check(name, b - n, limit, "")
    else:
        notes.append(f"the baseline scored {base.get('windows')} windows of {base.get('split')!r} "
                     f"(dataset {base.get('dataset_fingerprint')}), this run {rep.windows} of "
                     f"{rep.dataset.split!r}: latency, accuracy and agreement are not compared")
    for name, limit in (("arena_bytes", gates.max_arena_growth_bytes), ("flash_bytes", gates.max_flash_growth_bytes),
                        ("ram_bytes", gates.max_ram_growth_bytes)):
        b, n = _n(base, f"memory.{name}"), new.get(f"memory.{name}")
        if b is not None and n is not None:
            check(f"{name.replace('_bytes', '')}_growth", n - b, limit, "bytes")
    return checks, notes


def deltas(new: dict[str, float], base: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Every number of either run: baseline, this run, difference."""
    old = base.get("numbers") or {}
    out = {}
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        out[key] = {"baseline": a, "run": b, "delta": None if a is None or b is None else b - a}
    return out
