"""Builds the libFuzzer target over the firmware's frame parser and runs it for a bounded time.

    .venv/bin/python tests/fuzz/run_fuzz.py --seconds 300            # test-double engine
    .venv/bin/python tests/fuzz/run_fuzz.py --seconds 300 --model-dir <generated aot sources>

The target (firmware/ports/host/fuzz_frames.c) feeds arbitrary bytes to the
app's frame assembler, and valid frames of arbitrary type and payload to its
message handlers, under AddressSanitizer + UndefinedBehaviorSanitizer (clang
-fsanitize=fuzzer,address,undefined). The corpus is seeded from the protocol
vectors. Exit status 0: no crash, hang, leak or out-of-bounds access.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def build(out: Path, model_dir: Path | None) -> Path:
    from hil.firmware.build import cmake_build

    if model_dir:
        # clang warns about unused static inline helpers that gcc (the CI compiler of
        # the kernels) does not; that warning is not what this run is about.
        cmake_build(out, port="host", engine="aot", model_dir=model_dir, fuzz=True,
                    extra={"HIL_EXTRA_C_FLAGS": "-Wno-unused-function"})
    else:
        cmake_build(out, port="host", engine="test", engine_dir=REPO / "tests" / "firmware_engine", fuzz=True)
    return out / "hil_fuzz_frames"


def seed_corpus(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    vectors = json.loads((REPO / "docs" / "protocol-vectors.json").read_text())
    for i, ex in enumerate(vectors["exchanges"]):
        (corpus / f"exchange-{i}").write_bytes(b"\x00" + bytes.fromhex(ex["request_hex"]))
    for i, fr in enumerate(vectors["frames"]):
        (corpus / f"frame-{i}").write_bytes(b"\x00" + bytes.fromhex(fr["wire_hex"]))
        (corpus / f"msg-{i}").write_bytes(b"\x01" + bytes([fr["type"]]) + bytes.fromhex(fr["payload_hex"]))


def run(binary: Path, corpus: Path, seconds: int, artifacts: Path) -> int:
    artifacts.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(binary), str(corpus),
        f"-max_total_time={seconds}", "-timeout=5", "-rss_limit_mb=2048", "-max_len=9000",
        f"-artifact_prefix={artifacts}/", "-print_final_stats=1",
    ]
    return subprocess.run(cmd).returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "fuzz")
    ap.add_argument("--model-dir", type=Path, default=None, help="aot model sources (default: the test-double engine)")
    args = ap.parse_args()
    binary = build(args.out / "cmake", args.model_dir)
    seed_corpus(args.out / "corpus")
    return run(binary, args.out / "corpus", args.seconds, args.out / "crashes")


if __name__ == "__main__":
    sys.exit(main())
