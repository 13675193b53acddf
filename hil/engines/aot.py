"""The ``aot`` engine: the project's int8 kernels (firmware/engines/aot/) called by C that
hil.firmware.aot generates from the .tflite. Needs nothing outside this repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.artifacts import sha256_tree
from hil.engines import Engine, Generated
from hil.errors import ConfigError

GENERATOR = Path(__file__).resolve().parents[1] / "firmware" / "aot"


class AotEngine(Engine):
    name = "aot"

    def supported_ops(self) -> tuple[str, ...]:
        from hil.firmware.aot.lower import SUPPORTED_OPS

        return tuple(SUPPORTED_OPS)

    def generate(self, tflite: Path, model_dir: Path) -> Generated:
        try:
            from hil.firmware.aot import generate
        except ImportError as exc:
            raise ConfigError(f"the aot code generator is not available: {exc}") from None
        info = generate(tflite, model_dir)
        return Generated(
            arena_bytes=int(getattr(info, "arena_bytes", 0)),
            model_bytes=int(getattr(info, "weights_bytes", 0)),
            ops=list(getattr(info, "ops", [])),
        )

    def fingerprint(self) -> dict[str, Any]:
        return {"generator": sha256_tree(GENERATOR, ("**/*.py",)) if GENERATOR.is_dir() else "none"}
