"""Single-op and small multi-op Keras models with random shapes, quantised like an export."""

from __future__ import annotations

import numpy as np

from bench.support.models import quantize, random_rep


def _k():
    import keras

    return keras


def _build(inputs, outputs, shapes, seed, float_io=False) -> bytes:
    keras = _k()
    model = keras.Model(inputs, outputs)
    return quantize(model, random_rep(shapes, seed), float_io=float_io)


def conv2d(rng: np.random.Generator, seed: int) -> bytes:
    keras = _k()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    h, w = int(rng.integers(1, 6)), int(rng.integers(6, 20))
    cin, cout = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    kh, kw = int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, 6))
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pad = str(rng.choice(["same", "valid"]))
    dil = (1, int(rng.integers(1, 3))) if stride == (1, 1) and pad == "same" else (1, 1)
    act = str(rng.choice(["linear", "relu", "relu6"]))
    inp = keras.Input((h, w, cin), batch_size=1)
    out = L.Conv2D(cout, (kh, kw), strides=stride, padding=pad, dilation_rate=dil, activation=act,
                   use_bias=bool(rng.integers(0, 2)), bias_initializer="random_normal")(inp)
    return _build(inp, out, [(1, h, w, cin)], seed)


def depthwise(rng: np.random.Generator, seed: int) -> bytes:
    keras = _k()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    h, w, c = int(rng.integers(1, 5)), int(rng.integers(6, 24)), int(rng.integers(1, 11))
    kh, kw = int(rng.integers(1, min(h, 3) + 1)), int(rng.integers(1, 10))
    stride = (1, int(rng.integers(1, 3)))
    pad = str(rng.choice(["same", "valid"]))
    dm = int(rng.choice([1, 1, 2]))
    act = str(rng.choice(["linear", "relu", "relu6"]))
    inp = keras.Input((h, w, c), batch_size=1)
    out = L.DepthwiseConv2D((kh, kw), strides=stride, padding=pad, depth_multiplier=dm, activation=act,
                            use_bias=bool(rng.integers(0, 2)), bias_initializer="random_normal")(inp)
    return _build(inp, out, [(1, h, w, c)], seed)


def pool(rng: np.random.Generator, seed: int, kind: str) -> bytes:
    keras = _k()
    L = keras.layers
    h, w, c = int(rng.integers(1, 5)), int(rng.integers(5, 30)), int(rng.integers(1, 12))
    ph, pw = int(rng.integers(1, min(h, 2) + 1)), int(rng.integers(1, 4))
    stride = (int(rng.integers(1, ph + 1)), int(rng.integers(1, 3)))
    pad = str(rng.choice(["same", "valid"]))
    inp = keras.Input((h, w, c), batch_size=1)
    x = L.Conv2D(c, 1)(inp)     # gives the pool an int8 input with its own quantisation
    layer = L.MaxPooling2D if kind == "max" else L.AveragePooling2D
    out = layer((ph, pw), strides=stride, padding=pad)(x)
    return _build(inp, out, [(1, h, w, c)], seed)


def mean(rng: np.random.Generator, seed: int) -> bytes:
    keras = _k()
    L = keras.layers
    h, w, c = int(rng.integers(1, 4)), int(rng.integers(1, 60)), int(rng.integers(1, 40))
    inp = keras.Input((h, w, c), batch_size=1)
    out = L.GlobalAveragePooling2D(keepdims=bool(rng.integers(0, 2)))(inp)
    return _build(inp, out, [(1, h, w, c)], seed)


def mul(rng: np.random.Generator, seed: int, kind: str) -> bytes:
    keras = _k()
    L = keras.layers
    h, w, c = int(rng.integers(1, 3)), int(rng.integers(2, 30)), int(rng.integers(1, 20))
    a = keras.Input((h, w, c), batch_size=1)
    if kind == "broadcast":      # [1,H,W,C] x [1,1,1,C], as squeeze-excite does
        return _se_multiply(a, h, w, c, seed)
    if kind == "same":
        y = L.Conv2D(c, 1)(a)
        out = L.Multiply()([a, y])
    else:                        # times a constant scalar (hard-sigmoid's / 6)
        out = L.Lambda(lambda t: t * 0.1666666)(L.Activation("relu6")(a))
    return _build(a, out, [(1, h, w, c)], seed)


