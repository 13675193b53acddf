"""The per-op profile of a run: where the invoke's time goes, op by op and by op type.

After streaming, the same device session re-runs a few of the run's windows
(INFER, then PROFILE after each) so every op has several samples; the
section reports the median per op in the board's unit (``qemu_instructions``
under QEMU, ``cycles`` on a chip) next to the median of the whole invokes.
The raw samples go to ``profile.json`` in the run folder first, so a resumed
run or a report re-made later never loses them.

Profiling overhead: the engines read the timer once per op, so the op counts
add up to slightly less than the invoke's (the app's timer reads, the
engine's call and, on ``tflm``, the interpreter's loop between ops are no
op's). ``overhead_share`` is that part; docs/profile.md documents its bound
(:data:`OVERHEAD_BOUND`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hil.artifacts import write_json_atomic
from hil.config import Board
from hil.tflite import read_tflite

PROFILE_JSON = "profile.json"
PROFILE_WINDOWS = 5  # invokes profiled per run: enough for a stable median, a negligible cost
# The unattributed share of an invoke allowed by the profiling overhead (docs/profile.md).
OVERHEAD_BOUND = 0.10


def collect(client: Any, windows_int8: np.ndarray, engine: str, count: int = PROFILE_WINDOWS) -> dict[str, Any]:
    """Raw samples: INFER one window, PROFILE, for the first ``count`` windows (ticks as the device sent them)."""
    invokes: list[int] = []
    samples: list[list[int]] = []
    codes: list[int] = []
    names: list[str] = []
    for i in range(min(count, len(windows_int8))):
        (result,) = list(client.infer_stream([(i, windows_int8[i])]))
        ops = client.profile()
        invokes.append(int(result.cycles))
        samples.append([int(o.ticks) for o in ops])
        codes, names = [o.op_code for o in ops], [o.op_name for o in ops]
    return {"engine": engine, "windows": list(range(len(invokes))), "invoke_ticks": invokes,
            "op_ticks": samples, "op_codes": codes, "op_names": names}


def save(run_dir: Path, raw: list[dict[str, Any]]) -> Path:
    path = Path(run_dir) / PROFILE_JSON
    write_json_atomic(path, {"engines": raw})
    return path


def load(run_dir: Path) -> list[dict[str, Any]]:
    """The raw samples of an earlier streaming of this run ([] when there are none)."""
    try:
        return json.loads((Path(run_dir) / PROFILE_JSON).read_text())["engines"]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def section(raw: dict[str, Any], tflite: Path, board: Board) -> dict[str, Any] | None:
    """One engine's ``profile`` entry of report.json from its raw samples; None without samples."""
    samples = np.asarray(raw.get("op_ticks") or [], dtype=np.float64)
    if samples.ndim != 2 or samples.size == 0:
        return None
    per_tick = board.timer.counts_per_tick
    med = np.median(samples, axis=0) * per_tick
    invoke = float(np.median(raw["invoke_ticks"])) * per_tick
    total = float(med.sum())
    g = read_tflite(tflite)
    ops = []
    for i, counts in enumerate(med):
        op = g.operators[i] if i < len(g.operators) else None
        out = g.tensors[op.outputs[0]].name if op is not None and op.outputs else None
        ops.append({"index": i, "op": raw["op_names"][i], "output": out, "counts": float(counts),
                    "share": float(counts / total) if total else 0.0})
    return {"engine": raw["engine"], "unit": board.timer.unit, "invokes": len(samples), "ops": ops,
            "by_type": by_type(ops, total), "total": total, "invoke": invoke,
            "overhead_share": float(max(invoke - total, 0.0) / invoke) if invoke else 0.0}


def by_type(ops: Sequence[dict[str, Any]], total: float) -> list[dict[str, Any]]:
    """Counts per op type, largest first."""
    acc: dict[str, list[float]] = {}
    for o in ops:
        acc.setdefault(o["op"], []).append(o["counts"])
    rows = [{"op": k, "ops": len(v), "counts": float(sum(v)), "share": float(sum(v) / total) if total else 0.0}
            for k, v in acc.items()]
    return sorted(rows, key=lambda r: -r["counts"])
