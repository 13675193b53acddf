"""The one reader of .tflite flatbuffers: the main subgraph as a small graph IR.

Uses TFLite's own generated schema (no hand parser), so the answer is the
file's, independent of any interpreter.  The schema module is loaded from its
file so that reading a model (the aot code generator, ``hil run``) does not pay
for importing TensorFlow itself; it only needs ``flatbuffers``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hil.errors import ConfigError

_SCHEMA = None

# TFLite TensorType codes we name in messages and map to numpy.
_TYPES = {0: ("float32", np.float32), 2: ("int32", np.int32), 3: ("uint8", np.uint8),
          4: ("int64", np.int64), 7: ("int16", np.int16), 9: ("int8", np.int8)}


def schema():
    """TFLite's generated flatbuffer schema module (``schema_py_generated``) from the tensorflow package."""
    global _SCHEMA
    if _SCHEMA is None:
        spec = importlib.util.find_spec("tensorflow")
        path = Path(spec.origin).parent / "lite/python/schema_py_generated.py" if spec and spec.origin else None
        if path is None or not path.is_file():
            raise ConfigError("cannot find the TFLite flatbuffer schema "
                              "(tensorflow/lite/python/schema_py_generated.py)",
                              hint="install the project's dependencies (tensorflow)")
        mspec = importlib.util.spec_from_file_location("hil_tflite_schema", path)
        module = importlib.util.module_from_spec(mspec)
        mspec.loader.exec_module(module)
        _SCHEMA = module
    return _SCHEMA


def type_name(code: int) -> str:
    return _TYPES.get(code, (f"type#{code}", None))[0]


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type: int                      # TFLite TensorType
    data: np.ndarray | None        # constant data, or None for activations
    scales: np.ndarray             # float32, empty when not quantised
    zero_points: np.ndarray        # int64
    quantized_dimension: int
    shape_signature: tuple[int, ...] = ()  # -1 marks a dynamic dimension
    scale_offset: int | None = None  # byte offset of scales[0] in the flatbuffer (hil.export.align patches it)

    @property
    def type_name(self) -> str:
        return type_name(self.type)

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        itemsize = np.dtype(_TYPES[self.type][1]).itemsize if self.type in _TYPES else 1
        return self.size * itemsize

    @property
    def scale(self) -> float:
        return float(self.scales[0]) if len(self.scales) else 0.0

    @property
    def scale_f32(self) -> np.float32:
        return np.float32(self.scales[0]) if len(self.scales) else np.float32(0)

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0]) if len(self.zero_points) else 0

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' {self.type_name}{list(self.shape)}"


@dataclass
class Operator:
    index: int
    name: str                      # BuiltinOperator name, e.g. CONV_2D
    code: int
    inputs: list[int]              # -1 for an omitted optional input
    outputs: list[int]
    options: Any                   # the schema's *Options object, or None


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    subgraphs: int = 1             # subgraphs in the file; the graph is the first (main) one

    @property
    def op_names(self) -> list[str]:
        """Builtin op name of every operator, in execution order."""
        return [op.name for op in self.operators]


def _model_bytes(source: Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), "model"
    try:
        return Path(source).read_bytes(), str(source)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the .tflite model ({exc.strerror}); run `hil export` first") from None


def read_tflite(source: Path | bytes) -> Graph:
    """The main subgraph of a .tflite (a path, or the flatbuffer's bytes); ConfigError if it is not one."""
    sch = schema()
    buf, where = _model_bytes(source)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ConfigError(f"{where}: not a TFLite flatbuffer (no TFL3 identifier)")
    try:
        model = sch.Model.GetRootAsModel(buf, 0)
        n_sub = model.SubgraphsLength()
        g = model.Subgraphs(0)
        tensors = [_tensor(model, g.Tensors(i), i, buf) for i in range(g.TensorsLength())]
        ops = [_operator(sch, model, g.Operators(i), i) for i in range(g.OperatorsLength())]
        ins = [int(x) for x in g.InputsAsNumpy()] if g.InputsLength() else []
        outs = [int(x) for x in g.OutputsAsNumpy()] if g.OutputsLength() else []
    except Exception as e:
        raise ConfigError(f"{where}: not a readable .tflite flatbuffer ({e})") from e
    return Graph(tensors, ops, ins, outs, n_sub)


def _tensor(model, t, i: int, buf: bytes) -> Tensor:
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    signature = tuple(int(d) for d in t.ShapeSignatureAsNumpy()) if t.ShapeSignatureLength() else ()
    dtype = _TYPES.get(t.Type(), (None, np.uint8))[1]
    data = None
    b = model.Buffers(t.Buffer())
    if b is not None and b.DataLength() > 0:
        data = np.frombuffer(b.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape if shape else ())
    elif b is not None and b.Offset() > 1:  # large models keep buffers after the flatbuffer
        off, size = int(b.Offset()), int(b.Size())
        data = np.frombuffer(buf[off:off + size], dtype=dtype).reshape(shape if shape else ())
    q = t.Quantization()
    scales = q.ScaleAsNumpy().astype(np.float32) if q is not None and q.ScaleLength() else np.zeros(0, np.float32)
    zps = q.ZeroPointAsNumpy().astype(np.int64) if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
    qdim = int(q.QuantizedDimension()) if q is not None else 0
    scale_at = q._tab.Vector(q._tab.Offset(8)) if len(scales) else None  # QuantizationParameters.scale
    name = t.Name().decode("utf-8", "replace") if t.Name() else f"t{i}"
    return Tensor(i, name, shape, int(t.Type()), data, scales, zps, qdim, signature, scale_at)


def _operator(sch, model, op, i: int) -> Operator:
    oc = model.OperatorCodes(op.OpcodeIndex())
    # deprecated_builtin_code is an int8 that saturates at 127 (PLACEHOLDER_FOR_GREATER_OP_CODES)
    code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
    options = None
    table = op.BuiltinOptions()
    opt_name = _names(sch.BuiltinOptions).get(op.BuiltinOptionsType())
    if table is not None and opt_name is not None:
        cls = getattr(sch, opt_name, None)
        if cls is not None:
            options = cls()
            options.Init(table.Bytes, table.Pos)
    ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
    outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
    return Operator(i, _names(sch.BuiltinOperator).get(code, f"CUSTOM#{code}"), code, ins, outs, options)


_NAMES: dict[type, dict[int, str]] = {}


def _names(enum) -> dict[int, str]:
    """value -> name of one of the schema's enum classes (cached: every operator asks)."""
    if enum not in _NAMES:
        _NAMES[enum] = {v: k for k, v in vars(enum).items() if not k.startswith("_")}
    return _NAMES[enum]
