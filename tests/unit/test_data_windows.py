"""Windows, resampling, preprocessing and the training input."""

from __future__ import annotations

import numpy as np
import pytest

from hil.config import BandpassCfg, PreprocessCfg
from hil.data import WindowRef, Windows, prepare_dataset
from hil.data.preprocess import preprocess, znorm
from hil.data.store import resample
from hil.data.windows import draw_windows, split_rng


def test_znorm_uses_epsilon():
    x = np.array([[1.0, 3.0, 1.0, 3.0]])  # mean 2, var 1
    np.testing.assert_allclose(znorm(x, 0.01), (x - 2) / np.sqrt(1.01), rtol=1e-6)
    flat = znorm(np.full((2, 8), 5.0), 0.01)
    assert np.all(flat == 0) and flat.dtype == np.float32


def test_preprocess_default_and_bandpass():
    t = np.arange(800) / 100
    slow = 2.0 * np.sin(2 * np.pi * 0.1 * t)  # baseline wander, below 1 Hz
    ecg_band = np.sin(2 * np.pi * 8 * t)
    x = (slow + ecg_band)[None, :]
    plain = preprocess(x, PreprocessCfg())
    assert plain.dtype == np.float32 and plain.shape == (1, 800)
    bp = preprocess(x, PreprocessCfg(bandpass=BandpassCfg(low_hz=1, high_hz=30, order=2)))
    # zero-phase: the 8 Hz component keeps its phase; the wander is gone
    ref = znorm(ecg_band[None, :])
    mid = slice(100, 700)
    assert np.corrcoef(bp[0, mid], ref[0, mid])[0, 1] > 0.99
    assert np.corrcoef(plain[0, mid], ref[0, mid])[0, 1] < 0.7


def test_resample_poly_antialias():
    t = np.arange(5000) / 500
    low = np.sin(2 * np.pi * 5 * t)
    high = 0.5 * np.sin(2 * np.pi * 120 * t)  # above the 50 Hz Nyquist of 100 Hz: must not alias
    y = resample(low + high, 500, 100)
    assert y.shape == (1000,)
    t100 = np.arange(1000) / 100
    err = y[50:-50] - np.sin(2 * np.pi * 5 * t100)[50:-50]
    assert np.abs(err).max() < 0.02


def test_draw_windows_fixed_and_random_lead():
    rng = split_rng(42, "test")
    refs = draw_windows(["A", "B", "C"], 4, "random", 12, 1000, 800, rng)
    assert len(refs) == 12 and {r.record for r in refs} == {"A", "B", "C"}
    assert all(0 <= r.start <= 200 and 0 <= r.lead < 12 for r in refs)
    assert len({r.lead for r in refs}) > 1
    assert refs == draw_windows(["A", "B", "C"], 4, "random", 12, 1000, 800, split_rng(42, "test"))
    assert refs != draw_windows(["A", "B", "C"], 4, "random", 12, 1000, 800, split_rng(43, "test"))
    fixed = draw_windows(["A", "B"], 3, 1, 12, 1000, 800, split_rng(42, "val"))
    assert {r.lead for r in fixed} == {1}


def test_fixed_lists_are_on_disk_and_reproducible(synthetic_prepared, synthetic_lsad, seed_config, tmp_path):
    ds = synthetic_prepared
    w = ds.windows("test")
    assert isinstance(w, Windows) and isinstance(w.refs[0], WindowRef)
    n = len(ds.patients("test")) * seed_config.windows.test_samples_per_patient
    assert w.x.shape == (n, 800) and w.x.dtype == np.float32 and w.y.dtype == np.int64 and len(w.refs) == n
    assert w.class_names == ["SR", "SB", "AFIB", "GSVT"]
    assert (ds.data_dir / "windows-test.csv").exists()
    # what a window holds: the record resampled to 100 Hz, the lead, 800 samples from start, z-normalised
    ref = w.refs[3]
    rec = next(r for r in ds.store.records if r.name == ref.record)
    raw = np.asarray(ds.store.raw(rec), dtype=np.float64) / rec.gain
    seg = resample(raw[ref.lead], 500, 100)[ref.start : ref.start + 800]
    expect = preprocess(seg, seed_config)
    # the 100 Hz store keeps int16 at the record's gain: at most half a unit (0.5 µV) off, before scaling
    quantum = 0.5 / rec.gain / np.sqrt(seg.var() + 0.01)
    np.testing.assert_allclose(w.x[3], expect, atol=2 * quantum)
    assert w.y[3] == ds.labels[ref.record]
    # a second preparation elsewhere gives the same windows, bit for bit
    again = prepare_dataset(seed_config, synthetic_lsad, tmp_path, progress=False)
    assert again.fingerprint == ds.fingerprint
    w2 = again.windows("test")
    assert w2.refs == w.refs and np.array_equal(w2.x, w.x)
    assert ds.windows("test", limit=7).refs == w.refs[:7]
    assert len(ds.windows("all")) == sum(len(ds.refs(s)) for s in ("train", "val", "test"))


def test_fingerprint_follows_windows_config(synthetic_lsad, seed_config, tmp_path):
    a = prepare_dataset(seed_config, synthetic_lsad, tmp_path, progress=False)
    cfg = seed_config.model_copy(deep=True)
    cfg.windows.lead = 1
    b = prepare_dataset(cfg, synthetic_lsad, tmp_path, progress=False)
    assert b.fingerprint != a.fingerprint
    assert {r.lead for r in b.refs("val")} == {1}
    cfg.split.seed = 5
    c = prepare_dataset(cfg, synthetic_lsad, tmp_path, progress=False)
    assert c.fingerprint not in (a.fingerprint, b.fingerprint)


def test_train_batches_seeded_fresh_and_balanced(synthetic_prepared, seed_config):
    ds = synthetic_prepared
    training = seed_config.training.model_copy(update={"batch_size": 32})
    g1, g2 = ds.train_batches(training, seed_config.windows), ds.train_batches(training, seed_config.windows)
    b1 = [next(g1) for _ in range(8)]
    b2 = [next(g2) for _ in range(8)]
    for (x1, y1), (x2, y2) in zip(b1, b2):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    x, y = b1[0]
    assert x.shape == (32, 800) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-4)
    # 36 train patients x 5 windows = 180 per pass: 8 batches of 32 cross into a second pass with new windows
    xs = np.concatenate([b[0] for b in b1])
    # (a repeat needs the same patient, lead and start: rare, but not impossible)
    assert len({xs[i].tobytes() for i in range(len(xs))}) >= len(xs) - 4
    ys = np.concatenate([b[1] for b in b1])
    assert set(np.unique(ys)) == {0, 1, 2, 3}
    other = next(ds.train_batches(training.model_copy(update={"seed": 1}), seed_config.windows))
    assert not np.array_equal(other[0], x)


@pytest.mark.slow
def test_train_dataset_is_tf_data(synthetic_prepared, seed_config):
    import tensorflow as tf

    training = seed_config.training.model_copy(update={"batch_size": 16})
    ds = synthetic_prepared.train_dataset(training, seed_config.windows)
    assert isinstance(ds, tf.data.Dataset)
    assert ds.element_spec[0].shape == (16, 800) and ds.element_spec[1].dtype == tf.int32
    batches = list(ds.take(3).as_numpy_iterator())
    ref = synthetic_prepared.train_batches(training, seed_config.windows)
    for x, y in batches:
        rx, ry = next(ref)
        assert np.array_equal(x, rx) and np.array_equal(y, ry)
