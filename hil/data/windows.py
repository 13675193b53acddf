"""Windows: (record, lead, start) triples at the model rate, and turning them into arrays.

A window is ``frame_size`` samples (800 = 8 s at 100 Hz) of one lead of a record
resampled to the model rate.  The lead is fixed (``windows.lead: 1``) or drawn per
window (``random``, as the guide); the start is drawn uniformly.  Validation
and test windows are drawn once with the split seed and written to disk, so
every stage and every board scores exactly the same windows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from hil.errors import DataError

_SPLIT_SALT = {"train": 1, "val": 2, "test": 3}


@dataclass(frozen=True)
class WindowRef:
    record: str
    lead: int
    start: int  # in samples at the model rate


@dataclass
class Windows:
    x: np.ndarray  # float32 [N, frame], preprocessed
    y: np.ndarray  # int64 [N]
    refs: list[WindowRef] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.y)


def draw_windows(
    patients: Sequence[str],
    per_patient: int,
    lead: int | str,
    n_leads: int,
    n_samples: int,
    frame: int,
    rng: np.random.Generator,
) -> list[WindowRef]:
    """``per_patient`` windows for each patient, in a shuffled order (so a prefix is a fair sample)."""
    if n_samples < frame:
        raise DataError(f"records have {n_samples} samples at the model rate, fewer than frame_size {frame}")
    if isinstance(lead, int) and not 0 <= lead < n_leads:
        raise DataError(f"windows.lead {lead} is out of range: records have {n_leads} leads (0..{n_leads - 1})")
    n = len(patients) * per_patient
    recs = np.repeat(np.arange(len(patients)), per_patient)
    leads = rng.integers(0, n_leads, n) if lead == "random" else np.full(n, int(lead))
    starts = rng.integers(0, n_samples - frame + 1, n)
    order = rng.permutation(n)
    return [WindowRef(patients[recs[i]], int(leads[i]), int(starts[i])) for i in order]


def split_rng(seed: int, split: str) -> np.random.Generator:
    return np.random.default_rng([seed, _SPLIT_SALT[split]])


def write_refs(path: Path, refs: Sequence[WindowRef], labels: Sequence[int]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["index", "record", "lead", "start", "label"])
        for i, (r, y) in enumerate(zip(refs, labels)):
            w.writerow([i, r.record, r.lead, r.start, int(y)])
    tmp.replace(path)


def read_refs(path: Path) -> tuple[list[WindowRef], np.ndarray]:
    refs: list[WindowRef] = []
    ys: list[int] = []
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                refs.append(WindowRef(row["record"], int(row["lead"]), int(row["start"])))
                ys.append(int(row["label"]))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the window list ({exc})", hint="delete the data folder to rebuild it") from None
    return refs, np.asarray(ys, dtype=np.int64)


def gather(sig: np.ndarray, gains: np.ndarray, rows: np.ndarray, leads: np.ndarray, starts: np.ndarray, frame: int) -> np.ndarray:
    """float32 [N, frame] in mV from the int16 store array ``sig`` [records, leads, samples]."""
    if len(rows) == 0:
        return np.zeros((0, frame), np.float32)
    idx = starts[:, None] + np.arange(frame)[None, :]
    x = sig[rows[:, None], leads[:, None], idx].astype(np.float32)
    return x / gains[rows][:, None]
