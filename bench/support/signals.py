"""Test windows for the seed model: real-ish signals, uniform random, and the extremes."""

from __future__ import annotations

import numpy as np


def realish(n: int, frame: int, seed: int) -> np.ndarray:
    """Float windows that look like z-normalised ECG-ish traces: spikes at a random
    rate on a wandering baseline, sines, steps and noise, each z-normalised."""
    rng = np.random.default_rng(seed)
    t = np.arange(frame) / 100.0
    out = np.empty((n, frame), np.float32)
    for i in range(n):
        kind = i % 4
        if kind == 0:        # beats: narrow gaussians at a random heart rate
            hr = rng.uniform(0.6, 3.0)
            phase = rng.uniform(0, 1 / hr)
            beats = np.arange(phase, t[-1], 1 / hr) + rng.normal(0, 0.02, size=len(np.arange(phase, t[-1], 1 / hr)))
            x = sum(np.exp(-((t - b) ** 2) / (2 * 0.012**2)) for b in beats)
            x = x + 0.2 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t)
        elif kind == 1:      # sums of sines
            x = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * rng.uniform(0.3, 25) * t + rng.uniform(0, 6))
                    for _ in range(3))
        elif kind == 2:      # steps / square waves
            x = np.sign(np.sin(2 * np.pi * rng.uniform(0.2, 5) * t)) * rng.uniform(0.5, 2)
        else:                # noise with a random colour
            x = np.cumsum(rng.normal(0, 1, frame)) * rng.uniform(0, 0.3) + rng.normal(0, 1, frame)
        x = x + rng.normal(0, rng.uniform(0.01, 0.2), frame)
        x = (x - x.mean()) / np.sqrt(x.var() + 0.01)
        out[i] = x.astype(np.float32)
    return out


def quantize(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)


def extremes(frame: int) -> np.ndarray:
    alt = np.where(np.arange(frame) % 2 == 0, -128, 127).astype(np.int8)
    return np.stack([np.full(frame, -128, np.int8), np.full(frame, 127, np.int8), alt, -alt - 1,
                     np.zeros(frame, np.int8)])


def uniform(n: int, frame: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, frame), dtype=np.int8)
