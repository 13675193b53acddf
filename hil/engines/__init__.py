"""Inference engines: what the host generates for an engine and what its CMake folder needs.

An engine is one module (``hil/engines/aot.py``, ``tflm.py``) with one
:class:`Engine` subclass, plus a firmware folder holding ``engine.cmake``
(``firmware/engines/<name>/`` by default; ``firmware_dir`` may point
elsewhere, CMake gets it as ``HIL_ENGINE_DIR``).  ``hil.firmware.build`` only
talks to this interface: it wipes the model folder, calls ``generate``, passes
``cmake_variables()`` and what ``prebuild()`` returns to CMake and puts
``fingerprint()`` into the image's manifest.

Registration: built-ins are listed where ``_registry`` is made below; anything else calls
:func:`register_engine` or ships an entry point of group ``hil.engines``.
boards.yaml's ``engine`` and every ``--engine`` option accept the registered names.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hil.plugins import Registry

if TYPE_CHECKING:
    from hil.doctor import Check

FIRMWARE_ENGINES = Path(__file__).resolve().parents[2] / "firmware" / "engines"


@dataclass
class Generated:
    """What ``generate`` reports for the size report and the manifest."""

    arena_bytes: int = 0                          # working memory of the engine
    model_bytes: int = 0                          # weights / flatbuffer in the image
    ops: list[str] = field(default_factory=list)  # the model's operators, execution order


@dataclass(frozen=True)
class BuildContext:
    """What a library an engine builds once and shares between images depends on, besides the engine."""

    cache: Path  # <work>/cache: shared by every model, board and re-run of one work folder
    native: bool  # the host's compiler, not the cross toolchain
    opt_level: str
    compilers: tuple[str, str]  # version lines of the C and C++ compilers


@dataclass
class Prebuilt:
    """What ``prebuild`` gives the image: CMake variables, and a record for its manifest and size.json."""

    variables: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


class Engine(ABC):
    """One inference engine of the firmware."""

    name: ClassVar[str]  # HIL_ENGINE, boards.yaml `engine`, `--engine`
    # Kernel sets the engine can be built with (boards.yaml `kernels`, --kernels); () = one fixed set.
    kernel_sets: ClassVar[tuple[str, ...]] = ()
    default_kernels: ClassVar[str | None] = None
    kernels: str | None = None  # the set this instance builds (with_kernels gives a configured copy)
    # Whether the run's own image answers DUMP (docs/diagnose.md). When not, the diagnosis builds the
    # engine's diagnosis image instead: a copy from for_dump(), with dump_build set and a folder of its own.
    run_image_dumps: ClassVar[bool] = True
    dump_build: bool = False

    def with_kernels(self, kernels: str | None) -> "Engine":
        """A copy of the engine that builds ``kernels`` (None: the engine's default); ConfigError for an unknown set."""
        if not self.kernel_sets:
            return self
        chosen = kernels or self.default_kernels
        if chosen not in self.kernel_sets:
            from hil.errors import ConfigError

            raise ConfigError(f"engine {self.name}: kernels {chosen!r} is not one of {', '.join(self.kernel_sets)}",
                              hint="set `kernels` in boards.yaml or pass --kernels")
        twin = copy.copy(self)
        twin.kernels = chosen
        return twin

    def for_dump(self) -> "Engine":
        """The engine whose image answers DUMP: itself when the run's image does, else a diagnosis copy."""
        if self.run_image_dumps or self.dump_build:
            return self
        twin = copy.copy(self)
        twin.dump_build = True
        return twin

    @property
    def label(self) -> str:
        """The engine and its kernel set, as in firmware folder names: ``tflm-cmsis-nn``, ``aot``;
        ``-dump`` ends a diagnosis image's (``tflm-cmsis-nn-dump``)."""
        base = f"{self.name}-{self.kernels}" if self.kernels else self.name
        return f"{base}-dump" if self.dump_build else base

    def unavailable(self) -> str | None:
        """Why the engine cannot be built on this machine (a missing tree), or None."""
        from hil.errors import ConfigError

        try:
            self.cmake_variables()
        except ConfigError as exc:
            return str(exc).splitlines()[0]
        return None

    @property
    def firmware_dir(self) -> Path:
        """Folder holding engine.cmake (the static library ``hil_engine``)."""
        return FIRMWARE_ENGINES / self.name

    @abstractmethod
    def supported_ops(self) -> tuple[str, ...]:
        """TFLite builtin operator names this engine can run."""

    @abstractmethod
    def generate(self, tflite: Path, model_dir: Path) -> Generated:
        """Writes the model's sources for engine.cmake into ``model_dir`` (empty, created by the caller)."""

    def cmake_variables(self) -> dict[str, str]:
        """Extra ``-D`` variables for engine.cmake; raises ConfigError when a tree it needs is missing."""
        return {}

    def prebuild(self, ctx: BuildContext) -> Prebuilt:
        """Builds (or reuses from ``ctx.cache``) what images of this engine share, such as a compiled
        library, before the image is configured; called after ``cmake_variables``."""
        return Prebuilt()

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """Manifest inputs beyond the sources: the generator's hash, external trees; a change rebuilds."""

    def checks(self) -> list["Check"]:
        """`hil doctor` checks of what this engine needs."""
        return []


_registry: Registry[Engine] = Registry(
    "engine", "hil.engines", ("hil.engines.aot:AotEngine", "hil.engines.tflm:TflmEngine"), key=lambda e: e.name
)


def register_engine(engine: Engine | type[Engine], *, replace: bool = False) -> Engine:
    """Makes an engine known to boards.yaml, `--engine` and the firmware build."""
    return _registry.register(engine, replace=replace)


def unregister_engine(name: str) -> None:
    _registry.unregister(name)


def get_engine(name: str) -> Engine:
    """The engine called ``name``; ConfigError naming the known ones."""
    return _registry.get(name)


@dataclass(frozen=True)
class EngineChoice:
    """The engine a build or run uses, configured with its kernels, and why it was chosen."""

    engine: Engine
    reason: str

    @property
    def name(self) -> str:
        return self.engine.name


def choose_engine(board: Any, requested: str | None = None, kernels: str | None = None) -> EngineChoice:
    """``requested`` (--engine), else the board's ``engine``, else its ``fallback_engine`` when the default
    cannot be built here (the reason says which tree is missing).  ``kernels`` (--kernels) beats the board's."""
    if requested:
        eng = get_engine(requested)
        if kernels and not eng.kernel_sets:
            from hil.errors import ConfigError

            with_sets = [e.name for e in all_engines() if e.kernel_sets]
            raise ConfigError(f"--kernels {kernels}: engine {requested} has one kernel set; --kernels applies to "
                              f"{', '.join(with_sets) or 'no registered engine'}")
        return EngineChoice(eng.with_kernels(kernels or board.kernels), "chosen with --engine")
    eng = get_engine(board.engine).with_kernels(kernels or board.kernels)
    why = eng.unavailable() if board.fallback_engine else None
    if why is None:
        return EngineChoice(eng, f"board {board.name}'s engine")
    fallback = get_engine(board.fallback_engine).with_kernels(kernels or board.kernels)
    return EngineChoice(fallback, f"{board.engine} unavailable ({why}); ran board {board.name}'s fallback_engine "
                                  f"{fallback.name}")


ALL = "all"  # --engines all


def choose_engines(board: Any, requested: list[str], kernels: str | None = None) -> tuple[list[EngineChoice], list[str]]:
    """``--engines``: the named engines in order (each once), or ``all``: every registered engine that can be
    built here, the board's own first.  ``kernels`` applies to the engines that have kernel sets.

    Returns the choices and, for ``all``, a note per engine left out (which tree is missing)."""
    from hil.errors import ConfigError

    names = [n.strip() for n in requested if n.strip()]
    if not names:
        raise ConfigError(f"--engines: name at least one engine ({', '.join(engine_names())}) or {ALL}")
    if ALL in names:
        if names != [ALL]:
            raise ConfigError(f"--engines {','.join(names)}: {ALL!r} already means every engine; give it alone")
        why = {n: get_engine(n).with_kernels(kernels or board.kernels).unavailable() for n in engine_names()}
        notes = [f"--engines {ALL}: engine {n} left out ({w})" for n, w in why.items() if w]
        names = sorted((n for n, w in why.items() if not w), key=lambda n: n != board.engine)
        reason = f"chosen with --engines {ALL}"
    else:
        notes, reason = [], "chosen with --engines"
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"--engines {','.join(names)}: engine {', '.join(twice)} is listed twice")
        for n in names:
            get_engine(n)  # an unknown name: ConfigError naming the known ones, before anything runs
    engines = [get_engine(n) for n in names]
    if kernels and not any(e.kernel_sets for e in engines):
        raise ConfigError(f"--kernels {kernels}: none of the engines {', '.join(names)} has kernel sets")
    return [EngineChoice(e.with_kernels(kernels or board.kernels), reason) for e in engines], notes


def engine_names() -> list[str]:
    return _registry.names()


def all_engines() -> list[Engine]:
    return _registry.all()
