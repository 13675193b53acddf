"""Numbers a run reports: agreement of device outputs with a reference, latency, memory, metrics.

Everything here is a pure function of arrays and dictionaries so it can be
tested without a device and recomputed from ``results.jsonl`` alone.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from hil.config import Board
from hil.quant import dequantize


def agreement(device: np.ndarray, reference: np.ndarray, *, scale: float = 1.0, zero_point: int = 0) -> dict[str, Any]:
    """How closely int8 ``device`` outputs [N, C] follow ``reference`` [N, C] (normally TFLite's).

    top1: share of windows with the same arg-max; exact_match: share with
    bit-identical outputs; max_abs_diff_lsb and rmse in int8 steps (LSB);
    cosine: mean per-window cosine similarity of the dequantised logits
    (1.0 for two identical vectors, including two all-zero ones).
    """
    d = np.asarray(device, dtype=np.int64)
    r = np.asarray(reference, dtype=np.int64)
    if d.shape != r.shape:
        raise ValueError(f"device outputs {d.shape} and reference {r.shape} differ in shape")
    if d.size == 0:
        return {"windows": 0, "top1": None, "exact_match": None, "max_abs_diff_lsb": None, "rmse": None, "cosine": None}
    diff = d - r
    df, rf = dequantize(d, scale, zero_point), dequantize(r, scale, zero_point)
    num = np.sum(df * rf, axis=1)
    den = np.linalg.norm(df, axis=1) * np.linalg.norm(rf, axis=1)
    same = np.all(diff == 0, axis=1)
    cos = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.where(same, 1.0, 0.0))
    return {
        "windows": int(d.shape[0]),
        "top1": float(np.mean(np.argmax(d, axis=1) == np.argmax(r, axis=1))),
        "exact_match": float(np.mean(same)),
        "max_abs_diff_lsb": int(np.max(np.abs(diff))),
        "rmse": float(np.sqrt(np.mean(diff.astype(np.float64) ** 2))),
        "cosine": float(np.clip(np.mean(cos), -1.0, 1.0)),
    }


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "min": float(np.min(values)),
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "max": float(np.max(values)),
        "mean": float(np.mean(values)),
    }


def latency(ticks: Sequence[int] | np.ndarray, board: Board) -> dict[str, Any]:
    """Latency of the invokes from raw timer ticks.

    counts = ticks x board.timer.counts_per_tick, in ``board.timer.unit``
    (``cycles`` on a real chip, ``qemu_instructions`` under QEMU -icount).
    Milliseconds only for real cycles (cycles / clock); an emulator's
    instruction count is not time on any chip, so ``ms`` is None there.
    """
    t = np.asarray(ticks, dtype=np.float64)
    out: dict[str, Any] = {
        "unit": board.timer.unit,
        "counts_per_tick": board.timer.counts_per_tick,
        "clock_hz": board.clock_hz,
        "cycles": None,
        "ms": None,
    }
    if t.size == 0:
        return out
    counts = t * board.timer.counts_per_tick
    out["cycles"] = _stats(counts)
    if board.timer.unit == "cycles" and not board.emulated:
        out["ms"] = _stats(counts / board.clock_hz * 1e3)
    return out


def memory(size: Mapping[str, Any] | None, arena_bytes: int | None) -> dict[str, Any]:
    """Flash = text + data (initialised data is stored in flash), RAM = data + bss; arena as reported by INFO."""
    size = size or {}
    text, data, bss = (size.get(k) for k in ("text", "data", "bss"))
    flash = size.get("flash_bytes", text + data if text is not None and data is not None else None)
    ram = size.get("ram_bytes", data + bss if data is not None and bss is not None else None)
    return {"arena_bytes": arena_bytes, "flash_bytes": flash, "ram_bytes": ram}


def metrics(y_true: np.ndarray, scores: np.ndarray, class_names: list[str], threshold: float) -> dict[str, Any]:
    """classification_metrics of the model helper, on logits (dequantised for int8 backends).

    The scores keep their dtype: float64 dequantised logits are exact (see hil.quant.dequantize).
    """
    from hil.model.evaluate import classification_metrics

    return classification_metrics(np.asarray(y_true), np.asarray(scores), class_names, threshold)
