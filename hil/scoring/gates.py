"""Quality gates: defaults from the model config (``gates:``), overrides from ``--gate KEY=VALUE``.

A gate with no limit (None) is not checked.  A gate whose value could not be
measured (e.g. no Keras metrics) fails rather than passing silently.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Mapping

from pydantic import ValidationError

from hil.config import GatesCfg
from hil.errors import ConfigError


@dataclass
class GateCheck:
    name: str
    value: float | None
    limit: float
    passed: bool
    comparison: str  # ">=" or "<="
    unit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        desc = fields[key].description if key in fields else ""
        raise ConfigError(f"--gate {key}={values.get(key)}: {err['msg']}" + (f" ({desc})" if desc else "")) from None


def _get(doc: Mapping[str, Any], path: str) -> Any:
    cur: Any = doc
    for part in path.split("."):
        if not isinstance(cur, Mapping) or cur.get(part) is None:
            return None
        cur = cur[part]
    return cur


def evaluate(gates: GatesCfg, report: Mapping[str, Any]) -> dict[str, Any]:
    """Checks every gate with a limit against the report's numbers: {passed, checks: [...]}."""
    checks: list[GateCheck] = []

    def at_least(name: str, value: Any, limit: float | None, unit: str = "") -> None:
        if limit is not None:
            ok = value is not None and value >= limit
            checks.append(GateCheck(name, value, limit, ok, ">=", unit))

    def at_most(name: str, value: Any, limit: float | None, unit: str = "") -> None:
        if limit is not None:
            ok = value is not None and value <= limit
            checks.append(GateCheck(name, value, limit, ok, "<=", unit))

    at_least("top1_agreement", _get(report, "agreement.top1"), gates.top1_agreement)
    at_least("exact_match", _get(report, "agreement.exact_match"), gates.exact_match)
    keras, device = _get(report, "metrics.keras.accuracy"), _get(report, "metrics.device.accuracy")
    drop = None if keras is None or device is None else round(keras - device, 12)
    at_most("max_accuracy_drop", drop, gates.max_accuracy_drop)
    # Latency in ms on a real chip, else in the board's own unit (cycles / emulated instructions).
    lat = report.get("latency") or {}
    if lat.get("ms"):
        at_most("max_latency", _get(lat, "ms.median"), gates.max_latency, "ms")
    else:
        at_most("max_latency", _get(lat, "cycles.median"), gates.max_latency, lat.get("unit", ""))
    at_most("max_arena_bytes", _get(report, "memory.arena_bytes"), gates.max_arena_bytes, "bytes")
    at_most("max_flash_bytes", _get(report, "memory.flash_bytes"), gates.max_flash_bytes, "bytes")
    return {"passed": all(c.passed for c in checks), "checks": [c.as_dict() for c in checks]}
