"""generate(tflite, out_dir): C sources of the aot engine for one model.

Writes ``model_aot.c`` (weights and parameter blocks as ``const``, the static
arena, every function of ``firmware/include/hil_engine.h``) and
``model_aot.h`` (sizes), plus ``aot_info.json`` describing the result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hil.errors import ConfigError
from hil.firmware.aot.lower import FC_ROUNDINGS, FLOAT32, INT8, ConstArray, Lowered, lower_op
from hil.firmware.aot.planner import check_plan, plan_arena
from hil.tflite import Graph, Tensor, read_tflite

SOURCES = ("model_aot.c", "model_aot.h")
_CTYPE_BYTES = {"int8_t": 1, "int16_t": 2, "int32_t": 4, "uint8_t": 1}
_DTYPE = {INT8: 1, FLOAT32: 4}          # hil_dtype_t
_SCRATCH_BASE = 1 << 30                 # ids of per-op scratch buffers in the arena plan


@dataclass
class TensorInfo:
    shape: list[int]
    dtype: str
    scale: float
    zero_point: int
    bytes: int


@dataclass
class AotInfo:
    arena_bytes: int
    ops: list[str]
    weights_bytes: int
    model_sha256: str
    input: TensorInfo
    output: TensorInfo
    sources: list[str] = field(default_factory=list)
    out_dir: str = ""
    fc_rounding: str = "tflite"

    def to_json(self) -> dict:
        return asdict(self)


def generate(tflite_path: Path, out_dir: Path, *, fc_rounding: str = "tflite") -> AotInfo:
    """Generate the aot engine's C sources for ``tflite_path`` into ``out_dir``.

    ``fc_rounding`` picks the reference whose FULLY_CONNECTED rounding the engine
    follows where TFLite's BUILTIN_REF and TFLM differ (per-channel weights; see
    docs/aot.md): "tflite" (default) or "tflm". Every other op matches both.
    Raises ConfigError (naming the op and tensor) for anything unsupported.
    """
    if fc_rounding not in FC_ROUNDINGS:
        raise ConfigError(f"fc_rounding {fc_rounding!r}: expected one of {', '.join(FC_ROUNDINGS)}")
    tflite_path, out_dir = Path(tflite_path), Path(out_dir)
    if not tflite_path.is_file():
        raise ConfigError(f"{tflite_path}: model file not found", hint="run `hil export` first")
    blob = tflite_path.read_bytes()
    g = read_tflite(tflite_path)
    if g.subgraphs != 1:
        raise ConfigError(f"{tflite_path}: the aot engine supports one subgraph, the model has {g.subgraphs}")
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ConfigError(f"{tflite_path}: the aot engine needs exactly one input and one output "
                          f"(model has {len(g.inputs)} and {len(g.outputs)})")
    lowered = [lower_op(g, op, fc_rounding) for op in g.operators]
    t_in, t_out = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    for t, what in ((t_in, "input"), (t_out, "output")):
        if t.type not in _DTYPE:
            raise ConfigError(f"{tflite_path}: model {what} {t.describe()}: type not supported (int8 or float32)")
        if len(t.shape) > 4:
            raise ConfigError(f"{tflite_path}: model {what} {t.describe()}: more than 4 dimensions")

    # tensors living in the arena: every non-constant tensor an op touches
    arena_t: dict[int, int] = {}
    op_io: list[tuple[list[int], list[int]]] = []
    for lw in lowered:
        ins = [i for i in lw.op.inputs if i >= 0 and not g.tensors[i].is_const]
        outs = [o for o in lw.op.outputs if o >= 0]
        for t in ins + outs:
            arena_t[t] = g.tensors[t].nbytes
        op_io.append((ins, outs))
    for t in (t_in, t_out):
        arena_t.setdefault(t.index, t.nbytes)
    # per-op scratch: pseudo tensors alive only during their op
    scratch_ids: dict[int, int] = {}
    for i, lw in enumerate(lowered):
        if lw.scratch_bytes:
            sid = _SCRATCH_BASE + i
            scratch_ids[i] = sid
            arena_t[sid] = lw.scratch_bytes
            op_io[i][1].append(sid)
    aliases = {lw.alias[1]: lw.alias[0] for lw in lowered if lw.alias}
    inplace = {i: lw.inplace for i, lw in enumerate(lowered) if lw.inplace}
    plan = plan_arena(arena_t, op_io, g.inputs, g.outputs, aliases, inplace)
    check_plan(plan)

    sha = hashlib.sha256(blob).hexdigest()
    consts = [c for lw in lowered for c in lw.consts]
    weights_bytes = sum(c.values.size * _CTYPE_BYTES[c.ctype] for c in consts)
    out_dir.mkdir(parents=True, exist_ok=True)
    src = _emit_c(tflite_path.name, g, lowered, plan.offsets, plan.arena_bytes, sha, t_in, t_out, scratch_ids)
    (out_dir / "model_aot.c").write_text(src)
    (out_dir / "model_aot.h").write_text(_emit_h(plan.arena_bytes, len(lowered), weights_bytes, sha))
    info = AotInfo(
        arena_bytes=plan.arena_bytes,
        ops=[lw.op.name for lw in lowered],
        weights_bytes=weights_bytes,
        model_sha256=sha,
        input=_info(t_in),
        output=_info(t_out),
        sources=[str(out_dir / s) for s in SOURCES],
        out_dir=str(out_dir),
        fc_rounding=fc_rounding,
    )
    (out_dir / "aot_info.json").write_text(json.dumps(info.to_json(), indent=2) + "\n")
    return info


def _info(t: Tensor) -> TensorInfo:
    return TensorInfo(list(t.shape), t.type_name, t.scale, t.zero_point, t.nbytes)


def _array(c: ConstArray) -> str:
    vals = [str(int(v)) for v in np.asarray(c.values).reshape(-1)]
    if not vals:
        vals = ["0"]
    lines = [", ".join(vals[i:i + 16]) for i in range(0, len(vals), 16)]
    body = ",\n    ".join(lines)
    return f"static const {c.ctype} {c.name}[{len(vals)}] __attribute__((aligned(4))) = {{\n    {body}\n}};\n"


def _value(v: object) -> str:
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(_value(x) for x in v) + "}"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        v = int(v)
        return "INT32_MIN" if v == -(2**31) else str(v)
    return str(v)   # a C identifier (constant array)


def _emit_h(arena: int, n_ops: int, weights: int, sha: str) -> str:
    return f"""/* Generated by hil.firmware.aot from a .tflite model (sha256 {sha}). Do not edit. */