def _se_multiply(a, h, w, c, seed):
    """Models here have one input: derive the broadcast operand from it (global mean + 1x1 conv)."""
    keras = _k()
    L = keras.layers
    s = L.GlobalAveragePooling2D(keepdims=True)(a)
    s = L.Conv2D(c, 1, activation="sigmoid")(s)
    out = L.Multiply()([a, s])
    return _build(a, out, [(1, h, w, c)], seed)


def add(rng: np.random.Generator, seed: int, kind: str) -> bytes:
    keras = _k()
    L = keras.layers
    h, w, c = int(rng.integers(1, 3)), int(rng.integers(2, 30)), int(rng.integers(1, 20))
    a = keras.Input((h, w, c), batch_size=1)
    y = L.Conv2D(c, 1, activation="relu")(a)
    if kind == "broadcast":
        y = L.GlobalAveragePooling2D(keepdims=True)(y)
    out = L.Add()([a, y])
    return _build(a, out, [(1, h, w, c)], seed)


def dense(rng: np.random.Generator, seed: int) -> bytes:
    keras = _k()
    L = keras.layers
    n, units = int(rng.integers(1, 120)), int(rng.integers(1, 20))
    inp = keras.Input((n,), batch_size=1)
    out = L.Dense(units, activation=str(rng.choice(["linear", "relu"])), bias_initializer="random_normal")(inp)
    return _build(inp, out, [(1, n)], seed)


def activation(rng: np.random.Generator, seed: int, name: str) -> bytes:
    keras = _k()
    L = keras.layers
    n = int(rng.integers(2, 64))
    inp = keras.Input((n,), batch_size=1)
    x = L.Dense(n)(inp)          # an int8 producer with its own scale
    out = L.Activation(name)(x)
    return _build(inp, out, [(1, n)], seed)


def reshape_chain(rng: np.random.Generator, seed: int) -> bytes:
    keras = _k()
    L = keras.layers
    w, c = int(rng.integers(4, 30)), int(rng.integers(1, 8))
    inp = keras.Input((w * c,), batch_size=1)
    x = L.Reshape((1, w, c))(inp)
    x = L.Conv2D(c + 1, (1, 3), padding="same", activation="relu")(x)
    x = L.Reshape((w * (c + 1),))(x)
    out = L.Dense(3)(x)
    return _build(inp, out, [(1, w * c)], seed)


def float_io(rng: np.random.Generator, seed: int) -> bytes:
    """Float input and output: QUANTIZE first, DEQUANTIZE last."""
    keras = _k()
    L = keras.layers
    n = int(rng.integers(2, 40))
    inp = keras.Input((n,), batch_size=1)
    out = L.Dense(int(rng.integers(1, 8)))(inp)
    return _build(inp, out, [(1, n)], seed, float_io=True)


def conv_dw_chain(seed: int) -> bytes:
    """Fixed shapes that reach every Cortex-M4 path: a 2x3 conv over 7 channels (two-row gather,
    row 42 padded to 44, 9 output channels: pairs and a single), a 2x5 depthwise over 10 channels
    (two 4-channel groups and a tail of 2), a max pool over 10 channels (SIMD groups and tail)."""
    keras = _k()
    L = keras.layers
    keras.utils.set_random_seed(seed)
    inp = keras.Input((3, 12, 7), batch_size=1)
    x = L.Conv2D(9, (2, 3), padding="same", activation="relu")(inp)
    x = L.Conv2D(10, 1)(x)
    x = L.DepthwiseConv2D((2, 5), padding="same", activation="relu6")(x)
    out = L.MaxPooling2D((1, 2), padding="same")(x)
    return _build(inp, out, [(1, 3, 12, 7)], seed)
