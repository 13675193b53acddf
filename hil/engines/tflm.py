"""The ``tflm`` engine: TensorFlow Lite Micro compiled from a tree outside this repository
(``HIL_TFLM_ROOT``, else the tree ``hil deps tflm --fetch`` put in its cache), with the op
resolver and model data hil.firmware.tflm_gen writes.

Kernel sets (boards.yaml ``kernels``, ``--kernels``): ``reference`` (TFLM's portable kernels)
or ``cmsis-nn`` (TFLM's kernels/cmsis_nn over CMSIS-NN from ``HIL_CMSIS_NN_ROOT``, else the
copy TFLM's downloads hold).

The run's image cannot dump (its arena reuses memory); the diagnosis image (``for_dump()``,
folder ``<board>-tflm-<kernels>-dump``) keeps every tensor: docs/diagnose.md "Memory"."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil.artifacts import sha256_file
from hil.engines import BuildContext, Engine, Generated, Prebuilt
from hil.errors import ConfigError

if TYPE_CHECKING:
    from hil.doctor import Check

GENERATOR = Path(__file__).resolve().parents[1] / "firmware" / "tflm_gen.py"
MARKER = Path("tensorflow") / "lite" / "micro" / "micro_interpreter.h"


CMSIS_NN_IN_TREE = Path("tensorflow") / "lite" / "micro" / "tools" / "make" / "downloads" / "cmsis_nn"
CMSIS_NN_MARKER = Path("Include") / "arm_nnfunctions.h"


def _trees() -> tuple[str, str]:
    # Read at every build, as engine.cmake does: unsetting a variable takes effect.
    from hil.deps import located

    root = os.environ.get("HIL_TFLM_ROOT") or str(located("tflm") or "")
    cmsis_nn = os.environ.get("HIL_CMSIS_NN_ROOT") or (str(Path(root) / CMSIS_NN_IN_TREE) if root else "")
    return root, cmsis_nn


class TflmEngine(Engine):
    name = "tflm"
    kernel_sets = ("cmsis-nn", "reference")
    default_kernels = "reference"  # portable: needs no CMSIS-NN tree, runs on any core
    run_image_dumps = False  # DUMP needs preserve_all_tensors, which changes the arena: a second image

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
        kernels = self.kernels or self.default_kernels
        if kernels == "cmsis-nn" and not (Path(cmsis_nn) / CMSIS_NN_MARKER).is_file():
            raise ConfigError(
                f"engine tflm with kernels cmsis-nn needs a CMSIS-NN tree: {cmsis_nn or '(none)'} has no "
                f"{CMSIS_NN_MARKER}; set HIL_CMSIS_NN_ROOT to a CMSIS-NN checkout (TFLM's downloads/cmsis_nn)",
                hint="or choose the portable kernels: --kernels reference (boards.yaml `kernels: reference`)",
            )
        return {"HIL_TFLM_ROOT": root, "HIL_CMSIS_NN_ROOT": cmsis_nn if kernels == "cmsis-nn" else "",
                "HIL_TFLM_KERNELS": kernels}

    def prebuild(self, ctx: BuildContext) -> Prebuilt:
        """TFLM's library from the work folder's cache (hil.firmware.tflm_lib), compiled there first if need be."""
        from hil import ui
        from hil.deps import tree_commit
        from hil.firmware.tflm_lib import tflm_library

        v = self.cmake_variables()
        root, cmsis_nn = Path(v["HIL_TFLM_ROOT"]), v["HIL_CMSIS_NN_ROOT"]
        lib = tflm_library(ctx.cache, root, Path(cmsis_nn) if cmsis_nn else None, v["HIL_TFLM_KERNELS"],
                           native=ctx.native, opt_level=ctx.opt_level, compilers=ctx.compilers,
                           commit=tree_commit(root))
        ui.debug(f"TFLM library {lib.folder} ({'compiled' if lib.built else 'reused'}, {lib.seconds:.1f} s)")
        return Prebuilt({"HIL_TFLM_LIB_DIR": str(lib.folder)}, {**lib.record, "tflm_lib_compiled": lib.built})

    def generate(self, tflite: Path, model_dir: Path) -> Generated:
        from hil.firmware.tflm_gen import generate

        info = generate(tflite, model_dir, preserve_all=self.dump_build)
        return Generated(arena_bytes=info.arena_bytes, model_bytes=info.model_bytes, ops=info.ops)

    def fingerprint(self) -> dict[str, Any]:
        from hil.deps import tree_commit

        root, cmsis_nn = _trees()
        kernels = self.kernels or self.default_kernels
        return {"generator": sha256_file(GENERATOR), "kernels": kernels,
                **({"preserve_all": True} if self.dump_build else {}),
                "tflm_trees": [root, cmsis_nn if kernels == "cmsis-nn" else ""],
                "tflm_commit": tree_commit(Path(root)) if root else None}

    def checks(self) -> list["Check"]:
        from hil.doctor import Check

        root = os.environ.get("HIL_TFLM_ROOT")
        if not root:
            return [Check("TFLM tree (engine tflm)", False, "HIL_TFLM_ROOT is not set (only needed for engine tflm)",
                          "hil deps tflm  (prints the pinned tflite-micro checkout to get)", required=False)]
        ok = (Path(root) / MARKER).exists()
        return [Check("TFLM tree (engine tflm)", ok, root if ok else f"{root} has no tensorflow/lite/micro",
                      None if ok else "point HIL_TFLM_ROOT at a tflite-micro checkout", required=False)]
