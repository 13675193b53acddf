"""TEST PLUG-IN: the ``toy`` engine, proof that an engine is one module plus its registration.

It reuses the aot engine: the aot generator writes the model's C and the toy
engine renames it (``hil_engine_name()`` returns "toy"); its CMake folder,
``tests/plugins/firmware/toy/engine.cmake``, links the aot kernels.  A device
running a toy image therefore answers HELLO with engine "toy" and computes
outputs bit-exact with TFLite's, which is what the tests check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.artifacts import sha256_file, sha256_tree
from hil.engines import FIRMWARE_ENGINES, Engine, Generated, get_engine

FOLDER = Path(__file__).resolve().parent / "firmware" / "toy"
NAME_LINE = 'return "aot";'


class ToyEngine(Engine):
    name = "toy"
    firmware_dir = FOLDER  # outside firmware/engines: CMake gets it as HIL_ENGINE_DIR

    def supported_ops(self) -> tuple[str, ...]:
        return get_engine("aot").supported_ops()

    def generate(self, tflite: Path, model_dir: Path) -> Generated:
        gen = get_engine("aot").generate(tflite, model_dir)
        src = model_dir / "model_aot.c"
        text = src.read_text()
        assert NAME_LINE in text, f"{src}: the aot generator no longer writes {NAME_LINE!r}"
        src.write_text(text.replace(NAME_LINE, 'return "toy";'))
        return gen

    def fingerprint(self) -> dict[str, Any]:
        # The aot kernels are not in FOLDER, so their hash goes in here.
        return {**get_engine("aot").fingerprint(), "toy": sha256_file(Path(__file__)),
                "aot_kernels": sha256_tree(FIRMWARE_ENGINES / "aot")}
