"""Keras models for the aot engine's tests: single ops, small chains and the seed network.

Everything is quantised through the real TF converter (int8 in/out) with random
representative data, so the tests see the same quantisation parameters, op
variants and per-channel scales as an exported model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def _keras():
    import keras

    return keras


def seed_model(frame: int = 800, classes: int = 4, filters=(24, 32, 48, 64, 80, 96), seed: int = 0,
               data: np.ndarray | None = None):
    """The seed architecture (EfficientNetV2-style 1-D network, ARCHITECTURE.md) with random weights."""
    keras = _keras()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    inp = keras.Input((frame,), batch_size=1)
    x = L.Reshape((1, frame, 1))(inp)
    x = L.Conv2D(24, (1, 9), strides=(1, 2), padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu6")(x)
    for f in filters:
        c = x.shape[-1]
        x = L.DepthwiseConv2D((1, 9), strides=(1, 1), padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.Activation("relu6")(x)
        x = L.MaxPooling2D((1, 2), padding="same")(x)
        s = L.GlobalAveragePooling2D(keepdims=True)(x)
        s = L.Conv2D(max(1, c // 4), 1, activation="relu6")(s)
        s = L.Conv2D(c, 1, activation="hard_sigmoid")(s)
        x = L.Multiply()([x, s])
        x = L.Conv2D(f, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.2)(x)
    out = L.Dense(classes)(x)
    model = keras.Model(inp, out)
    if data is not None:
        _data_dependent_bn(model, data, seed)
    return model


def _data_dependent_bn(model, data: np.ndarray, seed: int) -> None:
    """Set each BatchNorm's statistics from the activations it sees on ``data``
    (layer by layer), with random gamma/beta near (1, 0): an untrained network
    whose activations neither die nor saturate, so its outputs vary with the
    input like a trained one's do."""
    keras = _keras()
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.__class__.__name__ != "BatchNormalization":
            continue
        probe = keras.Model(model.inputs, layer.input)
        a = probe.predict(data, verbose=0)
        axes = tuple(range(a.ndim - 1))
        g, b, _, _ = layer.get_weights()
        layer.set_weights([
            rng.uniform(0.8, 1.6, g.shape).astype(np.float32),
            rng.normal(0.5, 0.5, b.shape).astype(np.float32),
            a.mean(axis=axes).astype(np.float32),
            a.var(axis=axes).astype(np.float32) + 1e-3,
        ])
    # logits spread over a few units so the int8 output has something to resolve
    dense = model.layers[-1]
    w, bias = dense.get_weights()
    feats = keras.Model(model.inputs, dense.input).predict(data, verbose=0)
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-6)
    dense.set_weights([(w * 3).astype(np.float32), (bias - (feats.mean(0) @ w)).astype(np.float32)])


def quantize(model, rep: Callable[[], "Iterable[list[np.ndarray]]"], float_io: bool = False) -> bytes:
    """Full-integer quantisation with int8 input and output, as the export stage does
    (float_io: keep float input/output, i.e. QUANTIZE/DEQUANTIZE ops at the edges)."""
    import warnings

    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # "Statistics for quantized inputs were expected"
        return conv.convert()


def random_rep(shapes: list[tuple[int, ...]], seed: int, n: int = 16, scale: float = 1.0):
    """A representative dataset of random normal inputs with a random offset per input."""
    rng = np.random.default_rng(seed)
    offs = [rng.normal(0, 0.5) for _ in shapes]

    def gen():
        for _ in range(n):
            yield [(rng.normal(o, scale, s)).astype(np.float32) for s, o in zip(shapes, offs)]

    return gen


def seed_tflite(out: Path, filters=(24, 32, 48, 64, 80, 96), name: str = "seed.tflite") -> Path:
    """The seed architecture (random weights, data-dependent BatchNorm) as an int8 .tflite in ``out``."""
    from bench.support import signals

    cal = signals.realish(64, 800, seed=5)
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(quantize(seed_model(filters=filters, data=cal, seed=0), lambda: ([c[None]] for c in cal)))
    return path
