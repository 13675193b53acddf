"""Model sources for the ``tflm`` engine (firmware/engines/tflm), made on the host.

``generate(tflite_path, out_dir)`` writes into ``out_dir``:

- the export's C header holding the flatbuffer (``ecg_rhythm_flatbuffer.h``, copied from
  the export folder, or rendered from the .tflite when there is none),
- ``tflm_model_data.cc``: the one translation unit that defines that array,
- ``tflm_ops.cc``: an op resolver filled with exactly the model's builtin ops
  (``AddConv2D()`` ...) and the builtin code of every operator (for PROFILE),
- ``hil_tflm_model.h``: op count, input bytes, arena size, the model's SHA-256.

The arena is sized from the model: the tflite-micro Python package (the same TFLM,
built for the 64-bit host) allocates the model with its recording allocator, and we
add a margin. Pointers and structs are larger on the host than on a 32-bit
Cortex-M, so the host figure is already an upper bound; the margin covers kernels
whose scratch buffers depend on the build (CMSIS-NN). The firmware reports what
it really uses (``arena_used_bytes``) in INFO.

``preserve_all=True`` makes the diagnosis image's sources (DUMP, docs/diagnose.md):
``HIL_TFLM_PRESERVE_ALL`` in ``hil_tflm_model.h`` builds the interpreter with
``preserve_all_tensors`` (TFLM's linear planner: no arena reuse, every tensor
readable after the invoke), and the arena is sized for that: the smallest arena
in which the host's TFLM allocates the model with ``kPreserveAllTensors``, plus
the same margin. The run's image is generated without it, byte for byte as before.

Test builds only: ``-DHIL_FAULT_OP_CODE=<builtin code>`` (CMake cache variable)
wraps the invoke of that op type's registration in the resolver so it adds one
LSB to the op's int8 output (the diagnosis tests' known first divergence).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hil.errors import ConfigError
from hil.export.header import render_header
from hil.export.tflite_info import read_io, read_ops
from hil.tflite import schema

DEFAULT_VAR_NAME = "hil_model_tflite"
ARENA_MARGIN_FRACTION = 0.10
ARENA_MARGIN_BYTES = 2048
ARENA_ALIGN = 256

# BuiltinOperator name -> MicroMutableOpResolver method (TFLM's public API names).
RESOLVER_METHODS: dict[str, str] = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax", "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable", "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul", "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs", "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast", "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize", "DIV": "AddDiv",
    "DYNAMIC_UPDATE_SLICE": "AddDynamicUpdateSlice", "EMBEDDING_LOOKUP": "AddEmbeddingLookup",
    "ELU": "AddElu", "EQUAL": "AddEqual", "EXP": "AddExp", "EXPAND_DIMS": "AddExpandDims", "FILL": "AddFill",
    "FLOOR": "AddFloor", "FLOOR_DIV": "AddFloorDiv", "FLOOR_MOD": "AddFloorMod",
    "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather", "GATHER_ND": "AddGatherNd",
    "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual", "HARD_SWISH": "AddHardSwish", "IF": "AddIf",
    "L2_NORMALIZATION": "AddL2Normalization", "L2_POOL_2D": "AddL2Pool2D", "LEAKY_RELU": "AddLeakyRelu",
    "LESS": "AddLess", "LESS_EQUAL": "AddLessEqual", "LOG": "AddLog", "LOGICAL_AND": "AddLogicalAnd",
    "LOGICAL_NOT": "AddLogicalNot", "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic",
    "LOG_SOFTMAX": "AddLogSoftmax", "MAXIMUM": "AddMaximum", "MAX_POOL_2D": "AddMaxPool2D",
    "MIRROR_PAD": "AddMirrorPad", "MEAN": "AddMean", "MINIMUM": "AddMinimum", "MUL": "AddMul", "NEG": "AddNeg",
    "NOT_EQUAL": "AddNotEqual", "PACK": "AddPack", "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu",
    "QUANTIZE": "AddQuantize", "READ_VARIABLE": "AddReadVariable", "REDUCE_ALL": "AddReduceAll",
    "REDUCE_MAX": "AddReduceMax", "REDUCE_MIN": "AddReduceMin", "RELU": "AddRelu", "RELU6": "AddRelu6",
    "RESHAPE": "AddReshape", "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "REVERSE_V2": "AddReverseV2", "ROUND": "AddRound",
    "RSQRT": "AddRsqrt", "SELECT_V2": "AddSelectV2", "SHAPE": "AddShape", "SIN": "AddSin", "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQUEEZE": "AddSqueeze", "SQRT": "AddSqrt",
    "SQUARE": "AddSquare", "SQUARED_DIFFERENCE": "AddSquaredDifference", "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf", "TANH": "AddTanh", "TRANSPOSE_CONV": "AddTransposeConv",
    "TRANSPOSE": "AddTranspose", "UNPACK": "AddUnpack",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM", "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
}  # fmt: skip


@dataclass
class TflmInfo:
    arena_bytes: int  # size of the firmware's static arena (host estimate + margin)
    host_arena_bytes: int  # what TFLM on the 64-bit host allocated
    ops: list[str] = field(default_factory=list)  # every operator, execution order
    model_bytes: int = 0  # the flatbuffer
    header: str = ""
    var_name: str = ""


def resolver_calls(ops: list[str], where: Path | str) -> list[str]:
    """The resolver methods for the model's distinct ops, in first-use order; ConfigError on an unknown op."""
    unique = list(dict.fromkeys(ops))
    bad = [o for o in unique if o not in RESOLVER_METHODS]
    if bad:
        raise ConfigError(
            f"{where}: TFLM has no builtin kernel for op(s) {', '.join(bad)}",
            hint="change the architecture so it converts to TFLM builtin ops, or use --engine aot",
        )
    return [RESOLVER_METHODS[o] for o in unique]