#ifndef MODEL_AOT_H
#define MODEL_AOT_H

#define AOT_ARENA_BYTES {arena}u
#define AOT_NUM_OPS {n_ops}u
#define AOT_WEIGHTS_BYTES {weights}u

#endif /* MODEL_AOT_H */
"""


def _tensor_info_c(name: str, t: Tensor) -> str:
    dims = list(t.shape) + [0] * (4 - len(t.shape))
    return (f"static const hil_tensor_info_t {name} = {{\n"
            f"    .dtype = {_DTYPE[t.type]}, .ndims = {len(t.shape)}, .dims = {{{', '.join(map(str, dims))}}},\n"
            f"    .bytes = {t.nbytes}u, .scale = {float(t.scale_f32)!r}f, .zero_point = {t.zero_point},\n}};\n")


# Test builds only (-DHIL_FAULT_OP_CODE=<TFLite builtin code>): one LSB added to the int8 output of
# every op of that type, so the diagnosis tests have a known first divergence.
_FAULT_C = """#ifdef HIL_FAULT_OP_CODE
static void fault_add_lsb(int8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        p[i] = (int8_t)(p[i] < 127 ? p[i] + 1 : p[i]);
    }
}
#define HIL_FAULT(code, ptr, n) do { if ((code) == HIL_FAULT_OP_CODE) { fault_add_lsb((ptr), (n)); } } while (0)
#else
#define HIL_FAULT(code, ptr, n) do { } while (0)
#endif

"""


def _op_outputs_c(g: Graph, lowered: list[Lowered], offsets: dict[int, int]) -> str:
    """Where each op's output lives in the arena and what it is (DUMP); zero bytes: not dumpable."""
    rows = []
    for lw in lowered:
        t = g.tensors[lw.op.outputs[0]]
        if t.type not in _DTYPE or len(t.shape) > 4 or t.index not in offsets:
            rows.append("    {0u, {0}},")
            continue
        dims = list(t.shape) + [0] * (4 - len(t.shape))
        rows.append(f"    {{{offsets[t.index]}u, {{.dtype = {_DTYPE[t.type]}, .ndims = {len(t.shape)}, "
                    f".dims = {{{', '.join(map(str, dims))}}}, .bytes = {t.nbytes}u, "
                    f".scale = {float(t.scale_f32)!r}f, .zero_point = {t.zero_point}}}}},")
    return ("typedef struct {\n    uint32_t offset;\n    hil_tensor_info_t info;\n} op_out_t;\n\n"
            f"static const op_out_t k_op_out[{max(len(rows), 1)}] = {{\n" + "\n".join(rows or ["    {0u, {0}},"]) + "\n};\n\n")


