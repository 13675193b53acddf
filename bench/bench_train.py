"""Training throughput of the seed model: `hil`'s train_model against a plain `model.fit` baseline.

Measures a bounded number of epochs of each on the same synthetic data in the
same process (the first epoch, which traces the graph, is left out), prints
windows/s, the ratio, and the projected wall time of the full seed schedule
(100 epochs x 50 steps x batch 256, no early stop: an upper bound).

    .venv/bin/python bench/bench_train.py [--epochs 3] [--steps 50] [--patients 120]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
GOAL_S = 15 * 60


def _baseline(cfg, ds, training, windows, epochs: int) -> list[float]:
    """Plain Keras: build, compile with defaults, fit on the same stream with validation data."""
    import keras

    from hil.model.network import build_model

    keras.utils.set_random_seed(training.seed)
    model = build_model(cfg.architecture, cfg.preprocess.frame_size, len(cfg.classes.names))
    model.compile(
        optimizer=keras.optimizers.Adam(training.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    val = ds.windows("val")
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(ds.train_dataset(training, windows), steps_per_epoch=training.steps_per_epoch, epochs=epochs,
              validation_data=(val.x, val.y), callbacks=[Timer()], verbose=0)
    return times


def _hil(cfg, ds, training, work: Path) -> list[float]:
    import csv

    from hil.artifacts import ArtifactPaths
    from hil.model.train import train_model

    out = train_model(cfg, ds, ArtifactPaths(work, cfg.name), training=training, restart=True)
    with open(out / "history.csv") as f:
        return [float(r["seconds"]) for r in csv.DictReader(f)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3, help="epochs measured per variant (first one excluded)")
    ap.add_argument("--steps", type=int, default=None, help="steps per epoch (default: the recipe's)")
    ap.add_argument("--patients", type=int, default=120, help="synthetic patients")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    args = ap.parse_args()

    from hil import ui
    from hil.config import load_model_config
    from hil.data import prepare_dataset
    from hil.data.synthetic import synthesize_lsad

    ui.set_verbosity(quiet=True, verbose=False)
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    full = cfg.training
    training = full.model_copy(update={"epochs": max(2, args.epochs), "early_stopping": None,
                                       **({"steps_per_epoch": args.steps} if args.steps else {})})
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        work = args.work or Path(tmp)
        src = work / f"synthetic-{args.patients}"
        if not (src / "WFDBRecords").is_dir():
            synthesize_lsad(src, args.patients, 7, progress=False)
        ds = prepare_dataset(cfg, src, work, progress=False)
        per_epoch = training.steps_per_epoch * training.batch_size

        t_hil = _hil(cfg, ds, training, work)[1:]
        t_base = _baseline(cfg, ds, training, cfg.windows, training.epochs)[1:]

    hil_rate = per_epoch / (sum(t_hil) / len(t_hil))
    base_rate = per_epoch / (sum(t_base) / len(t_base))
    full_windows = full.epochs * full.steps_per_epoch * full.batch_size
    projected = full.epochs * (sum(t_hil) / len(t_hil))
    print(f"seed model, batch {training.batch_size}, {training.steps_per_epoch} steps/epoch, "
          f"{len(t_hil)} measured epochs each, {os.cpu_count()} CPUs")
    print(f"hil train_model : {hil_rate:8.0f} windows/s  (epoch {sum(t_hil) / len(t_hil):.2f} s incl. validation + checkpoints)")
    print(f"plain model.fit : {base_rate:8.0f} windows/s  (epoch {sum(t_base) / len(t_base):.2f} s incl. validation)")
    print(f"ratio hil / baseline: {hil_rate / base_rate:.2f}x")
    print(f"full schedule ({full.epochs} x {full.steps_per_epoch} x {full.batch_size} = {full_windows:,} windows): "
          f"projected {projected / 60:.1f} min (goal <= {GOAL_S / 60:.0f} min: {'met' if projected <= GOAL_S else 'NOT met'})")


if __name__ == "__main__":
    main()
