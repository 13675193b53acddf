"""The training stage: the guide's recipe, a rich progress display, checkpoints, resume.

Training runs in a staging folder next to the train folder
(``<work>/<model>/.train.partial``) holding the last epoch's checkpoint, the
best checkpoint, the history so far and the early-stopping state.  An
interrupted training with the same inputs continues from there; a failed one
(NaN loss, bad data) leaves the previous ``train/`` untouched.  Only a
finished training replaces ``train/`` (model.keras = best weights,
history.csv, metrics.json with the test evaluation, confusion PNG, summary).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hil import ui
from hil.artifacts import ArtifactPaths, is_fresh, sha256_json, write_json_atomic, write_manifest
from hil.config import ModelConfig, TrainingCfg, WindowsCfg
from hil.errors import DataError
from hil.model.evaluate import classification_metrics, plot_confusion
from hil.model.losses import balanced_class_weights, focal_loss_np

if TYPE_CHECKING:
    import keras

    from hil.data import PreparedDataset, Windows

# Bump when the training code changes what it produces (invalidates cached trainings).
TRAIN_VERSION = 1
MODEL_NAME = "model.keras"
HISTORY_NAME = "history.csv"
METRICS_NAME = "metrics.json"
HISTORY_FIELDS = ["epoch", "loss", "val_loss", "val_accuracy", "val_f1_macro", "lr", "seconds"]


def train_inputs(cfg: ModelConfig, ds: "PreparedDataset", training: TrainingCfg, windows: WindowsCfg) -> dict[str, str]:
    return {
        "dataset": ds.fingerprint,
        "architecture": sha256_json(cfg.architecture),
        "classes": sha256_json(cfg.classes),
        "preprocess": sha256_json(cfg.preprocess),
        "training": sha256_json(training),
        "windows": sha256_json(windows),
        "evaluation": sha256_json(cfg.evaluation),
        "code": str(TRAIN_VERSION),
    }


def class_weights_for(cfg: ModelConfig, ds: "PreparedDataset", training: TrainingCfg) -> list[float]:
    """Balanced (or unit) class weights; DataError naming the class and split when a class has no windows."""
    counts = ds.class_counts("train")
    names = list(cfg.classes.names)
    empty = [n for n in names if counts.get(n, 0) <= 0]
    if empty:
        raise DataError(
            f"dataset {ds.name} ({ds.path}): class(es) {', '.join(empty)} have no training windows "
            f"(train counts: {', '.join(f'{n}={counts.get(n, 0)}' for n in names)})",
            hint="use a dataset with records of every class, or remove the class from classes.names in the model config",
        )
    if training.class_weights == "none":
        return [1.0] * len(names)
    return balanced_class_weights([counts[n] for n in names])


def make_lr(training: TrainingCfg):
    import keras

    if training.lr_schedule == "constant":
        return training.learning_rate
    total = training.epochs * training.steps_per_epoch
    return keras.optimizers.schedules.CosineDecayRestarts(
        initial_learning_rate=training.learning_rate,
        first_decay_steps=max(1, total // training.lr_cycles),
        t_mul=1.0,
        m_mul=1.0,
        alpha=0.0,
    )


def compile_model(model: "keras.Model", training: TrainingCfg, class_weights: list[float]) -> "keras.Model":
    """Adam + the schedule + focal (or plain, gamma 0) cross-entropy with the class weights inside the loss."""
    import keras

    from hil.model.losses import WeightedFocalLoss

    gamma = training.focal_gamma if training.loss == "focal" else 0.0
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=make_lr(training)),
        loss=WeightedFocalLoss(class_weights, gamma),
        # XLA is 4x slower than plain graph mode for this network on CPU (bench/bench_train.py).
        jit_compile=False,
    )
    return model


def _current_lr(model) -> float:
    """Learning rate of the step just taken (Keras' ``learning_rate`` is the next step's)."""
    import keras

    opt = model.optimizer
    sched = getattr(opt, "_learning_rate", None)
    if isinstance(sched, keras.optimizers.schedules.LearningRateSchedule):
        return float(np.asarray(sched(max(int(np.asarray(opt.iterations)) - 1, 0))))
    return float(np.asarray(opt.learning_rate))


def _make_callbacks():
    """Keras callback classes, defined lazily (keras is imported only when training)."""
    import keras

    class EpochEnd(keras.callbacks.Callback):
        """Validation metrics from one predict pass, NaN guard, checkpoints, early stopping, history, progress."""

        def __init__(self, run: "_Run") -> None:
            super().__init__()
            self.run = run
            self.t0 = time.monotonic()

        def on_epoch_begin(self, epoch: int, logs=None) -> None:
            self.t0 = time.monotonic()

        def on_train_batch_end(self, batch: int, logs=None) -> None:
            loss = float((logs or {}).get("loss", 0.0))
            if not math.isfinite(loss):
                self.run.nan_at = (self.run.epoch_now + 1, batch + 1)
                self.model.stop_training = True
                return
            self.run.advance(loss)

        def on_epoch_end(self, epoch: int, logs=None) -> None:
            if self.run.nan_at is not None:
                return
            logs = logs if logs is not None else {}
            self.run.end_epoch(self.model, epoch, logs, time.monotonic() - self.t0)
            if self.run.should_stop():
                self.model.stop_training = True

    return EpochEnd


class _Run:
    """State of one training run (also what is persisted for resume)."""

    def __init__(self, staging: Path, val: "Windows", weights: list[float], gamma: float, patience: int | None,
                 class_names: list[str], epochs: int, steps: int, progress) -> None:
        self.staging = staging
        self.val = val
        self.weights = weights
        self.gamma = gamma
        self.patience = patience
        self.class_names = class_names
        self.epochs = epochs
        self.steps = steps
        self.progress = progress
        self.task = None
        self.nan_at: tuple[int, int] | None = None
        self.epoch_now = 0
        self.state: dict[str, Any] = {"epoch": -1, "best_epoch": -1, "best_val_loss": None, "wait": 0}
        self.last_loss = float("nan")
        self.last_val: dict[str, float] = {}

    # ---- persistence
    @property
    def state_path(self) -> Path:
        return self.staging / "state.json"

    def load(self) -> None:
        self.state = json.loads(self.state_path.read_text())

    def advance(self, loss: float) -> None:
        self.last_loss = loss
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, advance=1, description=self._describe())

    def _describe(self) -> str:
        v = self.last_val
        val = f" val acc {v['val_accuracy']:.3f} F1 {v['val_f1_macro']:.3f}" if v else ""
        # No batch has finished yet: there is no loss to show (nan would read as a failure).
        loss = f"loss {self.last_loss:.4f}" if math.isfinite(self.last_loss) else "starting"
        return f"epoch {min(self.epoch_now + 1, self.epochs)}/{self.epochs} {loss}{val}"

    def end_epoch(self, model, epoch: int, logs: dict, seconds: float) -> None:
        logits = model.predict(self.val.x, batch_size=1024, verbose=0)
        if not np.all(np.isfinite(logits)):
            self.nan_at = (epoch + 1, self.steps)
            model.stop_training = True
            return
        m = classification_metrics(self.val.y, logits, self.class_names, 0.0)
        val_loss = focal_loss_np(logits, self.val.y, self.weights, self.gamma)
        logs.update(val_loss=val_loss, val_accuracy=m["accuracy"], val_f1_macro=m["f1_macro"])
        self.last_val = {"val_accuracy": m["accuracy"], "val_f1_macro": m["f1_macro"]}
        row = {
            "epoch": epoch + 1,
            "loss": float(logs.get("loss", self.last_loss)),
            "val_loss": val_loss,
            "val_accuracy": m["accuracy"],
            "val_f1_macro": m["f1_macro"],
            "lr": _current_lr(model),
            "seconds": round(seconds, 3),
        }
        hist = self.staging / HISTORY_NAME
        new = not hist.exists()
        with open(hist, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=HISTORY_FIELDS)
            if new:
                w.writeheader()
            w.writerow(row)
        s = self.state
        if s["best_val_loss"] is None or val_loss < s["best_val_loss"]:
            s.update(best_val_loss=val_loss, best_epoch=epoch + 1, wait=0)
            model.save(self.staging / "best.keras")
        else:
            s["wait"] += 1
        s["epoch"] = epoch
        # last checkpoint (weights + optimizer state), then the state that points at it
        model.save(self.staging / ".last.keras")
        os.replace(self.staging / ".last.keras", self.staging / "last.keras")
        write_json_atomic(self.state_path, s)
        self.epoch_now = epoch + 1
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=self._describe())
        ui.debug(f"epoch {epoch + 1}: {row}")

    def should_stop(self) -> bool:
        return self.patience is not None and self.state["wait"] >= self.patience


def _staging_for(paths: ArtifactPaths) -> Path:
    return paths.root / f".{paths.train.name}.partial"


def train_model(
    cfg: ModelConfig,
    ds: "PreparedDataset",
    paths: ArtifactPaths,
    profile: str | None = None,
    *,
    restart: bool = False,
    training: TrainingCfg | None = None,
) -> Path:
    """Train (or reuse, or resume) the model of ``cfg`` on ``ds``; returns the train folder.

    ``training`` overrides the recipe entirely (tests use tiny schedules);
    otherwise ``cfg.training_for(profile)``.  ``restart`` discards a partial run.
    """
    base_training, windows = cfg.training_for(profile)
    training = training or base_training
    inputs = train_inputs(cfg, ds, training, windows)
    out = paths.train
    required = [MODEL_NAME, HISTORY_NAME, METRICS_NAME]
    if is_fresh(out, inputs, required=required):
        ui.info(f"train: up to date in {out}")
        return out

    names = list(cfg.classes.names)
    weights = class_weights_for(cfg, ds, training)
    val = ds.windows("val")
    if len(val.x) == 0:
        raise DataError(f"dataset {ds.name} ({ds.path}): the validation split has no windows; use a larger dataset")

    staging = _open_staging(paths, inputs, restart)

    import keras

    from hil.model.losses import custom_objects
    from hil.model.network import param_counts

    keras.utils.set_random_seed(training.seed)
    gamma = training.focal_gamma if training.loss == "focal" else 0.0
    patience = training.early_stopping.patience if training.early_stopping else None
    total_steps = training.epochs * training.steps_per_epoch
    with ui.progress() as prog:
        run = _Run(staging, val, weights, gamma, patience, names, training.epochs, training.steps_per_epoch, prog)
        model, initial_epoch = _start_or_resume(run, cfg, training, weights)
        resumed_from = initial_epoch or None
        counts = param_counts(model)
        ui.info(
            f"train: {cfg.name}, {counts['total']:,} parameters ({counts['trainable']:,} trainable); "
            f"{training.epochs} epochs x {training.steps_per_epoch} steps x batch {training.batch_size}"
            + (f", profile {profile}" if profile else "")
        )
        done = initial_epoch >= training.epochs or run.should_stop()
        if not done:
            run.task = prog.add_task(run._describe(), total=total_steps, completed=initial_epoch * training.steps_per_epoch)
            EpochEnd = _make_callbacks()
            train_ds = ds.train_dataset(training, windows)
            if initial_epoch:  # the same batches an uninterrupted run would see next
                train_ds = train_ds.skip(initial_epoch * training.steps_per_epoch)
            model.fit(
                train_ds,
                epochs=training.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=training.steps_per_epoch,
                callbacks=[EpochEnd(run)],
                shuffle=False,  # the dataset is already an endless shuffled stream
                verbose=0,
            )
    if run.nan_at is not None:
        epoch, step = run.nan_at
        raise DataError(
            f"training of {cfg.name} stopped: the loss became NaN at epoch {epoch}, step {step} "
            f"(learning rate {training.learning_rate:g}); {out} was left as it was",
            hint="lower training.learning_rate in the model config, or check the dataset for non-finite samples",
        )
    # the best weights without optimizer state: model.keras and its summary hold the network only
    best = keras.models.load_model(staging / "best.keras", custom_objects=custom_objects(), compile=False)
    _finish(cfg, ds, best, run, staging, training, profile, counts, resumed_from)
    write_manifest(staging, "train", inputs, _outputs(staging, counts, run, training, profile))
    _publish(staging, out)
    ui.info(f"train: wrote {out / MODEL_NAME} (best epoch {run.state['best_epoch']})")
    return out


def _open_staging(paths: ArtifactPaths, inputs: dict[str, Any], restart: bool) -> Path:
    """The partial-run folder: kept (to resume) when it was made from the same inputs, else emptied."""
    staging = _staging_for(paths)
    stamp = staging / "inputs.json"
    if restart or not stamp.exists() or json.loads(stamp.read_text()) != inputs:
        shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    write_json_atomic(stamp, inputs)
    return staging


def _start_or_resume(run: _Run, cfg: ModelConfig, training: TrainingCfg, weights: Any) -> tuple[Any, int]:
    """(model, first epoch to train): the last checkpoint of an interrupted run, else a new compiled network."""
    import keras

    from hil.model.losses import custom_objects
    from hil.model.network import build_model

    staging = run.staging
    if (staging / "last.keras").exists() and run.state_path.exists():
        run.load()
        initial_epoch = run.state["epoch"] + 1
        model = keras.models.load_model(staging / "last.keras", custom_objects=custom_objects())
        ui.info(f"train: resuming from the checkpoint of epoch {initial_epoch} in {staging}")
    else:
        initial_epoch = 0
        (staging / HISTORY_NAME).unlink(missing_ok=True)
        model = compile_model(build_model(cfg.architecture, cfg.preprocess.frame_size, len(cfg.classes.names)),
                              training, weights)
    run.epoch_now = initial_epoch
    return model, initial_epoch


def _publish(staging: Path, out: Path) -> None:
    """Drops the resume state and moves the finished run into place in one rename."""
    for name in ("last.keras", "best.keras", "state.json", "inputs.json"):
        (staging / name).unlink(missing_ok=True)
    if out.exists():
        shutil.rmtree(out)
    os.replace(staging, out)


def _finish(cfg: ModelConfig, ds: "PreparedDataset", model, run: _Run, staging: Path, training: TrainingCfg,
            profile: str | None, counts: dict[str, int], resumed_from: int | None) -> None:
    """Best model, summary, and its evaluation on the held-out test windows."""
    model.save(staging / MODEL_NAME)
    lines: list[str] = []
    model.summary(print_fn=lambda s, **_: lines.append(s), line_length=110)
    (staging / "summary.txt").write_text("\n".join(lines) + "\n")
    names = list(cfg.classes.names)
    test = ds.windows("test")
    metrics: dict[str, Any] = {
        "model": cfg.name,
        "profile": profile,
        "params": counts,
        "epochs_run": run.state["epoch"] + 1,
        "resumed_after_epoch": resumed_from,
        "best_epoch": run.state["best_epoch"],
        "best_val_loss": run.state["best_val_loss"],
        "class_weights": dict(zip(names, run.weights)),
        "class_counts": {s: ds.class_counts(s) for s in ("train", "val", "test")},
        "training": training.model_dump(mode="json"),
    }
    if len(test.x):
        logits = model.predict(test.x, batch_size=1024, verbose=0)
        m = classification_metrics(test.y, logits, names, cfg.evaluation.threshold)
        plot_confusion(m, names, staging / "confusion_test.png", f"{cfg.name}: Keras float on {len(test.x)} test windows")
        metrics["test"] = m
    else:
        metrics["test"] = None
    write_json_atomic(staging / METRICS_NAME, metrics)


def _outputs(staging: Path, counts: dict[str, int], run: _Run, training: TrainingCfg, profile: str | None) -> dict:
    from hil.artifacts import sha256_file

    m = json.loads((staging / METRICS_NAME).read_text())
    test = m.get("test") or {}
    return {
        "model": MODEL_NAME,
        "model_sha256": sha256_file(staging / MODEL_NAME),
        "params": counts["total"],
        "trainable_params": counts["trainable"],
        "epochs_run": m["epochs_run"],
        "best_epoch": m["best_epoch"],
        "best_val_loss": m["best_val_loss"],
        "profile": profile,
        "test_accuracy": test.get("accuracy"),
        "test_f1_macro": test.get("f1_macro"),
    }
