"""Reader for LSAD-style WFDB records (``WFDBRecords/NN/NNN/JSxxxxx.{hea,mat}``) and any folder of WFDB records.

Headers and signals are read with ``wfdb`` (signals in physical units, mV).  Before
``wfdb`` sees a header, its first line is checked here so that a malformed one
gives a message naming the file instead of a parser traceback, and a header
whose first line names another record is caught (copies of LSAD found elsewhere
do both).  Comment lines may be written ``#Dx: ...`` (PhysioNet) or ``# Dx: ...``.

Every way a record can be unusable is a :class:`RecordError` with a stable
``reason`` (see :data:`SKIP_REASONS`), so the store can count skips by reason.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hil.data.labels import DxError, parse_dx
from hil.errors import DataError

# reason -> what it means (shown by `hil data info`).  `no_class` is an
# exclusion, not a defect: the record is valid but carries no code of any class.
SKIP_REASONS: dict[str, str] = {
    "unreadable_header": "the .hea file cannot be read or is not text",
    "malformed_header": "the header's first line is not '<record> <signals> <rate> <samples>'",
    "record_name_mismatch": "the header's first line names another record",
    "missing_signal": "the signal file named in the header does not exist",
    "unreadable_signal": "the signal file is truncated or cannot be decoded",
    "wrong_rate": "sampling rate differs from dataset.sample_rate",
    "wrong_length": "sample count differs from dataset.duration_s x sample_rate",
    "wrong_leads": "number of leads differs from dataset.leads",
    "bad_units": "signal units are not a voltage",
    "nan_lead": "a lead holds NaN / invalid samples",
    "flat_lead": "a lead is constant (disconnected electrode)",
    "missing_dx": "no Dx codes in the header",
    "bad_dx": "a Dx entry is not a list of SNOMED-CT numbers",
    "duplicate_id": "another record already has this record id (patient)",
    "no_class": "valid record, but none of its Dx codes belongs to a configured class (not used)",
}
# Skips that `--strict` does not turn into an error: the record is fine, just not part of the task.
EXCLUSIONS = frozenset({"no_class"})

_RECORD_LINE = re.compile(
    r"^(?P<name>[-\w]+)(?P<seg>/\d+)?[ \t]+(?P<n_sig>\d+)[ \t]+(?P<fs>\d+(?:\.\d*)?)(?:/[\d.]+)?(?:\([-\d.]*\))?"
    r"[ \t]+(?P<sig_len>\d+)(?:[ \t].*)?$"
)
_COMMENT = re.compile(r"^#\s*(?P<key>[A-Za-z][\w ]*?)\s*:\s*(?P<value>.*?)\s*$")
_UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}


class RecordError(DataError):
    """One record cannot be used; ``reason`` is a key of :data:`SKIP_REASONS`."""

    def __init__(self, record: str, reason: str, detail: str) -> None:
        super().__init__(f"{record}: {detail}")
        self.record, self.reason, self.detail = record, reason, detail


@dataclass
class Header:
    name: str
    path: Path  # record path without extension
    n_sig: int
    fs: float
    sig_len: int
    comments: dict[str, str] = field(default_factory=dict)  # key (lower-case) -> value

    @property
    def age(self) -> int | None:
        v = self.comments.get("age", "")
        return int(v) if v.isdigit() else None

    @property
    def sex(self) -> str | None:
        v = self.comments.get("sex", "").strip()
        return v if v and v.lower() not in ("unknown", "nan") else None

    def dx_codes(self) -> list[int]:
        """SNOMED-CT codes of the ``Dx`` comment; RecordError(missing_dx / bad_dx) if absent or malformed."""
        raw = self.comments.get("dx")
        if raw is None or not raw.strip():
            raise RecordError(self.name, "missing_dx", f"{self.path}.hea has no Dx codes")
        try:
            codes = parse_dx(raw)
        except DxError as exc:
            raise RecordError(self.name, "bad_dx", f"{self.path}.hea: {exc}") from None
        if not codes:
            raise RecordError(self.name, "missing_dx", f"{self.path}.hea has an empty Dx entry")
        return codes


@dataclass
class Record:
    """One record in physical units: ``signal`` is float32 [leads, samples] in mV."""

    header: Header
    signal: np.ndarray
    lead_names: list[str]
    codes: list[int]

    @property
    def name(self) -> str:
        return self.header.name

    @property
    def fs(self) -> float:
        return self.header.fs


def find_records(root: Path) -> list[Path]:
    """Record paths (without extension) of every ``.hea`` under ``root``, sorted by relative path."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder", hint="pass the folder that holds WFDBRecords/ (or .hea files)")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".hea"):
                found.append(Path(dirpath) / f[:-4])
    return found


