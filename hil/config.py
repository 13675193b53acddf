"""Typed, validated configuration: ``boards.yaml`` and ``models/<name>/config.yaml``.

Everything a board or a model needs is declared here once, with its
documentation, and validated when the file is loaded.  A mistake becomes one
:class:`ConfigError` naming the file, the key path and what is allowed (with a
close match for a misspelt key) -- never a traceback.
"""

from __future__ import annotations

import difflib
import functools
import os
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError, core_schema

from hil.errors import ConfigError
from hil.schema import StrictModel as _Strict

# The built-in flashers' sections live with their flashers (hil/flashers/<kind>.py)
# and stay importable from here.
from hil.flashers.jlink import JlinkFlasher  # noqa: F401
from hil.flashers.pyocd import PyocdFlasher  # noqa: F401
from hil.flashers.qemu import QemuFlasher  # noqa: F401


DEFAULT_BOARDS_FILE = Path("boards.yaml")
DEFAULT_MODEL_DIR = Path("models/rhythm-4-effv2")


# --------------------------------------------------------------------------- boards


class Memory(_Strict):
    flash_bytes: int = Field(gt=0, description="On-chip flash (or emulated ROM) in bytes.")
    ram_bytes: int = Field(gt=0, description="SRAM available to the application in bytes.")


def flasher_union() -> Any:
    """The discriminated union of every registered flasher's section (what pydantic validates against)."""
    from hil.flashers import flasher_configs

    return Annotated[Union[flasher_configs()], Field(discriminator="kind")]


@functools.lru_cache(maxsize=8)
def _flasher_adapter(configs: tuple[type[BaseModel], ...]) -> TypeAdapter:
    return TypeAdapter(Annotated[Union[configs], Field(discriminator="kind")])


def _validate_flasher(value: Any) -> Any:
    from hil.flashers import flasher_configs

    # Raised inside a validator, pydantic nests these errors under the field's
    # location, tag included ('flasher.qemu.machin'), as for a static union.
    return _flasher_adapter(flasher_configs()).validate_python(value)


class _RegisteredFlasher:
    """Marks a field as "one of the registered flashers' sections, chosen by `kind`".

    A static discriminated union is fixed when Board is created; this one is
    looked up at validation time, so a flasher registered later is accepted.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(_validate_flasher)


Flasher = Annotated[BaseModel, _RegisteredFlasher]


def _check_engine(name: Any) -> Any:
    from hil.engines import engine_names

    names = engine_names()
    if name not in names:
        quoted = [repr(n) for n in names]
        expected = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        # The same error a Literal of the names gives, so messages stay as they were.
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})
    return name


EngineName = Annotated[str, BeforeValidator(_check_engine)]


class UsbMatch(_Strict):
    """Find the serial port by USB identity instead of a path (ports move between boots)."""

    vid: int = Field(description="USB vendor id, e.g. 0x1366 (SEGGER J-Link VCOM).")
    pid: int | None = None
    serial_number: str | None = None


class Link(_Strict):
    url: str | None = Field(
        None,
        description="pyserial URL: a device path, socket://, rfc2217:// or loop://. "
        "For qemu boards it is filled in when QEMU starts.",
    )
    usb: UsbMatch | None = None
    baud: int = Field(
        115200, gt=0,
        description="UART rate: the host opens the port at it and the firmware is built for it "
        "(HIL_UART_BAUD); QEMU ignores it. docs/link-speed.md.",
    )
    timeout_s: float = Field(5.0, gt=0, description="Timeout of one request (per window).")
    retries: int = Field(3, ge=0, description="Retries of a request after a link error or timeout.")
    inflight: int = Field(2, ge=1, le=8, description="Windows in flight at once (the firmware buffers the next).")


class Timer(_Strict):
    kind: Literal["systick", "dwt"]
    unit: Literal["cycles", "qemu_instructions"] = Field(
        description="What a reported count means: real CPU cycles, or emulated guest instructions."
    )
    counts_per_tick: int = Field(
        1, gt=0, description="Units per raw timer tick (SysTick under QEMU -icount shift=0: 40 instructions)."
    )


class LabgridCfg(_Strict):
    """The board is a labgrid place: acquired through the lab's coordinator for the whole run (docs/lab.md)."""

    coordinator: str = Field(pattern=r"^[A-Za-z0-9_.\-\[\]:]+:[0-9]{1,5}$",
                             description="The labgrid coordinator as HOST:PORT (labgrid's default port is 20408).")
    place: str = Field(min_length=1, description="The place's name on the coordinator (`labgrid-client places`).")
    probe_port: int = Field(5555, gt=0, lt=65536, description="TCP port of `pyocd server` on the exporter host "
                            "that has the probe (pyocd flasher only; pyOCD's default is 5555).")
    timeout_s: float = Field(10.0, gt=0, description="How long connecting to the coordinator may take.")


