"""The EfficientNetV2-style 1-D network, built from a config's ``architecture`` block.

Layer names are readable paths (``stem.conv``, ``stage3.mbconv1.se.squeeze``,
``head.logits``) so a summary, a checkpoint and the exported op list can be
read against the config.  Every op used maps onto a TFLite builtin the
firmware engines support: ReLU6 fuses into the preceding conv, the SE gate's
hard-sigmoid is written as ``relu6(x + 3) * (1/6)`` (CONV_2D + MUL after the
converter folds the +3 into the conv bias), global means become MEAN, and
the Dense head is a 1x1 conv (see build_model) so no FULLY_CONNECTED is emitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hil.config import ArchitectureCfg, BlockCfg
from hil.errors import ConfigError

if TYPE_CHECKING:  # keras is heavy: import it where a model is built
    import keras

# 0.9 rather than Keras' 0.99: the moving statistics settle within ~50 steps, so short
# schedules (profile quick, test fixtures) give a model that works in inference mode;
# the full schedule (5,000 steps) ends at the same statistics either way.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-3


def _activation(name: str):
    import keras

    table = {
        "relu6": lambda: keras.layers.ReLU(max_value=6.0),
        "relu": lambda: keras.layers.ReLU(),
        "swish": lambda: keras.layers.Activation("swish"),
    }
    if name not in table:
        raise ConfigError(f"architecture: activation {name!r} is not supported; use one of {sorted(table)}")
    return table[name]()


def _act(x, kind: str, name: str):
    layer = _activation(kind)
    layer.name = name  # type: ignore[misc]
    return layer(x)


def _hard_sigmoid(x, name: str):
    """relu6(x + 3) / 6, spelled with a ReLU6 layer and a constant multiply (TFLite: fused RELU6 + MUL)."""
    import keras

    x = keras.layers.Rescaling(scale=1.0, offset=3.0, name=f"{name}.offset")(x)
    x = keras.layers.ReLU(max_value=6.0, name=f"{name}.relu6")(x)
    return keras.layers.Rescaling(scale=1.0 / 6.0, name=f"{name}.scale")(x)


def _squeeze_excite(x, reduced: int, prefix: str):
    import keras

    channels = x.shape[-1]
    s = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}.pool")(x)
    s = keras.layers.Conv2D(reduced, (1, 1), use_bias=True, name=f"{prefix}.squeeze")(s)
    s = keras.layers.ReLU(max_value=6.0, name=f"{prefix}.squeeze.act")(s)
    s = keras.layers.Conv2D(channels, (1, 1), use_bias=True, name=f"{prefix}.excite")(s)
    s = _hard_sigmoid(s, f"{prefix}.gate")
    return keras.layers.Multiply(name=f"{prefix}.mul")([x, s])


def _mbconv(x, block: BlockCfg, first: bool, prefix: str, activation: str):
    """One MBConv: [expand 1x1] -> depthwise -> [pool] -> [SE] -> project 1x1 (+ residual when shapes allow)."""
    import keras

    inputs = x
    c_in = x.shape[-1]
    if block.ex_ratio > 1:
        x = keras.layers.Conv2D(c_in * block.ex_ratio, (1, 1), use_bias=False, name=f"{prefix}.expand")(x)
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{prefix}.expand.bn")(x)
        x = _act(x, activation, f"{prefix}.expand.act")
    strides = tuple(block.strides) if first else (1, 1)
    x = keras.layers.DepthwiseConv2D(
        tuple(block.kernel_size), strides=strides, padding="same", use_bias=False, name=f"{prefix}.dp"
    )(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{prefix}.dp.bn")(x)
    x = _act(x, activation, f"{prefix}.dp.act")
    pooled = first and block.pool is not None and tuple(block.pool) != (1, 1)
    if pooled:
        x = keras.layers.MaxPooling2D(tuple(block.pool), padding="same", name=f"{prefix}.pool")(x)
    if block.se_ratio > 0:
        reduced = x.shape[-1] // block.se_ratio
        if reduced < 1:
            raise ConfigError(
                f"architecture.blocks: {prefix} has {x.shape[-1]} channels, too few for se_ratio {block.se_ratio}; "
                "lower se_ratio or set it to 0"
            )
        x = _squeeze_excite(x, reduced, f"{prefix}.se")
    x = keras.layers.Conv2D(block.filters, (1, 1), use_bias=False, name=f"{prefix}.proj")(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"{prefix}.proj.bn")(x)
    downsampled = pooled or strides != (1, 1)
    if not downsampled and c_in == block.filters:
        x = keras.layers.Add(name=f"{prefix}.add")([inputs, x])
    return x


def build_model(arch: ArchitectureCfg, frame_size: int, num_classes: int, *, batch_size: int | None = None) -> "keras.Model":
    """The network for ``arch``: input float32 [B, frame_size], output logits [B, num_classes].

    ``batch_size`` fixes the batch dimension (1 for export: no dynamic shapes).
    Raises ConfigError when the block list cannot be built or the parameter
    count differs from ``arch.expected_params``.
    """
    import keras

    if frame_size < 1 or num_classes < 2:
        raise ConfigError(f"architecture: frame_size {frame_size} / classes {num_classes} cannot make a classifier")
    inputs = keras.Input(shape=(frame_size,), batch_size=batch_size, name="input")
    x = keras.layers.Reshape((1, frame_size, 1), name="reshape")(inputs)
    stem = arch.stem
    x = keras.layers.Conv2D(
        stem.filters, tuple(stem.kernel_size), strides=tuple(stem.strides), padding="same", use_bias=False,
        name="stem.conv",
    )(x)
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name="stem.bn")(x)
    x = _act(x, stem.activation, "stem.act")
    for s, block in enumerate(arch.blocks, start=1):
        for d in range(block.depth):
            if x.shape[2] is not None and x.shape[2] < 1:
                raise ConfigError(f"architecture.blocks[{s - 1}]: the frame is pooled away before stage {s}")
            x = _mbconv(x, block, d == 0, f"stage{s}.mbconv{d + 1}", stem.activation)
    x = keras.layers.GlobalAveragePooling2D(keepdims=True, name="head.pool")(x)
    if arch.head.dropout > 0:
        x = keras.layers.Dropout(arch.head.dropout, name="head.dropout")(x)
    # Dense(num_classes) written as a 1x1 conv on the 1x1 map (same weights and maths): TFLM's int8
    # FULLY_CONNECTED rounds differently from TFLite's reference kernel (1 LSB on ~0.5% of windows),
    # CONV_2D is bit-exact in both, so every host reference and the device can agree exactly.
    x = keras.layers.Conv2D(num_classes, (1, 1), use_bias=True, name="head.logits")(x)
    outputs = keras.layers.Reshape((num_classes,), name="head.flatten")(x)
    model = keras.Model(inputs, outputs, name=arch.name)
    if arch.expected_params is not None and model.count_params() != arch.expected_params:
        raise ConfigError(
            f"architecture: the network has {model.count_params():,} parameters but expected_params is "
            f"{arch.expected_params:,}; fix the block list or expected_params"
        )
    return model


def param_counts(model: "keras.Model") -> dict[str, int]:
    """Total, trainable and non-trainable parameter counts."""
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    total = int(model.count_params())
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}
