"""Reading back the #defines of a generated model header (test helper: the firmware reads them, the host never does)."""

from __future__ import annotations

import re
from pathlib import Path

_DEFINE = re.compile(r"^#define\s+(\w+)\s+(.+?)\s*$", re.M)


def read_header_defines(path: Path) -> dict[str, str]:
    """``#define NAME value`` pairs of a generated header (for checks against the manifest)."""
    return {m.group(1): m.group(2) for m in _DEFINE.finditer(Path(path).read_text())}


def parse_c_number(text: str) -> float:
    t = text.strip().strip("()").rstrip("uUfF")
    return float(t)