def _builtin_codes(ops: list[str]) -> list[int]:
    enum = schema().BuiltinOperator
    return [int(getattr(enum, o)) for o in ops]


_ALLOC_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")

_ARENA_PROBE = """
import sys
from tflite_micro.python.tflite_micro import runtime
interp = runtime.Interpreter.from_file(sys.argv[1])
interp.print_allocations()
"""


def host_arena_bytes(tflite_path: Path) -> int:
    """Arena bytes TFLM (tflite-micro Python package) allocates for the model on this host."""
    m = _ALLOC_TOTAL.search(_probe(_ARENA_PROBE, tflite_path))
    if not m:
        raise ConfigError(f"{tflite_path}: TFLM (tflite-micro package) printed no arena allocation total")
    return int(m.group(1))


# Bisects the arena size: kPreserveAllTensors allocations cannot be recorded, so the smallest arena
# in which AllocateTensors succeeds is the figure (TFLM prints its failures: captured, not shown).
_PRESERVE_ALL_PROBE = """
import sys
from tflite_micro.python.tflite_micro import runtime
def fits(n):
    try:
        runtime.Interpreter.from_file(sys.argv[1], arena_size=n,
                                      intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    except Exception:
        return False
    return True
lo, hi = 0, int(sys.argv[2])
if not fits(hi):
    sys.exit(f"does not allocate with every tensor kept in {hi} bytes")
while hi - lo > 16:
    mid = (lo + hi) // 2
    lo, hi = (lo, mid) if fits(mid) else (mid, hi)
print(f"PRESERVE_ALL_ARENA {hi}")
"""
PRESERVE_ALL_PROBE_LIMIT = 64 << 20  # bytes tried at most: far above any board's RAM
_PRESERVE_TOTAL = re.compile(r"PRESERVE_ALL_ARENA (\d+)")


def _probe(script: str, tflite_path: Path, *args: str) -> str:
    """Runs a tflite-micro probe in a child (TFLM prints from C++ to the process's stdout); its output."""
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tflite_path), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip()[-800:]
        raise ConfigError(f"{tflite_path}: TFLM (tflite-micro package) could not allocate the model: {tail}")
    return proc.stdout + proc.stderr


