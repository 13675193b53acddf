"""What the export stage checks in a .tflite: input/output quantisation, shapes, the op list.

A thin layer over hil.tflite, the one flatbuffer reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hil.errors import ConfigError
from hil.tflite import Tensor, read_tflite

# The op set both firmware engines (aot and tflm) implement for int8.
SUPPORTED_OPS: frozenset[str] = frozenset(
    {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "MEAN",
        "MUL",
        "FULLY_CONNECTED",
        "RESHAPE",
        "ADD",
        "AVERAGE_POOL_2D",
        "LOGISTIC",
        "HARD_SWISH",
        "SOFTMAX",
        "QUANTIZE",
        "DEQUANTIZE",
    }
)

@dataclass(frozen=True)
class TensorQuant:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


def read_ops(tflite_path: Path) -> list[str]:
    """Builtin op names of every operator, in execution order of the main subgraph."""
    return read_tflite(tflite_path).op_names


def _quant(t: Tensor) -> TensorQuant:
    return TensorQuant(t.shape, t.type_name, t.scale, t.zero_point)


def read_io(tflite_path: Path) -> tuple[TensorQuant, TensorQuant]:
    """The (single) input and output tensor of the main subgraph."""
    g = read_tflite(tflite_path)
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ConfigError(f"{tflite_path}: expected one input and one output tensor, got {len(g.inputs)}/{len(g.outputs)}")
    return _quant(g.tensors[g.inputs[0]]), _quant(g.tensors[g.outputs[0]])


def read_io_quant(tflite_path: Path) -> tuple[float, int, float, int, tuple[int, ...], tuple[int, ...]]:
    """(input_scale, input_zp, output_scale, output_zp, input_shape, output_shape)."""
    i, o = read_io(tflite_path)
    return i.scale, i.zero_point, o.scale, o.zero_point, i.shape, o.shape


def check_ops(ops: list[str], where: Path | str, supported: frozenset[str] | None = None) -> None:
    """ConfigError listing every op of ``ops`` that the firmware engines do not implement."""
    supported = SUPPORTED_OPS if supported is None else supported
    bad = sorted({o for o in ops if o not in supported})
    if bad:
        raise ConfigError(
            f"{where}: the model uses ops the firmware engines do not support: {', '.join(bad)} "
            f"(supported: {', '.join(sorted(supported))})",
            hint="change the architecture in the model config so it converts to supported ops only",
        )


def read_static_and_types(tflite_path: Path) -> None:
    """ConfigError when a tensor has a dynamic dimension or is float (a full-integer model has none)."""
    tensors = read_tflite(tflite_path).tensors
    dynamic = [t.name for t in tensors if any(d < 0 for d in t.shape_signature)]
    floats = [t.name for t in tensors if t.type_name == "float32"]
    if dynamic:
        raise ConfigError(f"{tflite_path}: tensors with dynamic shapes: {', '.join(dynamic[:8])}; export a batch-1 graph")
    if floats:
        raise ConfigError(f"{tflite_path}: float32 tensors left after int8 quantisation: {', '.join(floats[:8])}")
