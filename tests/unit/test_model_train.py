"""Training: the loss goes down, artifacts and reuse, resume after a crash, NaN and empty-class errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hil.artifacts import ArtifactPaths, sha256_file
from hil.errors import DataError
from hil.model.train import train_model
from tests.fixtures.model import tiny_training

pytestmark = pytest.mark.slow


def _history(train_dir: Path) -> list[dict]:
    with open(train_dir / "history.csv") as f:
        return list(csv.DictReader(f))


class _Proxy:
    """A PreparedDataset with one behaviour replaced (everything else delegates)."""

    def __init__(self, ds, **overrides):
        self._ds = ds
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self._ds, name)


def test_training_lowers_the_loss_and_writes_artifacts(tiny_model):
    rows = _history(tiny_model.train_dir)
    assert len(rows) == tiny_training(tiny_model.cfg).epochs
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < 0.7 * losses[0]
    # validation loss is weighted focal loss on fixed windows: the best epoch is the lowest one
    metrics = json.loads((tiny_model.train_dir / "metrics.json").read_text())
    val = [float(r["val_loss"]) for r in rows]
    assert metrics["best_epoch"] == int(np.argmin(val)) + 1
    assert metrics["params"]["total"] == 32_192
    test = metrics["test"]
    assert test["windows"] == len(tiny_model.dataset.windows("test").y)
    assert set(test["thresholded"]) >= {"accuracy", "f1_macro", "dropped"}
    for name in ("model.keras", "confusion_test.png", "summary.txt", "manifest.json"):
        assert (tiny_model.train_dir / name).exists(), name
    assert "32,192" in (tiny_model.train_dir / "summary.txt").read_text()
    # learning rate follows one cosine cycle: decreasing over the epochs
    lrs = [float(r["lr"]) for r in rows]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))


def test_fresh_training_is_reused(tiny_model):
    before = sha256_file(tiny_model.train_dir / "model.keras")
    out = train_model(tiny_model.cfg, tiny_model.dataset, tiny_model.paths, training=tiny_training(tiny_model.cfg))
    assert out == tiny_model.train_dir
    assert sha256_file(out / "model.keras") == before


def test_nan_loss_stops_with_a_message_and_keeps_the_earlier_training(tiny_model, tmp_path):
    import tensorflow as tf

    paths = ArtifactPaths(tmp_path, tiny_model.cfg.name)
    shutil.copytree(tiny_model.train_dir, paths.train)
    before = sha256_file(paths.train / "model.keras")
    training = tiny_training(tiny_model.cfg).model_copy(update={"epochs": 2, "steps_per_epoch": 3})

    def poisoned(tr, win):
        x = np.full((tr.batch_size, tiny_model.cfg.preprocess.frame_size), np.nan, np.float32)
        y = np.zeros(tr.batch_size, np.int32)
        return tf.data.Dataset.from_tensors((x, y)).repeat()

    ds = _Proxy(tiny_model.dataset, train_dataset=poisoned)
    with pytest.raises(DataError, match=r"loss became NaN at epoch 1, step 1"):
        train_model(tiny_model.cfg, ds, paths, training=training)
    assert sha256_file(paths.train / "model.keras") == before


def test_class_without_windows_is_a_data_error(tiny_model, tmp_path):
    counts = dict(tiny_model.dataset.class_counts("train"), AFIB=0)
    ds = _Proxy(tiny_model.dataset, class_counts=lambda split, *a, **k: counts)
    with pytest.raises(DataError, match="AFIB have no training windows"):
        train_model(tiny_model.cfg, ds, ArtifactPaths(tmp_path, tiny_model.cfg.name), training=tiny_training(tiny_model.cfg))
    assert not (tmp_path / tiny_model.cfg.name / "train").exists()


def test_interrupted_training_resumes_from_its_last_checkpoint(tiny_model, tmp_path):
    training = tiny_training(tiny_model.cfg).model_copy(update={"epochs": 3, "steps_per_epoch": 4, "batch_size": 16})
    paths = ArtifactPaths(tmp_path, tiny_model.cfg.name)
    frame = tiny_model.cfg.preprocess.frame_size

    def crashing(tr, win):  # the input pipeline dies during epoch 2, like a killed process
        import tensorflow as tf

        def gen():
            for i, batch in enumerate(tiny_model.dataset.train_batches(tr, win)):
                if i == training.steps_per_epoch + 2:
                    raise RuntimeError("simulated crash")
                yield batch

        spec = (tf.TensorSpec((tr.batch_size, frame), tf.float32), tf.TensorSpec((tr.batch_size,), tf.int32))
        return tf.data.Dataset.from_generator(gen, output_signature=spec)

    with pytest.raises(Exception, match="simulated crash"):
        train_model(tiny_model.cfg, _Proxy(tiny_model.dataset, train_dataset=crashing), paths, training=training)
    assert not paths.train.exists()
    out = train_model(tiny_model.cfg, tiny_model.dataset, paths, training=training)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_after_epoch"] == 1
    assert [int(r["epoch"]) for r in _history(out)] == [1, 2, 3]
    assert not (paths.root / ".train.partial").exists()
