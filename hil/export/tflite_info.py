"""Reading a .tflite flatbuffer: input/output quantisation, shapes and the op list.

Uses the flatbuffer schema shipped with TensorFlow (no hand parser), so the
answer is the file's own, independent of any interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hil.errors import ConfigError

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

_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}


@dataclass(frozen=True)
class TensorQuant:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    def as_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema

    return schema


def _load(path: Path):
    schema = _schema()
    try:
        buf = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the .tflite model ({exc.strerror}); run `hil export` first") from None
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ConfigError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)")
    return schema, schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))


def _op_name(schema, code) -> str:
    # deprecated_builtin_code is an int8 that saturates at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES)
    value = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    for name, v in vars(schema.BuiltinOperator).items():
        if not name.startswith("_") and v == value:
            return name
    return f"BUILTIN_{value}"


def read_ops(tflite_path: Path) -> list[str]:
    """Builtin op names of every operator, in execution order of the main subgraph."""
    schema, model = _load(tflite_path)
    names = [_op_name(schema, c) for c in model.operatorCodes]
    return [names[op.opcodeIndex] for op in model.subgraphs[0].operators]


def _tensor(t) -> TensorQuant:
    q = t.quantization
    scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else 0.0
    zp = int(q.zeroPoint[0]) if q is not None and q.zeroPoint is not None and len(q.zeroPoint) else 0
    return TensorQuant(tuple(int(d) for d in t.shape), _DTYPES.get(int(t.type), f"type{t.type}"), scale, zp)


def read_io(tflite_path: Path) -> tuple[TensorQuant, TensorQuant]:
    """The (single) input and output tensor of the main subgraph."""
    _, model = _load(tflite_path)
    sg = model.subgraphs[0]
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise ConfigError(f"{tflite_path}: expected one input and one output tensor, got {len(sg.inputs)}/{len(sg.outputs)}")
    return _tensor(sg.tensors[sg.inputs[0]]), _tensor(sg.tensors[sg.outputs[0]])


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
    _, model = _load(tflite_path)
    sg = model.subgraphs[0]
    dynamic, floats = [], []
    for t in sg.tensors:
        name = t.name.decode() if isinstance(t.name, bytes) else str(t.name)
        sig = t.shapeSignature
        if sig is not None and len(sig) and any(int(d) < 0 for d in sig):
            dynamic.append(name)
        if int(t.type) == 0:
            floats.append(name)
    if dynamic:
        raise ConfigError(f"{tflite_path}: tensors with dynamic shapes: {', '.join(dynamic[:8])}; export a batch-1 graph")
    if floats:
        raise ConfigError(f"{tflite_path}: float32 tensors left after int8 quantisation: {', '.join(floats[:8])}")