class Board(_Strict):
    name: str = Field("", description="The board's key in boards.yaml (filled in when the file is loaded).")
    description: str
    cpu: Literal["cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "host"]
    fpu: Literal["none", "fpv4-sp-d16", "fpv5-d16", "fpv5-sp-d16"]
    clock_hz: int = Field(gt=0, description="Core clock the firmware runs at.")
    memory: Memory
    port: str = Field(description="Folder under firmware/ports/ with the board's port.")
    engine: EngineName = Field(description="Default inference engine (a registered engine: hil.engines).")
    fallback_engine: EngineName | None = Field(
        None,
        description="Engine `hil run` uses when `engine` cannot be built here (e.g. tflm without a TFLM tree); "
        "the summary and report.json (`engine_choice`) say why. None: a missing tree is an error.",
    )
    kernels: Literal["cmsis-nn", "reference"] | None = Field(
        None,
        description="Kernel set of the tflm engine on this board: 'cmsis-nn' (TFLM's CMSIS-NN kernels, as Ambiq "
        "ships them) or 'reference' (TFLM's portable kernels). None: the engine's default (reference). "
        "Override with --kernels.",
    )
    emulated: bool = Field(False, description="True for emulators: timings are instruction counts, not time.")
    flasher: Flasher
    fallback_flasher: Flasher | None = Field(None, description="Tried when the main flasher's tool or probe is absent.")
    link: Link
    timer: Timer
    labgrid: LabgridCfg | None = Field(None, description="A labgrid place to acquire; its NetworkSerialPort is "
                                       "the link and its exporter host has the probe (docs/lab.md).")

    @model_validator(mode="after")
    def _consistent(self) -> "Board":
        if getattr(self.flasher, "kind", None) == "exporter" and self.labgrid is None:
            raise ValueError("flasher kind 'exporter' (the exporter host boots the image) needs a `labgrid` place")
        if self.emulated and self.timer.unit != "qemu_instructions":
            raise ValueError("an emulated board must report timer.unit 'qemu_instructions'")
        if not self.emulated and self.timer.unit != "cycles":
            raise ValueError("a real board must report timer.unit 'cycles'")
        return self


# What must be equal for one image to be right for every board of a list or group.
SAME_KIND = ("port", "cpu", "fpu", "clock_hz", "engine", "emulated")


class BoardsFile(_Strict):
    default: str = Field(description="Board used when --board is not given.")
    boards: dict[str, Board]
    groups: dict[str, list[str]] = Field(
        default_factory=dict, description="Board groups: a name standing for a list of boards of one kind, "
        "usable as --board GROUP (the run shares its windows between them).")

    @model_validator(mode="after")
    def _default_exists(self) -> "BoardsFile":
        if self.default not in self.boards:
            raise ValueError(f"default board {self.default!r} is not one of {sorted(self.boards)}")
        for key, board in self.boards.items():
            if board.name and board.name != key:
                raise ValueError(f"board {key!r} has name {board.name!r}: leave `name` out, the key is the name")
            board.name = key
        for group, members in self.groups.items():
            if group in self.boards:
                raise ValueError(f"groups.{group}: a board has that name; give the group another")
            unknown = [m for m in members if m not in self.boards]
            if not members or unknown or len(set(members)) != len(members):
                raise ValueError(f"groups.{group}: must list distinct boards of `boards`"
                                 + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
            first = self.boards[members[0]]
            for m in members[1:]:
                diff = [k for k in SAME_KIND if getattr(self.boards[m], k) != getattr(first, k)]
                if diff:
                    raise ValueError(f"groups.{group}: {m} differs from {members[0]} in {', '.join(diff)}; a group "
                                     "runs one image on boards of one kind")
        return self

    def expand(self, name: str | None) -> list[str]:
        """A board name as itself, a group name as its boards, None as the default board."""
        return list(self.groups[name]) if name in self.groups else [name or self.default]

    def get(self, name: str | None, source: Path | None = None) -> Board:
        name = name or self.default
        if name not in self.boards:
            close = difflib.get_close_matches(name, [*self.boards, *self.groups], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            where = f"{source}: " if source else ""
            raise ConfigError(
                f"{where}board {name!r} is not defined; known boards: {', '.join(sorted(self.boards))}"
                + (f"; groups: {', '.join(sorted(self.groups))}" if self.groups else "") + f".{hint}"
            )
        return self.boards[name]


# --------------------------------------------------------------------------- models


class DatasetCfg(_Strict):
    name: Literal["lsad"] = "lsad"
    url: str = Field(description="Archive of the PhysioNet database (override for a mirror).")
    sha256sums: str = Field("SHA256SUMS.txt", description="Checksum file inside the archive.")
    sample_rate: int = Field(500, gt=0)
    leads: int = Field(12, gt=0)
    duration_s: float = Field(10.0, gt=0)


class ClassesCfg(_Strict):
    names: list[str] = Field(min_length=2, description="Class names, in output-index order.")
    codes: dict[str, list[int]] = Field(description="SNOMED-CT codes per class name.")
    priority: list[str] | None = Field(
        None,
        description="When a record carries codes of several classes, the first class in this list wins "
        "(default: the order of `names`).",
    )

    @model_validator(mode="after")
    def _check(self) -> "ClassesCfg":
        if len(set(self.names)) != len(self.names):
            raise ValueError("class names must be unique")
        missing = [n for n in self.names if n not in self.codes]
        extra = [n for n in self.codes if n not in self.names]
        if missing or extra:
            raise ValueError(f"codes must have one entry per class name; missing {missing}, unknown {extra}")
        seen: dict[int, str] = {}
        for name, codes in self.codes.items():
            for c in codes:
                if c in seen:
                    raise ValueError(f"SNOMED-CT code {c} is listed under both {seen[c]} and {name}")
                seen[c] = name
        if self.priority is not None and sorted(self.priority) != sorted(self.names):
            raise ValueError("priority must list every class name exactly once")
        return self

    @property
    def code_to_class(self) -> dict[int, int]:
        return {c: self.names.index(n) for n, codes in self.codes.items() for c in codes}


class BandpassCfg(_Strict):
    low_hz: float = Field(1.0, gt=0)
    high_hz: float = Field(30.0, gt=0)
    order: int = Field(2, ge=1, le=8)

    @model_validator(mode="after")
    def _order(self) -> "BandpassCfg":
        if self.low_hz >= self.high_hz:
            raise ValueError("low_hz must be below high_hz")
        return self


class PreprocessCfg(_Strict):
    sample_rate: int = Field(100, gt=0, description="Rate the model sees (records are resampled to it).")
    frame_size: int = Field(800, gt=0, description="Samples per window.")
    znorm_eps: float = Field(0.01, ge=0, description="(x - mean) / sqrt(var + eps).")
    bandpass: BandpassCfg | None = None


class WindowsCfg(_Strict):
    lead: Literal["random"] | int = Field(
        "random", description="'random' picks a lead per window (as the guide); an int fixes one (0 = I, 1 = II)."
    )
    train_samples_per_patient: int = Field(5, gt=0)
    val_samples_per_patient: int = Field(5, gt=0)
    test_samples_per_patient: int = Field(5, gt=0)


class SplitCfg(_Strict):
    test_fraction: float = Field(0.2, gt=0, lt=1, description="Last share of sorted patient ids held out.")
    val_fraction: float = Field(0.2, gt=0, lt=1, description="Share of the rest used for validation.")
    seed: int = 42


class StemCfg(_Strict):
    filters: int = Field(gt=0)
    kernel_size: tuple[int, int]
    strides: tuple[int, int]
    activation: Literal["relu6", "relu", "swish"] = "relu6"


class BlockCfg(_Strict):
    filters: int = Field(gt=0)
    depth: int = Field(1, ge=1)
    kernel_size: tuple[int, int]
    strides: tuple[int, int] = (1, 1)
    ex_ratio: int = Field(1, ge=1)
    se_ratio: int = Field(4, ge=0, description="Squeeze-excite reduction (0 disables SE).")
    pool: tuple[int, int] | None = Field((1, 2), description="MaxPool after the depthwise conv, 'same' padding.")


class HeadCfg(_Strict):
    dropout: float = Field(0.2, ge=0, lt=1)


class ArchitectureCfg(_Strict):
    name: Literal["efficientnetv2_1d"] = "efficientnetv2_1d"
    stem: StemCfg
    blocks: list[BlockCfg] = Field(min_length=1)
    head: HeadCfg = HeadCfg()
    expected_params: int | None = Field(None, description="If set, building the network checks the count.")


class EarlyStoppingCfg(_Strict):
    monitor: str = "val_loss"
    patience: int = Field(10, ge=1)


class TrainingCfg(_Strict):
    batch_size: int = Field(256, gt=0)
    epochs: int = Field(100, gt=0)
    steps_per_epoch: int = Field(50, gt=0)
    learning_rate: float = Field(1e-3, gt=0)
    lr_schedule: Literal["cosine_restarts", "constant"] = "cosine_restarts"
    lr_cycles: int = Field(1, ge=1)
    loss: Literal["focal", "crossentropy"] = "focal"
    focal_gamma: float = Field(2.0, ge=0)
    class_weights: Literal["balanced", "none"] = "balanced"
    early_stopping: EarlyStoppingCfg | None = EarlyStoppingCfg()
    seed: int = 42


class TrainingProfileCfg(_Strict):
    """Overrides of :class:`TrainingCfg` (only the keys given)."""

    batch_size: int | None = Field(None, gt=0)
    epochs: int | None = Field(None, gt=0)
    steps_per_epoch: int | None = Field(None, gt=0)
    learning_rate: float | None = Field(None, gt=0)
    train_samples_per_patient: int | None = Field(None, gt=0)


class QuantizationCfg(_Strict):
    calibration_split: Literal["val"] = Field("val", description="Never the test set.")
    calibration_windows: int = Field(500, gt=0)
    input_type: Literal["int8"] = "int8"
    output_type: Literal["int8"] = "int8"
    max_accuracy_drop: float = Field(0.05, ge=0, le=1, description="Allowed Keras→TFLite accuracy loss.")


class ExportCfg(_Strict):
    var_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    header: str = Field(pattern=r"^[A-Za-z0-9_.-]+\.h$")


class EvaluationCfg(_Strict):
    threshold: float = Field(0.5, ge=0, le=1, description="Windows whose top probability is below are dropped.")


class GatesCfg(_Strict):
    top1_agreement: float = Field(1.0, ge=0, le=1, description="Device vs TFLite top-1 agreement, at least.")
    exact_match: float = Field(1.0, ge=0, le=1, description="Share of windows with bit-identical int8 outputs.")
    max_accuracy_drop: float = Field(0.05, ge=0, le=1, description="Keras accuracy minus device accuracy, at most.")
    max_latency: float | None = Field(None, gt=0, description="Median latency, at most (board's unit or ms).")
    max_arena_bytes: int | None = Field(None, gt=0)
    max_flash_bytes: int | None = Field(None, gt=0)
    # Regression gates: this run against its baseline (docs/nightly.md).
    max_latency_growth_pct: float | None = Field(
        2.0, ge=0, description="Real boards: median latency growth over the baseline, percent, at most "
        "(covers the cycle jitter that remains on a chip).")
    max_latency_growth_pct_emulated: float | None = Field(
        0.0, ge=0, description="Emulated boards: the same, where counts are exact and any growth is a change.")
    max_accuracy_drop_vs_baseline: float | None = Field(0.01, ge=0, le=1, description="Baseline device accuracy "
                                                        "minus this run's, at most.")
    max_agreement_drop: float | None = Field(0.0, ge=0, le=1, description="Baseline top-1 agreement minus this "
                                             "run's, at most.")
    max_arena_growth_bytes: int | None = Field(0, ge=0, description="Arena growth over the baseline, bytes.")
    max_flash_growth_bytes: int | None = Field(1024, ge=0, description="Flash growth over the baseline, bytes.")
    max_ram_growth_bytes: int | None = Field(1024, ge=0, description="RAM growth over the baseline, bytes.")


FULL_PROFILE = "full"


class ModelConfig(_Strict):
    name: str
    description: str = ""
    dataset: DatasetCfg
    classes: ClassesCfg
    preprocess: PreprocessCfg
    windows: WindowsCfg = WindowsCfg()
    split: SplitCfg = SplitCfg()
    architecture: ArchitectureCfg
    training: TrainingCfg = TrainingCfg()
    profiles: dict[str, TrainingProfileCfg] = Field(default_factory=dict)
    quantization: QuantizationCfg = QuantizationCfg()
    export: ExportCfg
    evaluation: EvaluationCfg = EvaluationCfg()
    gates: GatesCfg = GatesCfg()

    @model_validator(mode="after")
    def _full_profile(self) -> "ModelConfig":
        # ``full`` names the recipe itself (the profile that overrides nothing), so every entry
        # point that takes a profile name (hil train/run --profile, RunOptions, training_for) accepts it.
        if self.profiles.get(FULL_PROFILE, TrainingProfileCfg()).model_dump(exclude_none=True):
            raise ValueError(f"profiles.{FULL_PROFILE}: the name is reserved for the full recipe and overrides nothing")
        self.profiles.setdefault(FULL_PROFILE, TrainingProfileCfg())
        return self

    def training_for(self, profile: str | None) -> tuple[TrainingCfg, WindowsCfg]:
        """The training recipe and windowing with a named profile's overrides applied (None or ``full``: none)."""
        if profile is None:
            return self.training, self.windows
        if profile not in self.profiles:
            raise ConfigError(
                f"model {self.name!r}: no training profile {profile!r}; known: {', '.join(self.profiles) or 'none'}"
            )
        over = self.profiles[profile].model_dump(exclude_none=True)
        spp = over.pop("train_samples_per_patient", None)
        windows = self.windows.model_copy(update={"train_samples_per_patient": spp} if spp else {})
        return self.training.model_copy(update=over), windows


# --------------------------------------------------------------------------- loading


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _step(ann: Any, part: Any) -> Any:
    """The annotation one location part below ``ann`` (dict key, list index, union tag or field)."""
    origin, args = get_origin(ann), get_args(ann)
    if origin is Annotated:
        return _step(flasher_union() if _RegisteredFlasher in args[1:] else args[0], part)
    if origin in (Union, UnionType):
        members = [a for a in args if a is not type(None)]
        for m in members:  # a discriminated union puts the tag ('qemu') in the location
            kind = getattr(m, "model_fields", {}).get("kind")
            if kind is not None and part in get_args(kind.annotation):
                return m
        for m in members:
            found = _step(m, part)
            if found is not None:
                return found
        return None
    if origin is dict:
        return args[1]
    if origin in (list, tuple):
        return args[0] if args else None
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        field = ann.model_fields.get(str(part))
        if field is not None and _RegisteredFlasher in field.metadata:
            return flasher_union()  # pydantic moved the marker out of the annotation
        return field.annotation if field is not None else None
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the section that ``loc`` points into (for 'did you mean')."""
    ann: Any = model
    for part in loc[:-1]:
        ann = _step(ann, part)
        if ann is None:
            return []
    target = _first_model(ann)
    return list(target.model_fields) if target is not None else []


def _first_model(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    for arg in get_args(ann):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _without_union_tags(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator tags pydantic inserts into locations ('flasher.qemu.machine')."""
    out, ann = [], model
    for part in loc:
        nxt = _step(ann, part)
        is_tag = (
            get_origin(ann) in (Union, UnionType, Annotated)
            and isinstance(nxt, type)
            and issubclass(nxt, BaseModel)
            and "kind" in nxt.model_fields
            and part in get_args(nxt.model_fields["kind"].annotation)
        )
        if not is_tag:
            out.append(part)
        ann = nxt
    return tuple(out)


def _explain(err: dict[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    key = _format_loc(_without_union_tags(model, loc))
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        close = _suggest(str(loc[-1]), allowed)
        hint = f" Did you mean {close!r}?" if close else ""
        return f"unknown key {key!r}.{hint} Allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing required key {key!r}"
    if kind in ("literal_error", "enum"):
        return f"key {key!r}: {err['msg'].replace('Input should be', 'must be')} (got {err.get('input')!r})"
    if kind == "union_tag_invalid":
        return f"key {key!r}: {err['msg']}"
    return f"key {key!r}: {err['msg']} (got {err.get('input')!r})"


def _suggest(key: str, allowed: list[str]) -> str | None:
    """The allowed key the user most likely meant: a close spelling, else one that contains it."""
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return close[0]
    partial = [a for a in allowed if key and (a.startswith(key) or key in a)]
    return partial[0] if len(partial) == 1 else None


def _drop_missing_explained_by_typo(errors: list[dict[str, Any]], model: type[BaseModel]) -> list[dict[str, Any]]:
    """A misspelt key shows up twice (unknown 'defualt', missing 'default'): keep only the first."""
    typo_targets = set()
    for e in errors:
        if e["type"] == "extra_forbidden":
            loc = tuple(e["loc"])
            close = _suggest(str(loc[-1]), _allowed_keys(model, loc))
            if close:
                typo_targets.add(loc[:-1] + (close,))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in typo_targets)]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}") from None


def load_yaml_model(path: Path, model: type[BaseModel]) -> Any:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = _drop_missing_explained_by_typo(exc.errors(), model)
        msgs = [_explain(e, model) for e in errors]
        first, rest = msgs[0], msgs[1:]
        more = "".join(f"\n  {m}" for m in rest)
        raise ConfigError(f"{path}: {first}{more}") from None


def boards_path(explicit: Path | str | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("HIL_BOARDS", DEFAULT_BOARDS_FILE))


def load_boards(path: Path | str | None = None) -> BoardsFile:
    return load_yaml_model(boards_path(path), BoardsFile)


def load_board(name: str | None, path: Path | str | None = None) -> Board:
    p = boards_path(path)
    return load_boards(p).get(name, p)


def model_config_path(model_dir: Path | str) -> Path:
    p = Path(model_dir)
    return p if p.suffix in (".yaml", ".yml") else p / "config.yaml"


def load_model_config(model_dir: Path | str = DEFAULT_MODEL_DIR) -> ModelConfig:
    path = model_config_path(model_dir)
    if not path.exists():
        raise ConfigError(f"{path}: no model config here; pass --model with a folder holding config.yaml")
    return load_yaml_model(path, ModelConfig)


def work_dir(explicit: Path | str | None = None) -> Path:
    """Root of generated artifacts: --work, else $HIL_WORK, else ./build."""
    return Path(explicit or os.environ.get("HIL_WORK", "build"))