def read_header(path: Path | str) -> Header:
    """Parse and check a header (``path`` with or without ``.hea``)."""
    path = Path(path)
    if path.suffix == ".hea":
        path = path.with_suffix("")
    hea = path.with_name(path.name + ".hea")
    name = path.name
    try:
        text = hea.read_text(encoding="ascii", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(name, "unreadable_header", f"{hea}: cannot read ({exc})") from None
    lines = [ln.rstrip("\r") for ln in text.split("\n")]
    spec = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not spec:
        raise RecordError(name, "malformed_header", f"{hea}: empty header (no record line)")
    first = spec[0].strip()
    m = _RECORD_LINE.match(first)
    if m is None:
        raise RecordError(
            name,
            "malformed_header",
            f"{hea}: malformed first line {first[:80]!r}; a WFDB header starts with "
            f"'<record> <signals> <rate> <samples>', e.g. '{name} 12 500 5000'",
        )
    if m["seg"]:
        raise RecordError(name, "malformed_header", f"{hea}: multi-segment records are not supported")
    if m["name"] != name:
        raise RecordError(
            name, "record_name_mismatch", f"{hea}: first line names record {m['name']!r}, but the file is {name!r}"
        )
    comments: dict[str, str] = {}
    for ln in lines:
        c = _COMMENT.match(ln.strip())
        if c:
            comments.setdefault(c["key"].strip().lower(), c["value"])
    return Header(name, path, int(m["n_sig"]), float(m["fs"]), int(m["sig_len"]), comments)


def check_shape(h: Header, sample_rate: float, leads: int, samples: int) -> None:
    if not math.isclose(h.fs, sample_rate):
        raise RecordError(h.name, "wrong_rate", f"{h.path}.hea: {h.fs:g} Hz, expected {sample_rate:g} Hz")
    if h.n_sig != leads:
        raise RecordError(h.name, "wrong_leads", f"{h.path}.hea: {h.n_sig} leads, expected {leads}")
    if h.sig_len != samples:
        raise RecordError(h.name, "wrong_length", f"{h.path}.hea: {h.sig_len} samples, expected {samples}")


def read_record(
    path: Path | str,
    *,
    sample_rate: float | None = 500,
    leads: int | None = 12,
    samples: int | None = 5000,
    require_dx: bool = True,
) -> Record:
    """Read and validate one record; raises :class:`RecordError` (a DataError) with the reason."""
    import wfdb  # imported here: worker processes pay for it only when they read

    h = read_header(path)
    if sample_rate is not None and leads is not None and samples is not None:
        check_shape(h, sample_rate, leads, samples)
    codes = h.dx_codes() if require_dx else []
    try:
        rec = wfdb.rdrecord(str(h.path), physical=True, return_res=32)
    except FileNotFoundError as exc:
        raise RecordError(h.name, "missing_signal", f"{h.path}.hea: signal file missing ({exc.filename})") from None
    except Exception as exc:  # wfdb raises bare Exception/ValueError on truncated or foreign files
        raise RecordError(h.name, "unreadable_signal", f"{h.path}: cannot read the signal ({exc})") from None
    sig = rec.p_signal
    if sig is None or sig.ndim != 2 or sig.shape[0] != h.sig_len or sig.shape[1] != h.n_sig:
        got = None if sig is None else tuple(sig.shape)
        raise RecordError(h.name, "unreadable_signal", f"{h.path}: signal has shape {got}, header says ({h.sig_len}, {h.n_sig})")
    scale = np.ones(h.n_sig, dtype=np.float64)
    for i, unit in enumerate(rec.units or ["mV"] * h.n_sig):
        factor = _UNIT_TO_MV.get(str(unit).strip().lower())
        if factor is None:
            raise RecordError(h.name, "bad_units", f"{h.path}.hea: lead {i} has units {unit!r}, expected mV")
        scale[i] = factor
    x = (sig * scale).T.astype(np.float32)
    names = list(rec.sig_name or [f"lead{i}" for i in range(h.n_sig)])
    bad = ~np.isfinite(x)
    if bad.any():
        lead = int(np.argmax(bad.any(axis=1)))
        raise RecordError(h.name, "nan_lead", f"{h.path}: lead {names[lead]} holds {int(bad[lead].sum())} invalid samples")
    ptp = x.max(axis=1) - x.min(axis=1)
    if (ptp == 0).any():
        lead = int(np.argmax(ptp == 0))
        raise RecordError(h.name, "flat_lead", f"{h.path}: lead {names[lead]} is constant ({x[lead, 0]:g} mV)")
    return Record(h, x, names, codes)
