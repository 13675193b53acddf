"""Per-op bit-exactness of the aot engine on random shapes and quantisation parameters.

Each case builds a small Keras model (random shapes, activations, padding,
strides), quantises it through the TF converter with random representative
data (int8 in/out), generates C, compiles it natively with the kernels, and
compares every output with TFLite's BUILTIN_REF interpreter and with TFLM.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.aot import check, native, op_models

pytestmark = pytest.mark.slow

BUILDERS = {
    "conv2d": op_models.conv2d,
    "depthwise": op_models.depthwise,
    "max_pool": lambda r, s: op_models.pool(r, s, "max"),
    "avg_pool": lambda r, s: op_models.pool(r, s, "avg"),
    "mean": op_models.mean,
    "mul_broadcast": lambda r, s: op_models.mul(r, s, "broadcast"),
    "mul_same": lambda r, s: op_models.mul(r, s, "same"),
    "add_same": lambda r, s: op_models.add(r, s, "same"),
    "add_broadcast": lambda r, s: op_models.add(r, s, "broadcast"),
    "fully_connected": op_models.dense,
    "logistic": lambda r, s: op_models.activation(r, s, "sigmoid"),
    "hard_swish": lambda r, s: op_models.activation(r, s, "hard_swish"),
    "softmax": lambda r, s: op_models.activation(r, s, "softmax"),
    "reshape_chain": op_models.reshape_chain,
    "quantize_dequantize": op_models.float_io,
}
EXPECTED_OP = {
    "conv2d": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D", "max_pool": "MAX_POOL_2D",
    "avg_pool": "AVERAGE_POOL_2D", "mean": "MEAN", "mul_broadcast": "MUL", "mul_same": "MUL",
    "add_same": "ADD", "add_broadcast": "ADD", "fully_connected": "FULLY_CONNECTED", "logistic": "LOGISTIC",
    "hard_swish": "HARD_SWISH", "softmax": "SOFTMAX", "reshape_chain": "RESHAPE", "quantize_dequantize": "QUANTIZE",
}
SEEDS = (0, 1)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_op_bit_exact(name: str, seed: int, tmp_path) -> None:
    import keras

    keras.utils.set_random_seed(1000 * seed + len(name))
    rng = np.random.default_rng([seed, len(name), ord(name[0])])
    tflite = BUILDERS[name](rng, seed)
    c = check.check_model(tflite, tmp_path, n=40, seed=seed)
    assert EXPECTED_OP[name] in c.info.ops, c.info.ops
    check.assert_bit_exact(c)
    # the case exercised something: outputs vary across inputs
    assert len({row.tobytes() for row in c.aot}) > 1
    if seed == 0 and c.info.input.dtype == "int8":
        # the same kernels under AddressSanitizer + UndefinedBehaviorSanitizer (borders, odd channel counts)
        exe = native.build_filter(tmp_path / "gen", tmp_path / "aot_filter")
        assert np.array_equal(native.run_filter(exe, c.x, c.info.output.bytes), c.aot)


QEMU_CASES = ["conv_dw_chain", "conv2d", "depthwise", "max_pool", "mul_broadcast", "add_broadcast",
              "fully_connected", "softmax"]


@pytest.mark.qemu
@pytest.mark.parametrize("name", QEMU_CASES)
def test_op_bit_exact_on_cortex_m4(name: str, tmp_path) -> None:
    """The Cortex-M4 build (DSP paths: SMLAD dot products, 4-channel depthwise and max pool, their
    tails for odd channel counts) on QEMU mps2-an386 gives the reference outputs."""
    import keras

    from bench.support import qemu_bench

    if not qemu_bench.tools_available():
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    seed = 2
    keras.utils.set_random_seed(1000 * seed + len(name))
    rng = np.random.default_rng([seed, len(name), ord(name[0])])
    tflite = op_models.conv_dw_chain(seed) if name == "conv_dw_chain" else BUILDERS[name](rng, seed)
    c = check.check_model(tflite, tmp_path, n=24, seed=seed)
    check.assert_bit_exact(c)
    r = qemu_bench.measure(tmp_path / "gen", tmp_path / "qemu", windows=c.x)
    got = np.array(r.windows, np.int8)
    assert np.array_equal(got, c.ref.reshape(got.shape)), f"{c.info.ops}"
