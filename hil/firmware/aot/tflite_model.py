"""Reads a .tflite flatbuffer (schema from the tensorflow package) into a small graph IR."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hil.errors import ConfigError


_SCHEMA = None


def _schema():
    """TFLite's generated flatbuffer schema module from the tensorflow package.

    Loaded from its file so that generating C does not pay for importing
    TensorFlow itself (the module only needs ``flatbuffers``).
    """
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


# TFLite TensorType codes we name in messages and map to numpy.
_TYPES = {0: ("float32", np.float32), 2: ("int32", np.int32), 3: ("uint8", np.uint8),
          4: ("int64", np.int64), 7: ("int16", np.int16), 9: ("int8", np.int8)}


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
    op_names: dict[int, str] = field(default_factory=dict)


def read_tflite(path: Path) -> Graph:
    schema = _schema()
    buf = Path(path).read_bytes()
    try:
        model = schema.Model.GetRootAsModel(buf, 0)
        n_sub = model.SubgraphsLength()
    except Exception as e:
        raise ConfigError(f"{path}: not a readable .tflite flatbuffer ({e})") from e
    if n_sub != 1:
        raise ConfigError(f"{path}: the aot engine supports one subgraph, the model has {n_sub}")
    g = model.Subgraphs(0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    opt_names = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}

    tensors = []
    for i in range(g.TensorsLength()):
        t = g.Tensors(i)
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = None
        b = model.Buffers(t.Buffer())
        if b is not None and b.DataLength() > 0:
            raw = b.DataAsNumpy().tobytes()
            dtype = _TYPES.get(t.Type(), (None, np.uint8))[1]
            data = np.frombuffer(raw, dtype=dtype).reshape(shape if shape else ())
        elif b is not None and b.Offset() > 1:
            off, size = int(b.Offset()), int(b.Size())
            dtype = _TYPES.get(t.Type(), (None, np.uint8))[1]
            data = np.frombuffer(buf[off:off + size], dtype=dtype).reshape(shape if shape else ())
        q = t.Quantization()
        scales = q.ScaleAsNumpy().astype(np.float32) if q is not None and q.ScaleLength() else np.zeros(0, np.float32)
        zps = q.ZeroPointAsNumpy().astype(np.int64) if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
        qdim = int(q.QuantizedDimension()) if q is not None else 0
        name = t.Name().decode("utf-8", "replace") if t.Name() else f"t{i}"
        tensors.append(Tensor(i, name, shape, int(t.Type()), data, scales, zps, qdim))

    ops = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        options = None
        table = op.BuiltinOptions()
        if table is not None and op.BuiltinOptionsType() in opt_names:
            cls = getattr(schema, opt_names[op.BuiltinOptionsType()], None)
            if cls is not None:
                options = cls()
                options.Init(table.Bytes, table.Pos)
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append(Operator(i, names.get(code, f"CUSTOM#{code}"), code, ins, outs, options))
    return Graph(tensors, ops, [int(x) for x in g.InputsAsNumpy()], [int(x) for x in g.OutputsAsNumpy()])
