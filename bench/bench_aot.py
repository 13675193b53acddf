"""Benchmark of the aot engine on QEMU mps2-an386 (Cortex-M4F, -icount shift=0).

Prints guest instructions per inference, arena bytes and engine flash bytes
for the seed model (or a given .tflite), for the DSP kernels and for the
portable C kernels of the same build (the baseline measured in this run),
beside TFLM's figures for the same int8 model from the issue (TFLM -O2 on
QEMU mps2-an386: 20.85 M instructions with reference kernels, 7.28 M with
CMSIS-NN, arena 34,056 bytes).

    .venv/bin/python bench/bench_aot.py                    # seed architecture, random weights
    .venv/bin/python bench/bench_aot.py --tflite build/rhythm-4-effv2/export/model.tflite
    .venv/bin/python bench/bench_aot.py --json

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

TFLM_REF_INSTR = 20_850_000
TFLM_CMSIS_INSTR = 7_280_000
TFLM_ARENA = 34_056
OP_NAMES = {3: "CONV_2D", 4: "DEPTHWISE_CONV_2D", 17: "MAX_POOL_2D", 1: "AVERAGE_POOL_2D", 40: "MEAN", 18: "MUL",
            0: "ADD", 9: "FULLY_CONNECTED", 22: "RESHAPE", 14: "LOGISTIC", 117: "HARD_SWISH", 25: "SOFTMAX",
            114: "QUANTIZE", 6: "DEQUANTIZE"}


def seed_tflite(out: Path) -> Path:
    from bench.support import signals
    from bench.support.models import quantize, seed_model

    cal = signals.realish(64, 800, seed=5)
    path = out / "seed.tflite"
    path.write_bytes(quantize(seed_model(data=cal, seed=0), lambda: ([c[None]] for c in cal)))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tflite", type=Path, help="int8 .tflite (default: the seed architecture, random weights)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args()

    from hil.firmware.aot import generate
    from bench.support import qemu_bench

    if not qemu_bench.tools_available():
        print("arm-none-eabi-gcc and qemu-system-arm are needed", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hil-bench-aot-"))
    tflite = args.tflite or seed_tflite(work)
    info = generate(tflite, work / "gen")
    dsp = qemu_bench.measure(work / "gen", work / "dsp")
    plain = qemu_bench.measure(work / "gen", work / "plain", extra_cflags=["-DAOT_NO_DSP"])
    by_op = collections.Counter()
    for _, code, ticks in dsp.op_ticks:
        by_op[OP_NAMES.get(code, str(code))] += ticks * qemu_bench.INSTR_PER_TICK
    doc = {
        "model": str(tflite), "ops": len(info.ops), "weights_bytes": info.weights_bytes,
        "aot_dsp": {"instructions": dsp.instructions, "arena_bytes": dsp.arena_bytes,
                    "flash_bytes": dsp.engine_flash_bytes},
        "aot_portable_c": {"instructions": plain.instructions, "arena_bytes": plain.arena_bytes,
                           "flash_bytes": plain.engine_flash_bytes},
        "tflm_issue_figures": {"reference_instructions": TFLM_REF_INSTR, "cmsis_nn_instructions": TFLM_CMSIS_INSTR,
                               "arena_bytes": TFLM_ARENA},
        "ratios": {"dsp_vs_portable": dsp.instructions / plain.instructions,
                   "dsp_vs_tflm_reference": dsp.instructions / TFLM_REF_INSTR,
                   "dsp_vs_tflm_cmsis_nn": dsp.instructions / TFLM_CMSIS_INSTR,
                   "arena_vs_tflm": dsp.arena_bytes / TFLM_ARENA},
        "instructions_by_op": dict(by_op.most_common()),
        "unit": "qemu_instructions (SysTick x 40, -icount shift=0)",
    }
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"model {tflite} ({len(info.ops)} ops, {info.weights_bytes} weight bytes)")
    print(f"{'':28}{'instr/inference':>16}{'arena B':>10}{'flash B':>10}")
    print(f"{'aot, DSP kernels':28}{dsp.instructions:>16,}{dsp.arena_bytes:>10,}{dsp.engine_flash_bytes:>10,}")
    print(f"{'aot, portable C (baseline)':28}{plain.instructions:>16,}{plain.arena_bytes:>10,}"
          f"{plain.engine_flash_bytes:>10,}")
    print(f"{'TFLM reference (issue)':28}{TFLM_REF_INSTR:>16,}{TFLM_ARENA:>10,}{'-':>10}")
    print(f"{'TFLM + CMSIS-NN (issue)':28}{TFLM_CMSIS_INSTR:>16,}{34_652:>10,}{'-':>10}")
    r = doc["ratios"]
    print(f"ratios: DSP/portable {r['dsp_vs_portable']:.2f}, DSP/TFLM-ref {r['dsp_vs_tflm_reference']:.2f}, "
          f"DSP/TFLM+CMSIS-NN {r['dsp_vs_tflm_cmsis_nn']:.2f}, arena/TFLM {r['arena_vs_tflm']:.2f}")
    print("instructions by op: " + ", ".join(f"{k} {v / dsp.instructions:.1%}" for k, v in by_op.most_common()))
    if not os.environ.get("HIL_TFLM_ROOT"):
        print("note: HIL_TFLM_ROOT is not set, so TFLM is not measured in this run; its columns are the issue's "
              "figures for the same model")
    else:
        print("note: HIL_TFLM_ROOT is set; measure TFLM with bench/bench_firmware.py --engine tflm "
              "(this script times the aot engine only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
