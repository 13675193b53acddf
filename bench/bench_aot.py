"""Benchmark of the aot engine on QEMU mps2-an386 (Cortex-M4F, -icount shift=0).

Prints guest instructions per inference, arena bytes and engine flash bytes
for the seed model (or a given .tflite), for the DSP kernels and for the
portable C kernels of the same build (the baseline measured in this run),
and, when a TFLM tree is available (HIL_TFLM_ROOT, or `hil deps tflm
--fetch`), for TFLM with its reference kernels and with CMSIS-NN on the same
model in the same run: the qemu-m4 image `hil build` makes, timed with the
firmware's BENCH message. Without a tree it says so and measures aot only.

    .venv/bin/python bench/bench_aot.py                    # seed architecture, random weights
    .venv/bin/python bench/bench_aot.py --tflite build/rhythm-4-effv2/export/model.tflite
    .venv/bin/python bench/bench_aot.py --json

TFLM's library is compiled once into the work folder's cache (--work, default
HIL_WORK or ./build), so only the first run pays for it. TFLM's arena is what
its interpreter used (INFO), flash is what the TFLM library and the adapter
with the model put in the image, like the aot columns.

Instructions are counted with SysTick (25 MHz) under -icount shift=0, where one
tick is 40 instructions (resolution +-40). They are emulated instruction
counts, not cycles of a real chip.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TFLM_KERNELS = ("reference", "cmsis-nn")
BENCH_N = 4
OP_NAMES = {3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 17: "MAX_POOL_2D", 1: "AVERAGE_POOL_2D", 40: "MEAN", 18: "MUL",
            0: "ADD", 9: "FULLY_CONNECTED", 22: "RESHAPE", 14: "LOGISTIC", 117: "HARD_SWISH", 25: "SOFTMAX",
            114: "QUANTIZE", 6: "DEQUANTIZE"}


def tflm_measure(tflite: Path, work: Path, kernels: str) -> dict:
    """The TFLM image of ``tflite`` for qemu-m4 (hil's build), timed in QEMU through a DeviceSession."""
    import numpy as np

    from bench.support.qemu_bench import _engine_flash
    from hil.artifacts import ArtifactPaths, sha256_file
    from hil.config import load_board, load_model_config
    from hil.device.session import DeviceSession, ExpectedImage, LinkSettings
    from hil.firmware.build import build_firmware

    paths = ArtifactPaths(work, f"bench-aot-{sha256_file(tflite)[:12]}")
    paths.export.mkdir(parents=True, exist_ok=True)
    (paths.export / "model.tflite").write_bytes(tflite.read_bytes())
    board = load_board("qemu-m4", REPO / "boards.yaml")
    folder = build_firmware(board, load_model_config(REPO / "models" / "rhythm-4-effv2"), paths, "tflm",
                            kernels=kernels)
    lib = Path(json.loads((folder / "size.json").read_text())["tflm_lib"]) / "libtflm.a"
    flash = _engine_flash(folder / "hil.elf", [lib, folder / "cmake" / "libhil_engine.a"])
    link = LinkSettings.of(board, timeout_s=60, retries=0, inflight=1)
    with DeviceSession(board, folder, expect=ExpectedImage.from_tflite(tflite), link=link) as session:
        client = session.client
        x = np.random.default_rng(0).integers(-128, 128, size=(1, client.info.input.bytes), dtype=np.int8)
        list(client.infer_stream(enumerate(x)))
        r = client.bench_result(BENCH_N)
        arena = client.info.arena_bytes
    return {"instructions": round(r.total_ticks * board.timer.counts_per_tick / r.n), "arena_bytes": arena,
            "flash_bytes": flash}


def _tflm_unavailable() -> str | None:
    from hil.engines import get_engine

    return get_engine("tflm").with_kernels("reference").unavailable()


def _report(tflite: Path, info, dsp, plain, tflm: dict) -> dict:
    from bench.support import qemu_bench

    by_op = collections.Counter()
    for _, code, ticks in dsp.op_ticks:
        by_op[OP_NAMES.get(code, str(code))] += ticks * qemu_bench.INSTR_PER_TICK
    rows = {"aot_dsp": {"instructions": dsp.instructions, "arena_bytes": dsp.arena_bytes,
                        "flash_bytes": dsp.engine_flash_bytes},
            "aot_portable_c": {"instructions": plain.instructions, "arena_bytes": plain.arena_bytes,
                               "flash_bytes": plain.engine_flash_bytes},
            **{f"tflm_{k.replace('-', '_')}": v for k, v in tflm.items()}}
    ratios = {"dsp_vs_portable": dsp.instructions / plain.instructions}
    for name in ("tflm_reference", "tflm_cmsis_nn"):
        if name in rows:
            t = rows[name]
            ratios[f"dsp_vs_{name}"] = dsp.instructions / t["instructions"]
            ratios[f"arena_vs_{name}"] = dsp.arena_bytes / t["arena_bytes"]
            ratios[f"flash_vs_{name}"] = dsp.engine_flash_bytes / t["flash_bytes"]
    return {"model": str(tflite), "ops": len(info.ops), "weights_bytes": info.weights_bytes, **rows,
            "ratios": ratios, "instructions_by_op": dict(by_op.most_common()),
            "unit": "qemu_instructions (SysTick x 40, -icount shift=0)"}


LABELS = {"aot_dsp": "aot, DSP kernels", "aot_portable_c": "aot, portable C (baseline)",
          "tflm_reference": "TFLM, reference kernels", "tflm_cmsis_nn": "TFLM, CMSIS-NN"}


def _print(doc: dict, no_tflm: str | None) -> None:
    print(f"model {doc['model']} ({doc['ops']} ops, {doc['weights_bytes']} weight bytes)")
    print(f"{'':28}{'instr/inference':>16}{'arena B':>10}{'flash B':>10}")
    for key, label in LABELS.items():
        if key in doc:
            r = doc[key]
            print(f"{label:28}{r['instructions']:>16,}{r['arena_bytes']:>10,}{r['flash_bytes']:>10,}")
    print("ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in doc["ratios"].items()))
    total = doc["aot_dsp"]["instructions"]
    print("instructions by op (aot, DSP): "
          + ", ".join(f"{k} {v / total:.1%}" for k, v in doc["instructions_by_op"].items()))
    if no_tflm:
        print(f"note: TFLM not measured in this run (no TFLM tree: {no_tflm})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tflite", type=Path, help="int8 .tflite (default: the seed architecture, random weights)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--work", type=Path, default=None, help="work folder for the TFLM images and the cached "
                    "TFLM library (default HIL_WORK, else ./build)")
    args = ap.parse_args()

    from hil.artifacts import work_dir
    from hil.firmware.aot import generate
    from bench.support import qemu_bench
    from bench.support.models import seed_tflite

    if not qemu_bench.tools_available():
        print("arm-none-eabi-gcc and qemu-system-arm are needed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hil-bench-aot-"))
    tflite = args.tflite or seed_tflite(work)
    info = generate(tflite, work / "gen")
    dsp = qemu_bench.measure(work / "gen", work / "dsp")
    plain = qemu_bench.measure(work / "gen", work / "plain", extra_cflags=["-DAOT_NO_DSP"])
    no_tflm = _tflm_unavailable()
    tflm = {} if no_tflm else {k: tflm_measure(tflite, work_dir(args.work), k) for k in TFLM_KERNELS}
    doc = _report(tflite, info, dsp, plain, tflm)
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    _print(doc, no_tflm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
