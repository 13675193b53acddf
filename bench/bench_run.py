"""Wall time of `hil run`: first run (everything built) vs re-run (everything cached), per stage.

Goals (issue 6, 2-core machine): first run <= 15 min, cached re-run <= 2 min.
Each run's per-stage timings come from its report.json.  By default the
work folder is fresh (a temporary one), so the first run really generates the
synthetic dataset, trains (profile quick), exports and builds.

    python bench/bench_run.py                 # fresh work folder, two runs
    python bench/bench_run.py --work build    # reuse an existing work folder (then "first" is already cached)
    python bench/bench_run.py --windows 200   # fewer windows (faster, for a smoke check)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_GOAL_S = 15 * 60
CACHED_GOAL_S = 2 * 60


def run(work: Path, out: Path, extra: list[str]) -> tuple[float, int, dict]:
    env = dict(os.environ, HIL_WORK=str(work), TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, "-m", "hil.cli", "-q", "run", "--out", str(out), *extra]
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    rep = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr[-4000:])
    return wall, p.returncode, rep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a fresh temporary one)")
    ap.add_argument("--windows", type=int, default=None, help="cap on windows per run")
    args = ap.parse_args()
    extra = ["--windows", str(args.windows)] if args.windows else []
    with tempfile.TemporaryDirectory(prefix="hil-bench-run-") as tmp:
        work = args.work or Path(tmp) / "work"
        results = []
        for label in ("first", "cached"):
            wall, code, rep = run(work, Path(tmp) / label, extra)
            results.append((label, wall, code, rep))
            print(f"{label:>6}: {wall:7.1f} s wall, exit {code}, {rep.get('windows', '?')} windows")
    order = ["data", "train", "export", "build", "windows", "flash", "stream", "references", "compare", "report"]
    seen = {s for _, _, _, r in results for s in r.get("timings", {})}
    stages = [s for s in order if s in seen] + sorted(seen - set(order))
    print(f"\n{'stage':<12}{'first s':>10}{'cached s':>10}")
    for s in stages:
        a, b = (r.get("timings", {}).get(s) for _, _, _, r in results)
        print(f"{s:<12}{(a or 0):>10.1f}{(b or 0):>10.1f}")
    (_, first, c1, _), (_, cached, c2, _) = results
    print(f"\nfirst run  {first:7.1f} s  goal <= {FIRST_GOAL_S} s   ratio {first / FIRST_GOAL_S:.2f} of the budget")
    print(f"cached run {cached:7.1f} s  goal <= {CACHED_GOAL_S} s   ratio {cached / CACHED_GOAL_S:.2f} of the budget")
    print(f"cached / first = {cached / first:.3f}")
    ok = c1 in (0, 1) and c2 in (0, 1) and first <= FIRST_GOAL_S and cached <= CACHED_GOAL_S
    print("goals met" if ok else "goals NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
