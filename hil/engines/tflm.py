"""The ``tflm`` engine: TensorFlow Lite Micro compiled from a tree outside this repository
(``HIL_TFLM_ROOT``, optionally CMSIS-NN from ``HIL_CMSIS_NN_ROOT``), with the op resolver and
model data hil.firmware.tflm_gen writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil.artifacts import sha256_file
from hil.engines import Engine, Generated
from hil.errors import ConfigError

if TYPE_CHECKING:
    from hil.doctor import Check

GENERATOR = Path(__file__).resolve().parents[1] / "firmware" / "tflm_gen.py"
MARKER = Path("tensorflow") / "lite" / "micro" / "micro_interpreter.h"


def _trees() -> tuple[str, str]:
    # Read at every build, as engine.cmake does: unsetting a variable takes effect.
    return os.environ.get("HIL_TFLM_ROOT", ""), os.environ.get("HIL_CMSIS_NN_ROOT", "")


class TflmEngine(Engine):
    name = "tflm"

    def supported_ops(self) -> tuple[str, ...]:
        from hil.firmware.tflm_gen import RESOLVER_METHODS

        return tuple(RESOLVER_METHODS)

    def cmake_variables(self) -> dict[str, str]:
        root, cmsis_nn = _trees()
        if not root or not (Path(root) / MARKER).is_file():
            raise ConfigError(
                "engine tflm needs a TensorFlow Lite Micro tree: set HIL_TFLM_ROOT "
                f"(got {os.environ.get('HIL_TFLM_ROOT')!r}) to a tflite-micro checkout with its third-party "
                "downloads (`hil deps tflm`)",
                hint="use --engine aot, or see docs/boards.md (engine tflm)",
            )
        return {"HIL_TFLM_ROOT": root, "HIL_CMSIS_NN_ROOT": cmsis_nn}

    def generate(self, tflite: Path, model_dir: Path) -> Generated:
        from hil.firmware.tflm_gen import generate

        info = generate(tflite, model_dir)
        return Generated(arena_bytes=info.arena_bytes, model_bytes=info.model_bytes, ops=info.ops)

    def fingerprint(self) -> dict[str, Any]:
        return {"generator": sha256_file(GENERATOR), "tflm_trees": list(_trees())}

    def checks(self) -> list["Check"]:
        from hil.doctor import Check

        root = os.environ.get("HIL_TFLM_ROOT")
        if not root:
            return [Check("TFLM tree (engine tflm)", False, "HIL_TFLM_ROOT is not set (only needed for engine tflm)",
                          "hil deps tflm  (prints the pinned tflite-micro checkout to get)", required=False)]
        ok = (Path(root) / MARKER).exists()
        return [Check("TFLM tree (engine tflm)", ok, root if ok else f"{root} has no tensorflow/lite/micro",
                      None if ok else "point HIL_TFLM_ROOT at a tflite-micro checkout", required=False)]
