"""The two host references the aot engine must match bit for bit."""

from __future__ import annotations

import numpy as np


def tflite_ref(model: bytes, x: np.ndarray) -> np.ndarray:
    """TFLite interpreter with the BUILTIN_REF resolver (reference kernels, never XNNPACK)."""
    import warnings

    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # tf.lite.Interpreter's deprecation notice
        it = tf.lite.Interpreter(model_content=model,
                                 experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    outs = []
    for row in x:
        it.set_tensor(i["index"], row.reshape(i["shape"]).astype(i["dtype"]))
        it.invoke()
        outs.append(it.get_tensor(o["index"]).reshape(-1).copy())
    return np.stack(outs)


def tflm_ref(model: bytes, x: np.ndarray) -> np.ndarray:
    """TFLM's reference kernels on the host (tflite_micro python runtime)."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model)
    shape = it.get_input_details(0)["shape"]
    outs = []
    for row in x:
        it.set_input(row.reshape(shape), 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).reshape(-1).copy())
    return np.stack(outs)