def _emit_c(model_name: str, g: Graph, lowered: list[Lowered], offsets: dict[int, int], arena: int,
            sha: str, t_in: Tensor, t_out: Tensor, scratch_ids: dict[int, int]) -> str:
    out: list[str] = []
    w = out.append
    w(f"/* Generated by hil.firmware.aot from {model_name} (sha256 {sha}). Do not edit.\n"
      f" * {len(lowered)} ops, arena {arena} bytes. Kernels: firmware/engines/aot/. */\n")
    w("#include <stdint.h>\n#include <string.h>\n\n#include \"aot_kernels.h\"\n#include \"hil_engine.h\"\n"
      "#include \"hil_port.h\"\n#include \"model_aot.h\"\n\n")
    w(f"static int8_t s_arena[{max(arena, 4)}] __attribute__((aligned(16)));\n")
    w(f"static uint32_t s_ticks[{max(len(lowered), 1)}];\n\n")
    sha_bytes = ", ".join(f"0x{b:02x}" for b in bytes.fromhex(sha))
    w(f"static const uint8_t k_model_sha256[32] = {{{sha_bytes}}};\n")
    codes = ", ".join(str(lw.op.code) for lw in lowered) or "0"
    w(f"static const uint16_t k_op_codes[{max(len(lowered), 1)}] = {{{codes}}};\n\n")
    w(_tensor_info_c("k_input_info", t_in))
    w(_tensor_info_c("k_output_info", t_out))
    w("\n")
    for lw in lowered:
        if lw.kernel is None:
            continue
        w(f"/* op {lw.op.index}: {lw.op.name} */\n")
        for c in lw.consts:
            w(_array(c))
        fields = ",\n".join(f"    .{k} = {_value(v)}" for k, v in lw.params.items())
        w(f"static const {lw.params_type} op{lw.op.index}_params = {{\n{fields},\n}};\n\n")

    def ptr(t: int, ctype: str, lw: Lowered) -> str:
        tensor = g.tensors[t]
        if tensor.is_const:
            # constant operands were emitted next to the parameters
            for c in lw.consts:
                if c.values.size == tensor.size and np.array_equal(c.values, tensor.data.reshape(-1)):
                    return c.name
            raise ConfigError(f"aot engine: op {lw.op.index} {lw.op.name}: unexpected constant {tensor.describe()}")
        return f"({ctype})(s_arena + {offsets[t]})"

    w("hil_engine_status_t hil_engine_init(void)\n{\n    memset(s_arena, 0, sizeof s_arena);\n"
      "    memset(s_ticks, 0, sizeof s_ticks);\n    return HIL_ENGINE_OK;\n}\n\n")
    w('const char *hil_engine_name(void)\n{\n    return "aot";\n}\n\n')
    w("const uint8_t *hil_engine_model_sha256(void)\n{\n    return k_model_sha256;\n}\n\n")
    w("uint32_t hil_engine_arena_bytes(void)\n{\n    return AOT_ARENA_BYTES;\n}\n\n")
    w("void hil_engine_input_info(hil_tensor_info_t *info)\n{\n    *info = k_input_info;\n}\n\n")
    w("void hil_engine_output_info(hil_tensor_info_t *info)\n{\n    *info = k_output_info;\n}\n\n")
    w(f"int8_t *hil_engine_input(void)\n{{\n    return s_arena + {offsets[t_in.index]};\n}}\n\n")
    w(f"const int8_t *hil_engine_output(void)\n{{\n    return s_arena + {offsets[t_out.index]};\n}}\n\n")
    w(_FAULT_C)
    w(_op_outputs_c(g, lowered, offsets))
    # One function runs the ops up to ``last``: the invoke runs them all, DUMP stops after one op
    # so its output is still in the arena (no arena without reuse is needed for the diagnosis).
    w("static void run_ops(size_t last)\n{\n    uint32_t t0 = hil_port_cycles(), t1;\n")
    for i, lw in enumerate(lowered):
        if lw.kernel is None:
            w(f"    /* op {i}: {lw.op.name} shares its input's storage */\n")
        else:
            args = [f"&op{lw.op.index}_params"] + [ptr(t, ct, lw) for t, ct in lw.args]
            if i in scratch_ids:
                args.append(f"s_arena + {offsets[scratch_ids[i]]}")
            elif lw.kernel == "aot_depthwise_conv2d":
                args.append("NULL")          # multiplier > 1: no scratch needed
            args = ", ".join(args)
            w(f"    {lw.kernel}({args});\n")
            out_t = g.tensors[lw.op.outputs[0]]
            if out_t.type == INT8:
                w(f"    HIL_FAULT({lw.op.code}, s_arena + {offsets[out_t.index]}, {out_t.nbytes}u);\n")
        w(f"    t1 = hil_port_cycles();\n    s_ticks[{i}] = t1 - t0;\n    t0 = t1;\n")
        w(f"    if (last == {i}u) {{\n        return;\n    }}\n")
    w("}\n\n")
    w("hil_engine_status_t hil_engine_invoke(void)\n{\n    run_ops(AOT_NUM_OPS - 1u);\n"
      "    return HIL_ENGINE_OK;\n}\n\n")
    w("const void *hil_engine_dump(size_t op_index, hil_tensor_info_t *info)\n{\n"
      "    if (op_index >= AOT_NUM_OPS || k_op_out[op_index].info.bytes == 0u) {\n        return NULL;\n    }\n"
      "    run_ops(op_index);\n    *info = k_op_out[op_index].info;\n"
      "    return s_arena + k_op_out[op_index].offset;\n}\n\n")
    w("size_t hil_engine_profile(hil_op_profile_t *out, size_t max)\n{\n"
      "    for (size_t i = 0; i < AOT_NUM_OPS && i < max; ++i) {\n"
      "        out[i].op_index = (uint16_t)i;\n        out[i].op_code = k_op_codes[i];\n"
      "        out[i].cycles = s_ticks[i];\n    }\n    return AOT_NUM_OPS;\n}\n")
    return "".join(out)
