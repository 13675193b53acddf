"""Inference engines: what the host generates for an engine and what its CMake folder needs.

An engine is one module (``hil/engines/aot.py``, ``tflm.py``) with one
:class:`Engine` subclass, plus a firmware folder holding ``engine.cmake``
(``firmware/engines/<name>/`` by default; ``firmware_dir`` may point
elsewhere, CMake gets it as ``HIL_ENGINE_DIR``).  ``hil.firmware.build`` only
talks to this interface: it wipes the model folder, calls ``generate``, passes
``cmake_variables()`` to CMake and puts ``fingerprint()`` into the image's
manifest.

Registration: built-ins are listed where ``_registry`` is made below; anything else calls
:func:`register_engine` or ships an entry point of group ``hil.engines``.
boards.yaml's ``engine`` and every ``--engine`` option accept the registered names.
"""

from __future__ import annotations

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


class Engine(ABC):
    """One inference engine of the firmware."""

    name: ClassVar[str]  # HIL_ENGINE, boards.yaml `engine`, `--engine`

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


def engine_names() -> list[str]:
    return _registry.names()


def all_engines() -> list[Engine]:
    return _registry.all()
