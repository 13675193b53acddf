"""Window preprocessing shared by training, export calibration and the device runner.

Plain numpy: ``preprocess(x, cfg)`` bandpasses (optional, zero-phase second-order
sections) and z-normalises every window along its last axis:
``(x - mean) / sqrt(var + eps)`` with ``eps = cfg.znorm_eps`` (0.01).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from hil.config import ModelConfig, PreprocessCfg


def _cfg(cfg: PreprocessCfg | ModelConfig) -> PreprocessCfg:
    return cfg.preprocess if isinstance(cfg, ModelConfig) else cfg


@lru_cache(maxsize=16)
def bandpass_sos(low_hz: float, high_hz: float, order: int, sample_rate: float) -> np.ndarray:
    from scipy.signal import butter

    nyq = sample_rate / 2
    high = min(high_hz, 0.99 * nyq)
    return butter(order, [low_hz / nyq, high / nyq], btype="bandpass", output="sos")


def bandpass(x: np.ndarray, low_hz: float, high_hz: float, order: int, sample_rate: float) -> np.ndarray:
    """Zero-phase Butterworth bandpass (sosfiltfilt) along the last axis."""
    from scipy.signal import sosfiltfilt

    return sosfiltfilt(bandpass_sos(low_hz, high_hz, order, sample_rate), x, axis=-1)


def znorm(x: np.ndarray, eps: float = 0.01) -> np.ndarray:
    """Per-window z-normalisation along the last axis; ``eps`` keeps flat windows finite."""
    x = np.asarray(x, dtype=np.float32)
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + np.float32(eps))).astype(np.float32)


def preprocess(x: np.ndarray, cfg: PreprocessCfg | ModelConfig | None = None) -> np.ndarray:
    """float windows [..., n] (mV) -> float32 [..., n], as configured (default: the seed config's z-norm)."""
    p = _cfg(cfg) if cfg is not None else PreprocessCfg()
    x = np.asarray(x, dtype=np.float64 if p.bandpass else np.float32)
    if p.bandpass is not None:
        b = p.bandpass
        x = bandpass(x, b.low_hz, b.high_hz, b.order, p.sample_rate)
    return znorm(x, p.znorm_eps)
