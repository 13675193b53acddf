"""The export stage: int8 .tflite, C header, manifest, and the float/int8/TFLM comparison on test windows.

The graph is converted from a batch-1 copy of the trained network (same
weights) frozen into constants, so every shape in the .tflite is static.
Calibration uses validation windows only; the test windows are used only to
report what quantisation cost.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hil import ui
from hil.artifacts import (
    ArtifactPaths,
    is_fresh,
    sha256_file,
    sha256_json,
    write_json_atomic,
    write_manifest,
)
from hil.config import ModelConfig
from hil.errors import ConfigError, DataError, GateFailed
from hil.export.header import render_header
from hil.export.tflite_info import check_ops, read_io, read_ops, read_static_and_types

if TYPE_CHECKING:
    from hil.data import PreparedDataset

# Bump when the export code changes what it writes (invalidates cached exports).
EXPORT_VERSION = 2
TFLITE_NAME = "model.tflite"
METRICS_NAME = "metrics.json"


def quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """float32 windows -> int8 exactly as TFLite's QUANTIZE kernel: round half away from zero of x / scale, + zp."""
    q = np.asarray(x, np.float32) / np.float32(scale)
    q = np.sign(q) * np.floor(np.abs(q) + np.float32(0.5))
    return np.clip(q + zero_point, -128, 127).astype(np.int8)


def convert_int8(model, calibration: np.ndarray, *, align: bool = True) -> bytes:
    """Full-integer .tflite (int8 in/out, int8 weights and activations, int32 bias) of a batch-1 Keras model.

    ``align`` nudges MUL output scales so TFLite and TFLM requantise identically (hil.export.align).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    shape = [int(d) for d in model.inputs[0].shape]
    if shape[0] != 1:
        raise ConfigError(f"export needs a batch-1 model, got input shape {shape}")
    fn = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
    frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
    import logging

    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # the frozen-graph path warns that it is "deprecated"; it is the one that freezes
    try:
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
    finally:
        absl.setLevel(level)
    # TF 2.21 quantises FULLY_CONNECTED per channel; TFLM's reference FC then rounds differently from
    # TFLite's (1 LSB on some windows).  Per-tensor FC weights keep every reference bit-exact.
    converter._experimental_disable_per_channel_quantization_for_dense_layers = os.environ.get("HIL_PCFC") is None
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    calib = np.asarray(calibration, np.float32)

    def representative():
        for window in calib:
            yield [window[None]]

    converter.representative_dataset = representative
    from hil import ui
    from hil.quiet_tf import stderr_fd_silenced

    # The converter prints its settings from C++ straight to fd 2; keep them for --verbose.
    quiet = contextlib.nullcontext() if ui.is_verbose() else stderr_fd_silenced()
    with warnings.catch_warnings(), quiet:
        warnings.simplefilter("ignore")
        try:
            tflite = bytes(converter.convert())
        except Exception as exc:  # converter errors are long MLIR dumps: keep the first line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"TFLite conversion failed: {first}", hint="check the architecture block") from None
    if align:
        from hil.export.align import align_mul_scales

        tflite, _ = align_mul_scales(tflite)
    return tflite


def require_trained(cfg: ModelConfig, paths: ArtifactPaths) -> Path:
    """The trained model.keras, or ConfigError saying how to make it."""
    model_path = paths.train / "model.keras"
    if not model_path.exists():
        raise ConfigError(
            f"{model_path}: no trained model; run `hil train --model models/{cfg.name}` first "
            f"(with the same --work)"
        )
    return model_path


def export_inputs(cfg: ModelConfig, ds: "PreparedDataset", paths: ArtifactPaths) -> dict[str, str]:
    model_path = require_trained(cfg, paths)
    return {
        "model": sha256_file(model_path),
        "dataset": ds.fingerprint,
        "architecture": sha256_json(cfg.architecture),
        "classes": sha256_json(cfg.classes),
        "preprocess": sha256_json(cfg.preprocess),
        "quantization": sha256_json(cfg.quantization),
        "export": sha256_json(cfg.export),
        "evaluation": sha256_json(cfg.evaluation),
        "code": str(EXPORT_VERSION),
    }


def export_model(cfg: ModelConfig, ds: "PreparedDataset", paths: ArtifactPaths, *, eval_limit: int | None = None) -> Path:
    """Convert the trained model to int8, write model.tflite, the C header, metrics.json and manifest.json.

    Returns the export folder; reuses it when its manifest matches.  A failure
    (unsupported op, conversion error) leaves the previous export untouched.
    Raises GateFailed when int8 costs more accuracy than quantization.max_accuracy_drop;
    the export is written (or reused) and kept in ``paths.export`` all the same.
    """
    inputs = export_inputs(cfg, ds, paths)
    out = paths.export
    if is_fresh(out, inputs, required=[TFLITE_NAME, cfg.export.header, METRICS_NAME]):
        ui.info(f"export: up to date in {out}")
    else:
        staging = out.parent / f".{out.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            _write_export(cfg, ds, paths, inputs, staging, eval_limit)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
        ui.info(f"export: wrote {out / TFLITE_NAME} ({(out / TFLITE_NAME).stat().st_size:,} bytes) and {out / cfg.export.header}")
    check_quantization_gate(out)
    return out


def check_quantization_gate(export_dir: Path) -> None:
    """GateFailed when the export's int8 model lost more test accuracy than its limit allowed."""
    check = json.loads((export_dir / METRICS_NAME).read_text())["quantization_check"]
    if not check["passed"]:
        raise GateFailed(
            f"int8 quantisation lost {check['accuracy_drop']:.3f} accuracy on the test windows, more than "
            f"quantization.max_accuracy_drop {check['limit']:g}; artifacts kept in {export_dir}"
        )


