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
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from hil.errors import ConfigError

SCHEMA_VERSION = 2


def _rounded(digits: int) -> AfterValidator:
    return AfterValidator(lambda v: v if v is None else round(v, digits))


# Numbers as a reader wants them: a share or score to 6 digits (0.055, not 0.05500000000000005),
# seconds to the millisecond, milliseconds of latency to 0.1 us, counts of cycles or instructions as integers.
Share = Annotated[float, _rounded(6)]
Seconds = Annotated[float, _rounded(3)]
Millis = Annotated[float, _rounded(4)]
Count = Annotated[int, BeforeValidator(lambda v: round(v) if isinstance(v, float) else v)]
# A median of counts: an integer, or halfway between two (an even number of invokes).
MedianCount = Annotated[int | float, AfterValidator(lambda v: int(v) if float(v).is_integer() else round(v, 1))]


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
        return key in type(self).model_fields or key in (self.model_extra or {})

    def keys(self) -> list[str]:
        return [*type(self).model_fields, *(self.model_extra or {})]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, getattr(self, k)) for k in self.keys()]


class ClassScores(Section):
    precision: Share
    recall: Share
    f1: Share
    support: int


class Thresholded(Section):
    """The same metrics over the windows whose top probability reaches ``threshold``."""

    accuracy: Share
    f1_macro: Share
    dropped: Share  # share of windows set aside: their top probability is below the threshold
    threshold: float | None = None
    f1_weighted: Share | None = None
    per_class: dict[str, ClassScores] = Field(default_factory=dict)
    confusion: list[list[int]] | None = None
    windows: int | None = None


class Metrics(Section):
    accuracy: Share
    f1_macro: Share
    f1_weighted: Share
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
    top1: Share | None = None
    exact_match: Share | None = None
    max_abs_diff_lsb: int | None = None
    rmse: Share | None = None
    cosine: Share | None = None


class Stats(Section):
    """Milliseconds of latency."""

    min: Millis
    median: Millis
    p95: Millis
    max: Millis
    mean: Millis | None = None


class CountStats(Section):
    """Counts of cycles or instructions: whole numbers."""

    min: Count
    median: Count
    p95: Count
    max: Count
    mean: Count | None = None


class Latency(Section):
    """``cycles`` holds counts in ``unit`` (CPU cycles, or QEMU guest instructions); ``ms`` only on a real chip."""

    unit: str
    counts_per_tick: int = 1
    clock_hz: int | None = None
    cycles: CountStats | None = None
    ms: Stats | None = None


class Memory(Section):
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    ram_bytes: int | None = None


class GateCheck(Section):
    name: str
    value: Annotated[float | None, _rounded(9)]
    limit: float
    passed: bool
    comparison: str  # ">=" or "<="
    unit: str = ""
    engine: str | None = None  # a run of several engines: whose gate (the engine's label, e.g. tflm-cmsis-nn)


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
    kernels: str | None = None       # the engine's kernel set (tflm: cmsis-nn or reference)
    tflm_commit: str | None = None   # commit of the TFLM tree the image was built from


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
    seconds: Seconds
    errors: list[str] = Field(default_factory=list)


class ProfileOp(Section):
    index: int
    op: str
    output: str | None = None  # the op's output tensor name in the .tflite
    counts: MedianCount  # median over the profiled invokes, in the profile's unit
    share: Share  # of the ops' total


class ProfileOpType(Section):
    op: str
    ops: int
    counts: MedianCount
    share: Share


class EngineProfile(Section):
    """The per-op profile of one engine's image (report.json ``profile`` is a list, one per engine)."""

    engine: str
    unit: str  # the board's timer unit: qemu_instructions or cycles
    invokes: int  # invokes the medians are taken over
    ops: list[ProfileOp]
    by_type: list[ProfileOpType]
    total: MedianCount  # sum of the ops' medians
    invoke: MedianCount  # median of the whole invokes, measured around hil_engine_invoke()
    overhead_share: Share  # (invoke - total) / invoke: what no op accounts for


class LayerDiff(Section):
    """One op's output on the device against one host reference."""

    index: int
    op: str
    output: str | None = None
    max_abs_diff_lsb: float
    differing_share: float  # of the tensor's elements


class Divergence(Section):
    index: int
    op: str
    output: str | None = None
    references: list[str]  # the references the device departs from at this op
    max_abs_diff_lsb: float
    differing_share: float


