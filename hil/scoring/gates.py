"""Quality gates: defaults from the model config (``gates:``), overrides from ``--gate KEY=VALUE``.

A gate with no limit (None) is not checked.  A gate whose value could not be
measured (e.g. no Keras metrics) fails rather than passing silently.
"""

from __future__ import annotations

import difflib
import typing
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from hil.config import GatesCfg
from hil.errors import ConfigError
from hil.scoring.report_model import GateCheck, Gates, Measurements


def _parse_value(key: str, text: str) -> float | int | None:
    t = text.strip().lower()
    if t in ("none", "null", "off", ""):
        return None
    try:
        return int(t, 0) if t.lstrip("-").isdigit() or t.startswith("0x") else float(t)
    except ValueError:
        raise ConfigError(f"--gate {key}={text}: {text!r} is not a number (or 'none' to disable the gate)") from None


def apply_overrides(base: GatesCfg, overrides: Iterable[str]) -> GatesCfg:
    """``base`` with each ``KEY=VALUE`` applied; a ConfigError names the key, the allowed keys and ranges."""
    fields = GatesCfg.model_fields
    values = base.model_dump()
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"--gate {item!r}: expected KEY=VALUE, e.g. --gate top1_agreement=0.99")
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"--gate {item!r}: unknown gate {key!r}; gates: {', '.join(fields)}.{hint}")
        values[key] = _parse_value(key, text)
    try:
        return GatesCfg(**values)
    except ValidationError as exc:
        key = ".".join(str(p) for p in exc.errors()[0]["loc"])
        if key not in fields:
            raise ConfigError(f"--gate {key}={values.get(key)}: {exc.errors()[0]['msg']}") from None
        info = fields[key]
        optional = type(None) in typing.get_args(info.annotation)
        what = "this gate cannot be disabled" if values.get(key) is None and not optional else "out of range"
        desc = f" ({info.description.rstrip('.')})" if info.description else ""
        raise ConfigError(f"--gate {key}={'none' if values.get(key) is None else values.get(key)}: {what}; "
                          f"gate {key} takes {_range_text(info)}{', or none to disable it' if optional else ''}"
                          f"{desc}") from None


def _range_text(info: Any) -> str:
    """The bounds of a gate's field in words, e.g. 'a number from 0 to 1'."""
    low = high = None
    low_open = False
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            low = m.ge
        if getattr(m, "gt", None) is not None:
            low, low_open = m.gt, True
        if getattr(m, "le", None) is not None:
            high = m.le
    if low is not None and high is not None:
        return f"a number from {low:g} to {high:g}"
    if low is not None:
        return f"a number {'greater than' if low_open else 'at least'} {low:g}"
    return "a number"


def evaluate(gates: GatesCfg, m: Measurements | Mapping[str, Any]) -> Gates:
    """Checks every gate with a limit against the measured numbers."""
    if not isinstance(m, Measurements):
        m = Measurements.model_validate(m)
    checks: list[GateCheck] = []

    def check(name: str, value: float | None, limit: float | None, comparison: str, unit: str = "") -> None:
        if limit is None:
            return
        ok = value is not None and (value >= limit if comparison == ">=" else value <= limit)
        checks.append(GateCheck(name=name, value=value, limit=limit, passed=ok, comparison=comparison, unit=unit))

    check("top1_agreement", m.agreement.top1, gates.top1_agreement, ">=")
    check("exact_match", m.agreement.exact_match, gates.exact_match, ">=")
    keras, device = m.metrics.keras, m.metrics.device
    drop = None if keras is None or device is None else round(keras.accuracy - device.accuracy, 12)
    check("max_accuracy_drop", drop, gates.max_accuracy_drop, "<=")
    # Latency in ms on a real chip, else in the board's own unit (cycles / emulated instructions).
    lat = m.latency
    if lat.ms is not None:
        check("max_latency", lat.ms.median, gates.max_latency, "<=", "ms")
    else:
        check("max_latency", lat.cycles.median if lat.cycles else None, gates.max_latency, "<=", lat.unit)
    check("max_arena_bytes", m.memory.arena_bytes, gates.max_arena_bytes, "<=", "bytes")
    check("max_flash_bytes", m.memory.flash_bytes, gates.max_flash_bytes, "<=", "bytes")
    return Gates(passed=all(c.passed for c in checks), checks=checks)
