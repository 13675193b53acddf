"""TFLM build time: the first tflm image (TFLM's library compiled into the work folder's cache)
against a second model's image that links the cached library, measured in the same run.

    .venv/bin/python bench/bench_tflm_build.py [--kernels cmsis-nn|reference] [--json]

Both builds start from an empty work folder and without ccache, so the first
is a cold build; the second model is the seed architecture at half the width
(other weights, other tensor sizes). Needs a TFLM tree (HIL_TFLM_ROOT, or the
one `hil deps tflm --fetch` put in its cache); without one it says so and
measures nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _timed_build(work: Path, model: str, tflite: Path, kernels: str) -> tuple[float, dict]:
    from hil.artifacts import ArtifactPaths, read_manifest
    from hil.config import load_board, load_model_config
    from hil.firmware.build import build_firmware

    paths = ArtifactPaths(work, model)
    paths.export.mkdir(parents=True)
    shutil.copy2(tflite, paths.export / "model.tflite")
    board = load_board("qemu-m4", REPO / "boards.yaml")
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    t0 = time.monotonic()
    folder = build_firmware(board, cfg, paths, "tflm", kernels=kernels)
    return time.monotonic() - t0, read_manifest(folder)["outputs"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", choices=("cmsis-nn", "reference"), default="cmsis-nn")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args()

    from hil.engines import get_engine
    from bench.support.models import seed_tflite

    why = get_engine("tflm").with_kernels(args.kernels).unavailable()
    if why:
        print(f"no TFLM tree, nothing measured: {why}")
        return 0
    for var in ("CMAKE_C_COMPILER_LAUNCHER", "CMAKE_CXX_COMPILER_LAUNCHER"):
        os.environ.pop(var, None)
    os.environ["CCACHE_DISABLE"] = "1"  # a cold build compiles, whatever a compiler launcher would cache
    tmp = Path(tempfile.mkdtemp(prefix="hil-bench-tflm-build-"))
    try:
        first = seed_tflite(tmp / "models", name="first.tflite")
        second = seed_tflite(tmp / "models", filters=(12, 16, 24, 32, 40, 48), name="second.tflite")
        cold_s, cold = _timed_build(tmp / "work", "first", first, args.kernels)
        cached_s, cached = _timed_build(tmp / "work", "second", second, args.kernels)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if cached["tflm_lib"] != cold["tflm_lib"] or cached["tflm_lib_compiled"]:
        print("error: the second image did not reuse the first one's TFLM library", file=sys.stderr)
        return 1
    doc = {"kernels": args.kernels, "cold_s": round(cold_s, 1), "cached_s": round(cached_s, 1),
           "ratio_cached_vs_cold": cached_s / cold_s, "library_compiled_by_first": cold["tflm_lib_compiled"]}
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"tflm image on qemu-m4, kernels {args.kernels}:")
    print(f"  first model, TFLM library compiled (cold):    {cold_s:7.1f} s")
    print(f"  second model, the cached library linked:       {cached_s:7.1f} s")
    print(f"ratio cached/cold {doc['ratio_cached_vs_cold']:.3f} ({cold_s / cached_s:.1f}x faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
