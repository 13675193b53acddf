"""Windows/s of `hil run` on qemu-m4 with --devices 1 and --devices 2, measured in the same invocation.

Goal (issue 13, 2-core machine): two devices stream at least 1.7x the windows/s
of one.  The rate is the stream stage's (report.json ``stream``: windows
scored / seconds streaming), so the boot of each QEMU and the reports do not
dilute it.  Both runs use the same work folder, model and windows; the first
may train and build when the work folder is fresh.

    python bench/bench_devices.py                      # ./build (or $HIL_WORK), 400 windows
    python bench/bench_devices.py --windows 1000 --work /tmp/hil-work
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

GOAL = 1.7


def run(devices: int, out: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "hil.cli", "-q", "run", "--board", "qemu-m4", "--devices", str(devices),
           "--windows", str(args.windows), "--out", str(out), "--json"]
    if args.work:
        cmd += ["--work", str(args.work)]
    if args.model:
        cmd += ["--model", str(args.model)]
    if args.dataset:
        cmd += ["--dataset", str(args.dataset), "--no-train"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr[-4000:])
        raise SystemExit(f"hil run --devices {devices} exited {p.returncode}")
    return json.loads((out / "report.json").read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--windows", type=int, default=400, help="windows per run (default 400)")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default $HIL_WORK or ./build)")
    ap.add_argument("--model", type=Path, default=None, help="model folder (default the run's default)")
    ap.add_argument("--dataset", type=Path, default=None, help="LSAD folder; given, the existing export is used")
    args = ap.parse_args()
    rates = {}
    with tempfile.TemporaryDirectory(prefix="hil-bench-devices-") as tmp:
        for n in (1, 2):
            rep = run(n, Path(tmp) / f"d{n}", args)
            s = rep["stream"]
            rates[n] = s["scored"] / s["seconds"]
            shares = ", ".join(f"{d['board']} {d['scored']}" for d in rep["devices"]["shares"])
            print(f"--devices {n}: {s['scored']} windows in {s['seconds']:.2f} s = {rates[n]:7.1f} windows/s "
                  f"(exact match {rep['agreement']['exact_match']:.3f}; shares: {shares})")
    ratio = rates[2] / rates[1]
    print(f"\nspeed-up with 2 devices: {ratio:.2f}x (goal >= {GOAL}x, {os.cpu_count()} cores)")
    print("goal met" if ratio >= GOAL else "goal NOT met")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
