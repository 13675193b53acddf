"""Host references: TFLite reference kernels and TFLM on the host, on the same int8 windows.

TFLite 2.21 derives an int8 MUL's requantisation multiplier in float32 and
TFLM in double; the export nudges MUL output scales so both agree
(hil.export.align), after which the two references are bit-exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hil.export.quantize import convert_int8, quantize_input
from hil.export.references import keras_logits, reference_outputs, tflite_ref_outputs, tflm_host_outputs
from hil.export.tflite_info import read_io, read_ops

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def test_windows(tiny_model):
    w = tiny_model.dataset.windows("test")
    inp, _ = read_io(tiny_model.export_dir / "model.tflite")
    return w, quantize_input(w.x, inp.scale, inp.zero_point)


def test_reference_outputs_is_the_three_references_on_the_same_windows(tiny_model, test_windows):
    tfl, keras_path = tiny_model.export_dir / "model.tflite", tiny_model.train_dir / "model.keras"
    w, xq = test_windows
    refs = reference_outputs(tfl, w.x[:40], keras_path=keras_path)  # int8 windows quantised from the float ones
    np.testing.assert_array_equal(refs.tflite, tflite_ref_outputs(tfl, xq[:40]))
    np.testing.assert_array_equal(refs.tflm_host, tflm_host_outputs(tfl, xq[:40]))
    np.testing.assert_array_equal(refs.keras, keras_logits(keras_path, w.x[:40]))
    assert reference_outputs(tfl, w.x[:5], xq[:5]).keras is None


def test_references_agree_on_the_tiny_export(tiny_model, test_windows):
    tfl = tiny_model.export_dir / "model.tflite"
    _, xq = test_windows
    ref = tflite_ref_outputs(tfl, xq)
    micro = tflm_host_outputs(tfl, xq)
    assert ref.dtype == micro.dtype == np.int8 and ref.shape == micro.shape == (len(xq), 4)
    assert len(np.unique(ref, axis=0)) > len(xq) // 4  # the model's outputs really vary with the input
    np.testing.assert_array_equal(ref, micro)
    rng = np.random.default_rng(11)
    noise = rng.integers(-128, 128, size=(300, xq.shape[1]), dtype=np.int8)
    np.testing.assert_array_equal(tflite_ref_outputs(tfl, noise), tflm_host_outputs(tfl, noise))
    # deterministic: the same window gives the same bytes again
    assert np.array_equal(tflite_ref_outputs(tfl, xq[:3]), ref[:3])
    assert np.array_equal(tflm_host_outputs(tfl, xq[:3]), micro[:3])


def test_references_are_bit_exact_without_mul(tmp_path):
    """Same network family without squeeze-excite (no MUL): TFLite reference and TFLM agree exactly."""
    from hil.config import ArchitectureCfg
    from hil.model.network import build_model

    arch = ArchitectureCfg.model_validate(
        {
            "stem": {"filters": 8, "kernel_size": [1, 9], "strides": [1, 2]},
            "blocks": [{"filters": f, "kernel_size": [1, 9], "se_ratio": 0} for f in (8, 16, 24)],
        }
    )
    import keras

    keras.utils.set_random_seed(5)
    model = build_model(arch, 200, 3, batch_size=1)
    rng = np.random.default_rng(5)
    # give BatchNorm non-trivial statistics so activations use the int8 range
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.1, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.05, 0.2, c).astype(np.float32))
    calib = rng.standard_normal((64, 200)).astype(np.float32)
    tfl = tmp_path / "no_mul.tflite"
    tfl.write_bytes(convert_int8(model, calib))
    assert "MUL" not in read_ops(tfl)
    inp, _ = read_io(tfl)
    xq = quantize_input(rng.standard_normal((300, 200)), inp.scale, inp.zero_point)
    ref, micro = tflite_ref_outputs(tfl, xq), tflm_host_outputs(tfl, xq)
    assert len(np.unique(ref, axis=0)) > 10
    assert np.array_equal(ref, micro)


def test_int8_model_follows_the_float_model(tiny_model, test_windows):
    w, xq = test_windows
    logits = keras_logits(tiny_model.train_dir / "model.keras", w.x)
    ref = tflite_ref_outputs(tiny_model.export_dir / "model.tflite", xq)
    assert logits.shape == (len(w.x), 4)
    assert np.mean(logits.argmax(1) == ref.argmax(1)) >= 0.9
    metrics = json.loads((tiny_model.export_dir / "metrics.json").read_text())
    assert metrics["tflite"]["confusion"] == _confusion(w.y, ref.argmax(1))


def _confusion(y, p):
    m = np.zeros((4, 4), int)
    for a, b in zip(y, p):
        m[a, b] += 1
    return m.tolist()


def test_wrong_input_is_a_config_error(tiny_export: Path):
    from hil.errors import ConfigError

    with pytest.raises(ConfigError, match="must be int8"):
        tflite_ref_outputs(tiny_export / "model.tflite", np.zeros((1, 800), np.float32))
    with pytest.raises(ConfigError, match="the model expects"):
        tflm_host_outputs(tiny_export / "model.tflite", np.zeros((1, 700), np.int8))
