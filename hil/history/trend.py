"""The trend table and the side-by-side comparison of two runs, as data (the commands render them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.errors import ConfigError
from hil.history import facts
from hil.history.db import History
from hil.scoring.report_model import load_report

# (column, number key, higher is better)
TREND_COLUMNS = (
    ("accuracy", "accuracy.device", True),
    ("top-1 agr.", "agreement.top1", True),
    ("latency", "latency.median", False),
    ("arena B", "memory.arena_bytes", False),
    ("flash B", "memory.flash_bytes", False),
    ("RAM B", "memory.ram_bytes", False),
)
HIGHER_IS_BETTER = ("accuracy.", "f1_macro.", "agreement.top1", "agreement.exact_match", "agreement.cosine")


def trend(history: History, *, board: str | None = None, engine: str | None = None,
          last: int | None = None) -> list[dict[str, Any]]:
    """Runs newest first, each number with its change against the previous run of the same series."""
    where, params = ["1"], []
    for col, val in (("board", board), ("engine", engine)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    rows = history.rows(" AND ".join(where), tuple(params))
    out = []
    for i, r in enumerate(rows[: last or len(rows)]):
        prev = next((p for p in rows[i + 1:] if r["series"] and p["series"] == r["series"] and p["report"]), None)
        cols = {}
        for name, key, _ in TREND_COLUMNS:
            v = (r["numbers"] or {}).get(key)
            pv = None if prev is None else (prev["numbers"] or {}).get(key)
            cols[name] = {"value": v, "change": None if v is None or pv is None else v - pv}
        out.append({"run_id": r["run_id"], "created": r["created"] or r["recorded"], "board": r["board"],
                    "engine": r["engine"], "kernels": r["kernels"], "series": r["series"],
                    "exit_status": r["exit_status"], "pinned": bool(r["pinned"]), "retries": r["retries"],
                    "error": r["infra_error"], "baseline": r["baseline_run_id"],
                    "failed_gates": [g["name"] for g in r["gates"] if not g["passed"]], "columns": cols})
    return out


def resolve(history: History | None, ref: str) -> tuple[str, dict[str, float], dict[str, Any]]:
    """A run by history id or by run folder: (label, numbers, identity)."""
    path = Path(ref)
    if (path / "report.json").exists() or path.name == "report.json":
        rep = load_report(path if path.name == "report.json" else path / "report.json")
        row = facts.report_row(rep, path if path.is_dir() else path.parent, 0)
        return ref, row["numbers"], {k: row[k] for k in facts.SERIES_KEYS}
    row = history.get(ref) if history is not None else None
    if row is None:
        raise ConfigError(f"{ref!r}: neither a run folder with report.json nor a run id of the history"
                          + (f" {history.path}" if history else ""))
    return ref, row["numbers"], {k: row.get(k) for k in facts.SERIES_KEYS}


def verdict(key: str, a: float | None, b: float | None) -> str:
    if a is None or b is None:
        return "missing"
    if a == b:
        return "same"
    better = (b > a) == key.startswith(HIGHER_IS_BETTER)
    return "better" if better else "worse"


def compare(history: History | None, a_ref: str, b_ref: str) -> dict[str, Any]:
    """Every number of A and B side by side with B - A and a verdict (B against A)."""
    a_label, a, a_id = resolve(history, a_ref)
    b_label, b, b_id = resolve(history, b_ref)
    rows = [{"metric": k, "a": a.get(k), "b": b.get(k),
             "delta": None if a.get(k) is None or b.get(k) is None else b[k] - a[k],
             "verdict": verdict(k, a.get(k), b.get(k))} for k in sorted(set(a) | set(b))]
    return {"a": a_label, "b": b_label, "same_series": a_id == b_id,
            "identity": {"a": a_id, "b": b_id}, "metrics": rows}
