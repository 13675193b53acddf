"""Host reference outputs of one model: Keras float, TFLite int8 (reference kernels), TFLM on the host.

The device's int8 outputs are compared against these.  TFLite runs with the
``BUILTIN_REF`` op resolver (the reference kernels, never XNNPACK or the
optimised ones) from LiteRT, because ``tf.lite.Interpreter`` is deprecated in
TensorFlow 2.21; TFLM runs through the ``tflite_micro`` package.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hil.errors import ConfigError


@dataclass(frozen=True)
class References:
    """What the host says one model outputs on the same windows, row for row."""

    tflite: np.ndarray  # int8 [N, C]: TFLite's reference kernels (BUILTIN_REF)
    tflm_host: np.ndarray  # int8 [N, C]: TFLM on the host
    keras: np.ndarray | None  # float32 logits [N, C] of the trained model; None when not asked for


def reference_outputs(
    tflite_path: Path, x_float: np.ndarray, x_int8: np.ndarray | None = None, keras_path: Path | None = None
) -> References:
    """Keras float (when ``keras_path`` is given), TFLite int8 and TFLM-host int8 outputs on the same windows.

    ``x_int8`` are the windows as the int8 models see them; None quantises ``x_float`` with the
    model's input quantisation (hil.export.quantize.quantize_input, TFLite's QUANTIZE kernel).
    The export stage and ``hil run`` both call this, so they score the same references.
    """
    if x_int8 is None:
        from hil.export.quantize import quantize_input
        from hil.export.tflite_info import read_io

        inp, _ = read_io(tflite_path)
        x_int8 = quantize_input(x_float, inp.scale, inp.zero_point)
    keras = keras_logits(keras_path, x_float) if keras_path is not None else None
    return References(tflite_ref_outputs(tflite_path, x_int8), tflm_host_outputs(tflite_path, x_int8), keras)


@lru_cache(maxsize=4)
def _keras_model(model_path: str, mtime: float):
    import keras

    from hil.model.losses import custom_objects

    return keras.models.load_model(model_path, custom_objects=custom_objects(), compile=False)


def load_keras_model(model_path: Path):
    """The trained Keras model at ``model_path``, loaded once per file version (cached)."""
    p = Path(model_path)
    if not p.exists():
        raise ConfigError(f"{p}: no trained model here; run `hil train` first")
    return _keras_model(str(p.resolve()), p.stat().st_mtime)


def keras_logits(model_path: Path, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Float32 logits [N, C] of the trained Keras model (inference mode)."""
    x = np.asarray(x, np.float32)
    return np.asarray(load_keras_model(model_path).predict(x, batch_size=batch_size, verbose=0), np.float32)


def _check_input(x_int8: np.ndarray, shape: tuple[int, ...], where: Path) -> np.ndarray:
    x = np.asarray(x_int8)
    if x.dtype != np.int8:
        raise ConfigError(f"{where}: reference input must be int8 (use hil.export.quantize.quantize_input), got {x.dtype}")
    per_window = tuple(shape[1:])
    if x.ndim == len(shape) - 1:
        x = x[None]
    if tuple(x.shape[1:]) != per_window:
        raise ConfigError(f"{where}: input windows have shape {x.shape[1:]}, the model expects {per_window}")
    return x


def tflite_ref_outputs(tflite_path: Path, x_int8: np.ndarray) -> np.ndarray:
    """int8 outputs [N, C] of the .tflite run window by window with TFLite's reference kernels."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    path = Path(tflite_path)
    interp = Interpreter(
        model_content=path.read_bytes(), experimental_op_resolver_type=OpResolverType.BUILTIN_REF, num_threads=1
    )
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    x = _check_input(x_int8, tuple(inp["shape"]), path)
    results = np.empty((len(x), *out["shape"][1:]), np.int8)
    for i, window in enumerate(x):
        interp.set_tensor(inp["index"], window[None])
        interp.invoke()
        results[i] = interp.get_tensor(out["index"])[0]
    return results


def tflm_host_outputs(tflite_path: Path, x_int8: np.ndarray) -> np.ndarray:
    """int8 outputs [N, C] of the .tflite run window by window by TFLM (reference kernels) on the host."""
    from tflite_micro import runtime

    path = Path(tflite_path)
    interp = runtime.Interpreter.from_bytes(path.read_bytes())
    inp, out = interp.get_input_details(0), interp.get_output_details(0)
    x = _check_input(x_int8, tuple(inp["shape"]), path)
    results = np.empty((len(x), *out["shape"][1:]), np.int8)
    for i, window in enumerate(x):
        interp.set_input(window[None], 0)
        interp.invoke()
        results[i] = interp.get_output(0)[0]
    return results
