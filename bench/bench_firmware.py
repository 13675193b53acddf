"""Instructions per inference, arena and flash of the firmware on qemu-m4.

    .venv/bin/python bench/bench_firmware.py [--work DIR] [--model DIR] [--n 10] [--profile]

Boots the image in QEMU (-icount shift=0, so SysTick ticks x counts_per_tick
are guest instructions), runs BENCH n on a real window and prints
instructions per inference, the arena and flash bytes, and (--profile) the
share of each op. TFLM columns are measured only when HIL_TFLM_ROOT points to
a TFLM tree and firmware/engines/tflm exists; otherwise they are skipped with
a note, and the figures measured for the issue are printed for scale.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np
from _firmware_setup import REPO, add_args, device, image

# Measured for the issue (same int8 model, TFLM at -O2 on QEMU mps2-an386).
ISSUE_TFLM = {
    "tflm_reference": {"instructions": 20_850_000, "arena_bytes": 34_056},
    "tflm_cmsis_nn": {"instructions": 7_280_000, "arena_bytes": 34_652},
}


def measure(args, elf: Path) -> dict:
    with device(args, elf, inflight=1) as (client, board):
        info = client.info
        x = np.random.default_rng(0).integers(-128, 128, size=(1, info.input.bytes), dtype=np.int8)
        list(client.infer_stream(enumerate(x)))
        r = client.bench_result(args.n)
        per_tick = board.timer.counts_per_tick
        ops = client.profile() if args.profile else []
    return {
        "unit": board.timer.unit,
        "per_inference": r.total_ticks * per_tick / r.n,
        "min": r.min_ticks * per_tick,
        "max": r.max_ticks * per_tick,
        "arena_bytes": info.arena_bytes,
        "engine": info.engine,
        "ops": [(o.op_index, o.op_name, o.ticks * per_tick) for o in ops],
    }


def tflm_image(args) -> Path:
    from hil.artifacts import ArtifactPaths
    from hil.config import load_board, load_model_config
    from hil.steps import build

    board = load_board(args.board, REPO / "boards.yaml")
    cfg = load_model_config(args.model)
    return build(board, cfg, ArtifactPaths.for_model(cfg.name, args.work), "tflm").dir / "hil.elf"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_args(ap)
    ap.add_argument("--n", type=int, default=10, help="invokes per BENCH")
    ap.add_argument("--profile", action="store_true", help="per-op breakdown")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    elf, what = image(args)
    size_file = elf.parent / "size.json"
    size = json.loads(size_file.read_text()) if size_file.exists() else {}
    aot = measure(args, elf)
    doc = {
        "board": args.board,
        "image": what,
        "aot": {
            "instructions_per_inference": round(aot["per_inference"]),
            "unit": aot["unit"],
            "arena_bytes": aot["arena_bytes"],
            "flash_bytes": size.get("flash_bytes"),
            "model_bytes": size.get("model_bytes"),
        },
        "tflm": None,
        "tflm_note": None,
        "issue_reference": ISSUE_TFLM,
    }
    tflm_root = os.environ.get("HIL_TFLM_ROOT")
    if not tflm_root:
        doc["tflm_note"] = ("TFLM columns skipped: HIL_TFLM_ROOT is not set; "
                            "the issue's TFLM figures are printed for scale")
    elif args.elf or args.fake_engine:
        doc["tflm_note"] = "TFLM columns skipped: --elf/--fake-engine given (no model to build TFLM for)"
    else:
        tflm_elf = tflm_image(args)
        tflm_size = json.loads((tflm_elf.parent / "size.json").read_text())
        t = measure(args, tflm_elf)
        doc["tflm"] = {
            "instructions_per_inference": round(t["per_inference"]),
            "arena_bytes": t["arena_bytes"],
            "flash_bytes": tflm_size["flash_bytes"],
            "kernels": ("TFLM + CMSIS-NN kernels" if os.environ.get("HIL_CMSIS_NN_ROOT")
                        else "TFLM reference kernels (no CMSIS-NN)") + ", -O2",
        }
    if args.profile:
        by_op: dict[str, float] = defaultdict(float)
        for _, name, n in aot["ops"]:
            by_op[name] += n
        total = sum(by_op.values()) or 1
        doc["aot"]["profile_share"] = {k: round(v / total, 4) for k, v in sorted(by_op.items(), key=lambda kv: -kv[1])}
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    a = doc["aot"]
    ref, cmsis = ISSUE_TFLM["tflm_reference"], ISSUE_TFLM["tflm_cmsis_nn"]
    print(f"board {args.board}: {what}")
    print(f"{'':28}{'aot':>14}{'TFLM ref (issue)':>20}{'TFLM+CMSIS-NN (issue)':>24}")
    print(f"{'instructions / inference':28}{a['instructions_per_inference']:>14,}{ref['instructions']:>20,}{cmsis['instructions']:>24,}")
    print(f"{'  ratio to aot':28}{1.0:>14.2f}{ref['instructions'] / a['instructions_per_inference']:>20.2f}"
          f"{cmsis['instructions'] / a['instructions_per_inference']:>24.2f}")
    print(f"{'arena bytes':28}{a['arena_bytes']:>14,}{ref['arena_bytes']:>20,}{cmsis['arena_bytes']:>24,}")
    if a["flash_bytes"] is not None:
        print(f"{'flash bytes (text+data)':28}{a['flash_bytes']:>14,}{'-':>20}{'-':>24}")
    print(f"goals: instructions <= 7,280,000: {'met' if a['instructions_per_inference'] <= 7_280_000 else 'NOT met'}; "
          f"arena <= 34,056: {'met' if a['arena_bytes'] <= 34_056 else 'NOT met'}")
    if doc["tflm"]:
        t = doc["tflm"]
        print(f"measured TFLM ({t['kernels']}): {t['instructions_per_inference']:,} instructions / inference "
              f"({t['instructions_per_inference'] / a['instructions_per_inference']:.2f}x aot), "
              f"arena used {t['arena_bytes']:,} bytes, flash {t['flash_bytes']:,} bytes")
    if doc["tflm_note"]:
        print("note:", doc["tflm_note"])
    if args.profile:
        print("per-op share of the aot invoke:")
        for name, share in a["profile_share"].items():
            print(f"  {name:20} {share * 100:6.1f} %")


if __name__ == "__main__":
    main()
