"""Data pipeline throughput on synthetic LSAD, against what the seed training consumes.

    .venv/bin/python bench/bench_data.py [--patients 120] [--batches 40] [--train-steps 4] [--json]

Measured in the same run:

- synthesis rate: records/s of `synthesize_lsad` (physiokit, all cores);
- conversion rate: records/s of `build_store` (WFDB -> int16 store + 100 Hz view) on one core in-process
  and on all cores (with worker start-up), extrapolated to LSAD's 45,152 records;
- loader rate: windows/s of `PreparedDataset.train_batches` (numpy) and of
  `train_dataset` (tf.data, what `model.fit` pulls), batch = the seed's 256;
- consumption (the baseline): windows/s of training steps of the seed network
  (build_model + compile_model, batch 256) on this machine.

ratio = loader windows/s / training windows/s.  Goal >= 10: training is never input-bound.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LSAD_RECORDS = 45_152


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=120)
    ap.add_argument("--batches", type=int, default=40, help="loader batches timed")
    ap.add_argument("--train-steps", type=int, default=4, help="training steps timed (after one warm-up)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from hil.config import load_model_config
    from hil.data import prepare_dataset
    from hil.data.store import build_store, default_store_dir, Expected
    from hil.data.synthetic import synthesize_lsad
    from hil.ui import set_verbosity

    set_verbosity(quiet=True, verbose=False)
    cfg = load_model_config(Path(__file__).resolve().parents[1] / "models" / "rhythm-4-effv2")
    training = cfg.training  # batch 256: the seed recipe
    out: dict = {"patients": args.patients, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        src, work = Path(tmp) / "lsad", Path(tmp) / "work"
        t = time.perf_counter()
        synthesize_lsad(src, args.patients, 1, progress=False)
        out["synth_records_per_s"] = _rate(args.patients, time.perf_counter() - t)

        expected = Expected.from_cfg(cfg.dataset)
        t = time.perf_counter()  # one worker, in-process: the steady per-core rate
        build_store(src, Path(tmp) / "serial-store", expected, rates=(100,), workers=1, progress=False)
        out["convert_records_per_s_one_core"] = _rate(args.patients, time.perf_counter() - t)
        t = time.perf_counter()  # what `hil data convert` does: all cores (includes worker start-up)
        build_store(src, default_store_dir(src, work), expected, rates=(100,), progress=False)
        out["convert_records_per_s"] = _rate(args.patients, time.perf_counter() - t)
        steady = out["convert_records_per_s_one_core"] * (os.cpu_count() or 1)
        out["convert_lsad_minutes_estimate"] = LSAD_RECORDS / max(steady, out["convert_records_per_s"]) / 60

        ds = prepare_dataset(cfg, src, work, progress=False)
        gen = ds.train_batches(training, cfg.windows)
        next(gen)
        t = time.perf_counter()
        for _ in range(args.batches):
            next(gen)
        out["loader_numpy_windows_per_s"] = _rate(args.batches * training.batch_size, time.perf_counter() - t)

        tfds = ds.train_dataset(training, cfg.windows)
        it = iter(tfds)
        next(it)
        t = time.perf_counter()
        for _ in range(args.batches):
            next(it)
        out["loader_tfdata_windows_per_s"] = _rate(args.batches * training.batch_size, time.perf_counter() - t)

        from hil.model.network import build_model
        from hil.model.train import compile_model

        model = compile_model(build_model(cfg.architecture, cfg.preprocess.frame_size, len(cfg.classes.names)),
                              training, [1.0] * len(cfg.classes.names))
        x, y = next(gen)
        model.train_on_batch(x, y)  # warm-up (graph tracing)
        t = time.perf_counter()
        for _ in range(args.train_steps):
            model.train_on_batch(x, y)
        out["train_windows_per_s"] = _rate(args.train_steps * training.batch_size, time.perf_counter() - t)

    out["ratio_numpy"] = out["loader_numpy_windows_per_s"] / out["train_windows_per_s"]
    out["ratio_tfdata"] = out["loader_tfdata_windows_per_s"] / out["train_windows_per_s"]
    out["goal_ratio"] = 10.0
    out["passed"] = out["ratio_tfdata"] >= 10.0
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"synthesis   {out['synth_records_per_s']:8.1f} records/s  ({args.patients} patients, {out['cores']} cores)")
    print(f"conversion  {out['convert_records_per_s']:8.1f} records/s on all cores incl. start-up, "
          f"{out['convert_records_per_s_one_core']:.1f} records/s on one core (all of LSAD: ~{out['convert_lsad_minutes_estimate']:.1f} min)")
    print(f"loader      {out['loader_numpy_windows_per_s']:8.0f} windows/s numpy, {out['loader_tfdata_windows_per_s']:.0f} windows/s tf.data")
    print(f"training    {out['train_windows_per_s']:8.0f} windows/s consumed by the seed network (batch {training.batch_size})")
    print(f"ratio       {out['ratio_tfdata']:8.1f}x tf.data / training (numpy {out['ratio_numpy']:.1f}x); goal >= 10x: "
          + ("ok" if out["passed"] else "NOT MET"))


if __name__ == "__main__":
    main()
