"""The typed model of ``report.json``: what a run measured, one class per section.

``report.json`` is ``Report.to_json()``; readers (gates, the HTML and JUnit
reports, the nightly history) read typed fields.  A new metric is one field
here plus the function that computes it.  ``schema_version`` says which shape
a file has: version 1 is the report of hil 0.1 (no ``schema_version`` key);
:func:`load_report` reads every version into this model, keeping the version
the file was written with.

Sections keep keys the model does not name (``extra="allow"``): ARCHITECTURE.md
lets a report carry more keys, and an old reader must not drop a newer
writer's keys.  Every section can be read like the JSON document it is
(``report["agreement"]["top1"]``), so code written against the dictionary keeps
working.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hil.errors import ConfigError

SCHEMA_VERSION = 2


class Section(BaseModel):
    """Base of every section: extra keys kept, readable by key as well as by attribute."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self, key, None)
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return key in self.model_fields or key in (self.model_extra or {})

    def keys(self) -> list[str]:
        return [*self.model_fields, *(self.model_extra or {})]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]


class ClassScores(Section):
    precision: float
    recall: float
    f1: float
    support: int


class Thresholded(Section):
    """The same metrics over the windows whose top probability reaches ``threshold``."""

    accuracy: float
    f1_macro: float
    dropped: float
    threshold: float | None = None


class Metrics(Section):
    accuracy: float
    f1_macro: float
    f1_weighted: float
    per_class: dict[str, ClassScores]
    confusion: list[list[int]]
    thresholded: Thresholded
    windows: int | None = None


class BackendMetrics(Section):
    """Metrics of each backend on the same windows (keras is None when no Keras model is at hand)."""

    keras: Metrics | None = None
    tflite: Metrics | None = None
    tflm_host: Metrics | None = None
    device: Metrics | None = None


class Agreement(Section):
    """Device int8 outputs against a reference's (TFLite BUILTIN_REF unless said otherwise)."""

    windows: int = 0
    top1: float | None = None
    exact_match: float | None = None
    max_abs_diff_lsb: int | None = None
    rmse: float | None = None
    cosine: float | None = None


class Stats(Section):
    min: float
    median: float
    p95: float
    max: float
    mean: float | None = None


class Latency(Section):
    """``cycles`` holds counts in ``unit`` (CPU cycles, or QEMU guest instructions); ``ms`` only on a real chip."""

    unit: str
    counts_per_tick: int = 1
    clock_hz: int | None = None
    cycles: Stats | None = None
    ms: Stats | None = None


class Memory(Section):
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    ram_bytes: int | None = None


class GateCheck(Section):
    name: str
    value: float | None
    limit: float
    passed: bool
    comparison: str  # ">=" or "<="
    unit: str = ""


class Gates(Section):
    passed: bool
    checks: list[GateCheck]


class TensorQuant(Section):
    scale: float
    zero_point: int
    shape: list[int]


class ModelFacts(Section):
    sha256: str
    params: int | None
    tflite_bytes: int
    name: str | None = None
    profile: str | None = None
    input: TensorQuant | None = None
    output: TensorQuant | None = None


class FirmwareFacts(Section):
    sha256: str | None
    text: int | None
    data: int | None
    bss: int | None
    path: str | None = None


class DatasetFacts(Section):
    name: str
    path: str
    split: str
    class_counts: dict[str, int]
    fingerprint: str | None = None
    limit: int | None = None


class StreamFacts(Section):
    scored: int
    resumed: int
    recoveries: int
    seconds: float
    errors: list[str] = Field(default_factory=list)


class BaselineFacts(Section):
    """The run this one was compared with (hil/history/baseline.py); None when there was none."""

    run_id: str
    series: str | None = None
    same_series: bool = True
    created: str | None = None
    run_dir: str | None = None
    pinned: bool = False
    notes: list[str] = Field(default_factory=list)
    deltas: dict[str, dict[str, float | None]] = Field(default_factory=dict)


class Measurements(Section):
    """The numbers gates are checked against: a report, or the part of one a gate test builds."""

    metrics: BackendMetrics
    agreement: Agreement
    latency: Latency
    memory: Memory


class Report(Measurements):
    """report.json.  Required: what ARCHITECTURE.md promises; the rest has defaults so old files load."""

    schema_version: int = SCHEMA_VERSION
    hil_version: str | None = None
    run_id: str | None = None
    created: str | None = None
    board: str
    engine: str
    emulated: bool | None = None
    windows: int
    class_names: list[str] = Field(default_factory=list)
    timings: dict[str, float]
    model: ModelFacts
    firmware: FirmwareFacts
    dataset: DatasetFacts
    agreement_tflm_host: Agreement | None = None
    distinct_outputs: dict[str, int] = Field(default_factory=dict)
    references_agree: dict[str, float] = Field(default_factory=dict)
    device_info: dict[str, Any] = Field(default_factory=dict)
    flash: dict[str, Any] = Field(default_factory=dict)
    stream: StreamFacts | None = None
    files: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list, description="What the reader should know, e.g. constant outputs.")
    gates: Gates | None = None
    baseline: BaselineFacts | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document, keys in declaration order, extras kept."""
        return self.model_dump(mode="json")


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A report document of any known version, in the current shape (its schema_version kept)."""
    doc = dict(doc)
    version = doc.setdefault("schema_version", 1)
    if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version!r}: this hil reads versions 1 to {SCHEMA_VERSION}")
    # Version 1 had no `warnings`; its constant-output warning lived only on the terminal.
    if version == 1:
        doc.setdefault("warnings", [])
    return doc


def load_report(path: Path | str) -> Report:
    """Reads a report.json of any schema version; a ConfigError names the file and the first bad key."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such report") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable JSON report ({exc})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a JSON object, got {type(doc).__name__}")
    try:
        return Report.model_validate(upgrade(doc))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{path}: key {where!r}: {err['msg']}") from None
        raise ConfigError(f"{path}: {exc}") from None
