"""Writing records in exactly LSAD's on-disk format.

LSAD (PhysioNet ecg-arrhythmia 1.0.0) stores each record as
``WFDBRecords/NN/NNN/JSxxxxx.hea`` + ``.mat``: a MATLAB v4 file holding one
int16 matrix ``val`` [leads, samples] (column-major, so the samples are
interleaved by lead -- WFDB format ``16`` at byte offset 24), and a header
with one signal line per lead and ``#Key: value`` comments.  ``wfdb``'s own
header writer spells gains as ``1000.0(0)/mV`` and comments as ``# Dx:``, so
the header is formatted here to match the database byte for byte (a test
rebuilds a real record and compares).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.io

LEAD_NAMES = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
MAT_HEADER_BYTES = 24  # 20-byte v4 matrix header + "val\0"


def leaf_folder(index: int) -> str:
    """LSAD-style folder of the ``index``-th record (1-based): 100 per leaf, 10 leaves per group.

    JS00001..JS00100 -> ``01/010``, JS00101 -> ``01/011``, JS01001 -> ``02/020``.
    """
    leaf = 10 + (index - 1) // 100
    return f"{leaf // 10:02d}/{leaf:03d}"


def wfdb_checksum(digital: np.ndarray) -> np.ndarray:
    """WFDB's per-signal checksum: the 16-bit two's-complement sum of the samples ([samples, leads] in)."""
    s = digital.astype(np.int64).sum(axis=0) & 0xFFFF
    return np.where(s >= 0x8000, s - 0x10000, s)


def header_text(
    name: str,
    digital: np.ndarray,
    fs: int,
    gain: int,
    lead_names: Sequence[str],
    comments: Sequence[tuple[str, str]],
) -> str:
    n, leads = digital.shape
    lines = [f"{name} {leads} {fs} {n}"]
    checks = wfdb_checksum(digital)
    for i in range(leads):
        lines.append(f"{name}.mat 16+{MAT_HEADER_BYTES} {gain}/mV 16 0 {int(digital[0, i])} {int(checks[i])} 0 {lead_names[i]}")
    lines += [f"#{k}: {v}" for k, v in comments]
    return "\n".join(lines) + "\n"


def write_record(
    folder: Path,
    name: str,
    digital: np.ndarray,
    *,
    fs: int = 500,
    gain: int = 1000,
    lead_names: Sequence[str] = LEAD_NAMES,
    age: int | None = None,
    sex: str | None = None,
    codes: Sequence[int] = (),
    extra_comments: Sequence[tuple[str, str]] = (("Rx", "Unknown"), ("Hx", "Unknown"), ("Sx", "Unknown")),
) -> Path:
    """Write ``name.hea`` + ``name.mat`` (``digital`` int16 [samples, leads], ``gain`` units per mV)."""
    digital = np.asarray(digital)
    if digital.dtype != np.int16:
        raise ValueError(f"{name}: digital samples must be int16, got {digital.dtype}")
    folder.mkdir(parents=True, exist_ok=True)
    comments = [
        ("Age", str(age) if age is not None else "Unknown"),
        ("Sex", sex or "Unknown"),
        ("Dx", ",".join(str(c) for c in codes)),
        *extra_comments,
    ]
    # savemat(format="4") writes column-major: passing [leads, samples] interleaves leads per sample.
    scipy.io.savemat(folder / f"{name}.mat", {"val": np.ascontiguousarray(digital.T)}, format="4")
    (folder / f"{name}.hea").write_text(header_text(name, digital, fs, gain, lead_names, comments))
    return folder / name


def write_records_file(folder: Path, names: Sequence[str]) -> None:
    """The leaf folder's ``RECORDS`` file (names joined by newlines, no trailing newline, as LSAD ships it)."""
    (folder / "RECORDS").write_text("\n".join(names))