def preserve_all_arena_bytes(tflite_path: Path) -> int:
    """Arena bytes TFLM on this host needs for the model with every tensor preserved (no arena reuse)."""
    m = _PRESERVE_TOTAL.search(_probe(_PRESERVE_ALL_PROBE, tflite_path, str(PRESERVE_ALL_PROBE_LIMIT)))
    if not m:
        raise ConfigError(f"{tflite_path}: the preserve-all-tensors arena probe printed no size")
    return int(m.group(1))


def arena_with_margin(host_bytes: int) -> int:
    raw = host_bytes + int(host_bytes * ARENA_MARGIN_FRACTION) + ARENA_MARGIN_BYTES
    return (raw + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN


def _export_header(tflite_path: Path) -> tuple[Path | None, str]:
    """The export's C header and its array name, from the export manifest next to the .tflite."""
    manifest = tflite_path.parent / "manifest.json"
    try:
        outputs = json.loads(manifest.read_text()).get("outputs", {})
    except (OSError, ValueError):
        return None, DEFAULT_VAR_NAME
    header, var = outputs.get("header"), outputs.get("var_name")
    if header and var and (tflite_path.parent / header).is_file():
        return tflite_path.parent / header, str(var)
    return None, str(var or DEFAULT_VAR_NAME)


def _c_bytes(data: bytes) -> str:
    return ", ".join(f"0x{b:02x}" for b in data)


# Test builds only: the registration of op type HIL_FAULT_OP_CODE invokes the real kernel, then adds one
# LSB to its int8 output (saturating), as aot's generated HIL_FAULT does.
_FAULT_CC = """
#ifdef HIL_FAULT_OP_CODE
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "tensorflow/lite/micro/micro_utils.h"

namespace {

TfLiteStatus (*hil_fault_real_invoke)(TfLiteContext *, TfLiteNode *);

TfLiteStatus hil_fault_invoke(TfLiteContext *context, TfLiteNode *node)
{
    TfLiteStatus status = hil_fault_real_invoke(context, node);
    TfLiteEvalTensor *out = tflite::micro::GetEvalOutput(context, node, 0);
    if (status == kTfLiteOk && out != nullptr && out->type == kTfLiteInt8) {
        int8_t *p = tflite::micro::GetTensorData<int8_t>(out);
        for (int i = 0, n = tflite::ElementCount(*out->dims); i < n; ++i) {
            p[i] = (int8_t)(p[i] < 127 ? p[i] + 1 : p[i]);
        }
    }
    return status;
}

/* The interpreter keeps pointers to the resolver's registrations: wrapping one in place affects every op
 * of that type. The resolver is no const object (placement new in RAM), so the cast is sound. */
TfLiteStatus hil_fault_wrap(HilTflmOpResolver &r)
{
    auto *reg = const_cast<TFLMRegistration *>(r.FindOp(static_cast<tflite::BuiltinOperator>(HIL_FAULT_OP_CODE)));
    if (reg == nullptr || reg->invoke == nullptr) {
        return kTfLiteError; /* the model has no op of that type: the test would prove nothing */
    }
    hil_fault_real_invoke = reg->invoke;
    reg->invoke = hil_fault_invoke;
    return kTfLiteOk;
}

}  // namespace
#endif
"""


def render_ops_cc(ops: list[str], calls: list[str]) -> str:
    adds = "\n".join(f"    if (r.{c}() != kTfLiteOk) return kTfLiteError;" for c in calls)
    codes = _builtin_codes(ops)
    rows = ",\n".join("    " + ", ".join(str(c) for c in codes[i : i + 16]) for i in range(0, len(codes), 16))
    return f"""// Generated by hil.firmware.tflm_gen from the model's op list. Do not edit.
// Operators: {len(ops)}; distinct builtin ops: {', '.join(dict.fromkeys(ops))}.
#define HIL_TFLM_WITH_RESOLVER 1
#include "hil_tflm_model.h"

#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
{_FAULT_CC}
const uint16_t hil_tflm_op_codes[HIL_TFLM_OPERATORS] = {{
{rows}
}};

TfLiteStatus hil_tflm_register_ops(HilTflmOpResolver &r)
{{
{adds}
#ifdef HIL_FAULT_OP_CODE
    return hil_fault_wrap(r);
#else
    return kTfLiteOk;
#endif
}}
"""


def render_model_h(ops: list[str], calls: list[str], arena: int, sha: bytes, var_name: str, *,
                   input_bytes: int = 0, preserve_all: bool = False) -> str:
    dump = (f"#define HIL_TFLM_PRESERVE_ALL 1  /* diagnosis image: every tensor kept (DUMP) */\n"
            f"#define HIL_TFLM_INPUT_BYTES {input_bytes}u\n") if preserve_all else ""
    return f"""// Generated by hil.firmware.tflm_gen. Do not edit.
#ifndef HIL_TFLM_MODEL_H
#define HIL_TFLM_MODEL_H

#include <stdint.h>

#define HIL_TFLM_OPERATORS {len(ops)}u      /* operators in the main subgraph */
#define HIL_TFLM_RESOLVER_OPS {len(calls)}u  /* distinct builtin ops registered */
#define HIL_TFLM_ARENA_BYTES {arena}u
{dump}#define HIL_TFLM_MODEL_SHA256_INIT {{{_c_bytes(sha)}}}

extern "C" const uint8_t *hil_tflm_model_data(void);
extern const uint16_t hil_tflm_op_codes[HIL_TFLM_OPERATORS];

#ifdef HIL_TFLM_WITH_RESOLVER
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
typedef tflite::MicroMutableOpResolver<HIL_TFLM_RESOLVER_OPS> HilTflmOpResolver;
TfLiteStatus hil_tflm_register_ops(HilTflmOpResolver &r);
#endif

/* model array: {var_name} */
#endif /* HIL_TFLM_MODEL_H */
"""


def _input_bytes(data: bytes) -> int:
    from hil.tflite import read_tflite

    g = read_tflite(data)
    return int(g.tensors[g.inputs[0]].nbytes)


def render_model_data_cc(header: str, var_name: str) -> str:
    return f"""// Generated by hil.firmware.tflm_gen. Do not edit.
// The one translation unit that defines the flatbuffer array of {header}.
#include "{header}"
#include "hil_tflm_model.h"

extern "C" const uint8_t *hil_tflm_model_data(void)
{{
    return {var_name};
}}
"""


def generate(tflite_path: Path, out_dir: Path, *, arena_bytes: int | None = None,
             preserve_all: bool = False) -> TflmInfo:
    """Writes the tflm engine's model sources for ``tflite_path`` into ``out_dir`` (``preserve_all``: those
    of the diagnosis image, every tensor kept in an arena sized for that)."""
    tflite_path = Path(tflite_path)
    out_dir = Path(out_dir)
    data = tflite_path.read_bytes()
    ops = read_ops(tflite_path)
    calls = resolver_calls(ops, tflite_path)
    header_src, var_name = _export_header(tflite_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    if header_src is not None:
        header_name = header_src.name
        shutil.copy2(header_src, out_dir / header_name)
    else:
        header_name = f"{var_name}.h"
        inp, outq = read_io(tflite_path)
        (out_dir / header_name).write_text(render_header(data, var_name, inp, outq, source=tflite_path.name))

    host = preserve_all_arena_bytes(tflite_path) if preserve_all else host_arena_bytes(tflite_path)
    arena = arena_bytes if arena_bytes is not None else arena_with_margin(host)
    sha = hashlib.sha256(data).digest()
    (out_dir / "hil_tflm_model.h").write_text(render_model_h(
        ops, calls, arena, sha, var_name, input_bytes=_input_bytes(data), preserve_all=preserve_all))
    (out_dir / "tflm_ops.cc").write_text(render_ops_cc(ops, calls))
    (out_dir / "tflm_model_data.cc").write_text(render_model_data_cc(header_name, var_name))
    return TflmInfo(
        arena_bytes=arena, host_arena_bytes=host, ops=ops, model_bytes=len(data), header=header_name, var_name=var_name
    )