class WindowDiagnosis(Section):
    window: int
    engine: str | None = None
    first_divergence: Divergence | None = None
    layers: dict[str, list[LayerDiff]] = Field(default_factory=dict)  # reference -> one entry per op
    references_diverge: Divergence | None = None  # where TFLite and TFLM on the host first disagree
    tensor: dict[str, Any] | None = None  # the first diverging tensor, device and reference (for the plot)


class Diagnosis(Section):
    """Layer-by-layer comparison of the device against both host references (DUMP)."""

    windows: list[WindowDiagnosis] = Field(default_factory=list)
    first_divergence: Divergence | None = None  # the earliest over the diagnosed windows
    seconds: float = 0.0
    complete: bool = True  # False: the time budget ended the diagnosis before every window
    error: str | None = None  # what stopped it (the run's results are kept)


class DeviceShare(Section):
    """One device of a run and the windows it scored (this invocation; resumed windows are not counted)."""

    device: int
    board: str
    scored: int
    recoveries: int = 0
    seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)


class DevicesFacts(Section):
    """How many devices streamed the run's windows, and each one's share (``--devices``, board lists)."""

    count: int
    shares: list[DeviceShare] = Field(default_factory=list)


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


class EngineLatency(Section):
    """Counts per inference of one engine, in ``unit`` (cycles, or QEMU guest instructions)."""

    unit: str
    median: Count | None = None
    p90: Count | None = None
    max: Count | None = None
    ms_median: Millis | None = None  # a real chip only


class ProfileTotals(Section):
    """One engine's per-op profile in totals: the whole invoke, the ops' sum, and the sum per op type."""

    unit: str
    invoke: float
    total: float
    overhead_share: float
    by_type: dict[str, float] = Field(default_factory=dict)


class EngineRun(Section):
    """One engine of a run of several (``--engines``): what it measured, or what stopped it.

    ``dir`` is the engine's own run folder, relative to the run's (results.jsonl, logs and its one-engine
    report.json); ``status`` is passed, failed (a gate) or error (the engine did not finish: ``error``)."""

    engine: str
    label: str
    kernels: str | None = None
    dir: str
    status: str
    reason: str | None = None
    error: str | None = None
    windows: int = 0  # windows with a result in the engine's results.jsonl
    firmware_sha256: str | None = None
    latency: EngineLatency | None = None
    memory: Memory | None = None
    accuracy: Share | None = None  # the device's accuracy with this engine
    agreement: Agreement | None = None  # vs TFLite BUILTIN_REF
    agreement_tflm_host: Agreement | None = None
    gates: Gates | None = None
    profile: ProfileTotals | None = None
    timings: dict[str, Seconds] = Field(default_factory=dict)


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
    created: str | None = Field(None, description="When the run started (a --resume keeps it).")
    reported: str | None = Field(None, description="When this report was computed (later than created after --resume).")
    board: str
    engine: str
    emulated: bool | None = None
    kernels: str | None = Field(None, description="Kernel set that ran (tflm: cmsis-nn or reference; None: aot).")
    engine_choice: dict[str, Any] | None = Field(
        None, description="{engine, reason}: why this engine ran, e.g. the board's tflm had no TFLM tree.")
    windows: int
    class_names: list[str] = Field(default_factory=list)
    timings: dict[str, Seconds]
    model: ModelFacts
    firmware: FirmwareFacts
    dataset: DatasetFacts
    agreement_tflm_host: Agreement | None = None
    distinct_outputs: dict[str, int] = Field(default_factory=dict)
    references_agree: dict[str, Share] = Field(default_factory=dict)
    device_info: dict[str, Any] = Field(default_factory=dict)
    flash: dict[str, Any] = Field(default_factory=dict)
    stream: StreamFacts | None = None
    devices: DevicesFacts | None = None
    files: dict[str, str] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list, description="What the reader should know, e.g. constant outputs.")
    gates: Gates | None = None
    profile: list[EngineProfile] = Field(default_factory=list, description="Per-op profile, one entry per engine.")
    diagnosis: Diagnosis | None = None
    baseline: BaselineFacts | None = None
    engines: list[EngineRun] | None = Field(
        None, description="A run of several engines: one entry each, in run order. The top-level sections are "
        "the first engine's, except `gates` (every engine's checks, each naming its engine) and `profile` (one "
        "entry per engine). None: a one-engine run.")

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