def _write_export(cfg: ModelConfig, ds: "PreparedDataset", paths: ArtifactPaths, inputs: dict[str, str],
                  staging: Path, eval_limit: int | None) -> None:
    """Everything export_model writes, into ``staging``."""
    from hil.export.align import align_mul_scales
    from hil.export.references import load_keras_model
    from hil.model.network import build_model, param_counts

    keras_path = paths.train / "model.keras"
    fixed = build_model(cfg.architecture, cfg.preprocess.frame_size, len(cfg.classes.names), batch_size=1)
    fixed.set_weights(load_keras_model(keras_path).get_weights())

    calib = ds.windows(cfg.quantization.calibration_split, limit=cfg.quantization.calibration_windows)
    if len(calib.x) == 0:
        raise DataError(f"dataset {ds.name}: no {cfg.quantization.calibration_split} windows to calibrate quantisation")
    ui.info(f"export: converting to int8, calibrated on {len(calib.x)} {cfg.quantization.calibration_split} windows")
    tflite, aligned = align_mul_scales(convert_int8(fixed, calib.x, align=False))
    stuck = [a["tensor"] for a in aligned if not a["aligned"]]
    if stuck:
        ui.info(f"[yellow]export: TFLite and TFLM may differ by 1 LSB after MUL {', '.join(stuck)}[/yellow]")
    tflite_path = staging / TFLITE_NAME
    tflite_path.write_bytes(tflite)

    ops = read_ops(tflite_path)
    check_ops(ops, tflite_path)
    read_static_and_types(tflite_path)  # raises on dynamic shapes / float tensors
    inp, outq = read_io(tflite_path)
    (staging / cfg.export.header).write_text(render_header(tflite, cfg.export.var_name, inp, outq))

    metrics = compare_on_test(cfg, ds, keras_path, tflite_path, staging, limit=eval_limit)
    write_json_atomic(staging / METRICS_NAME, metrics)

    outputs: dict[str, Any] = {
        "sha256": sha256_file(tflite_path),
        "bytes": len(tflite),
        "ops": ops,
        "input": inp.as_dict(),
        "output": outq.as_dict(),
        "class_names": list(cfg.classes.names),
        "preprocess": cfg.preprocess.model_dump(mode="json"),
        "params": param_counts(fixed)["total"],
        "tflite": TFLITE_NAME,
        "header": cfg.export.header,
        "var_name": cfg.export.var_name,
        "calibration": {"split": cfg.quantization.calibration_split, "windows": int(len(calib.x))},
        "quantization_check": metrics["quantization_check"],
        # MUL output scales moved by a few ulps so TFLite and TFLM requantise alike (hil.export.align)
        "mul_scale_alignment": aligned,
    }
    write_manifest(staging, "export", inputs, outputs)


def compare_on_test(
    cfg: ModelConfig, ds: "PreparedDataset", keras_path: Path, tflite_path: Path, out_dir: Path, *, limit: int | None = None
) -> dict[str, Any]:
    """Keras float vs TFLite int8 (reference kernels) vs TFLM-host on the test windows, side by side."""
    from hil.export.references import reference_outputs
    from hil.model.evaluate import classification_metrics, plot_confusion
    from hil.quant import dequantize

    test = ds.windows("test", limit=limit)
    if len(test.x) == 0:
        raise DataError(f"dataset {ds.name}: no test windows to evaluate the export on")
    names = list(cfg.classes.names)
    thr = cfg.evaluation.threshold
    _, outq = read_io(tflite_path)
    ui.info(f"export: evaluating Keras, TFLite (reference kernels) and TFLM on {len(test.x)} test windows")
    refs = reference_outputs(tflite_path, test.x, keras_path=keras_path)
    logits, q_ref, q_tflm = refs.keras, refs.tflite, refs.tflm_host
    results = {
        "keras": classification_metrics(test.y, logits, names, thr),
        "tflite": classification_metrics(test.y, dequantize(q_ref, outq.scale, outq.zero_point), names, thr),
        "tflm_host": classification_metrics(test.y, dequantize(q_tflm, outq.scale, outq.zero_point), names, thr),
    }
    for key, m in results.items():
        plot_confusion(m, names, out_dir / f"confusion_{key}.png", f"{cfg.name}: {key} on {len(test.x)} test windows")
    top_keras = logits.argmax(axis=1)
    top_ref = q_ref.argmax(axis=1)
    drop = results["keras"]["accuracy"] - results["tflite"]["accuracy"]
    return {
        "split": "test",
        "windows": int(len(test.x)),
        "threshold": thr,
        **results,
        "agreement": {
            "keras_vs_tflite_top1": float(np.mean(top_keras == top_ref)),
            "tflite_vs_tflm_top1": float(np.mean(top_ref == q_tflm.argmax(axis=1))),
            "tflite_vs_tflm_exact": float(np.mean(np.all(q_ref == q_tflm, axis=1))),
            "tflite_vs_tflm_max_abs_diff_lsb": int(np.abs(q_ref.astype(np.int32) - q_tflm.astype(np.int32)).max()),
        },
        "quantization_check": {
            "accuracy_drop": float(drop),
            "limit": cfg.quantization.max_accuracy_drop,
            "passed": bool(drop <= cfg.quantization.max_accuracy_drop + 1e-12),
        },
    }

