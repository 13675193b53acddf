"""Layer-by-layer diagnosis: where the device's int8 tensors first depart from the host's.

The device runs one window and sends back every op's output tensor (DUMP,
docs/protocol.md); the host runs the same window through TFLite's reference
kernels (``BUILTIN_REF``, all tensors preserved) and through TFLM on the host
(``kPreserveAllTensors``). Per op and per reference: the largest difference in
LSB and the share of elements that differ; the first op where the device
departs from a reference is the *first divergence*. docs/diagnose.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from hil.errors import InfraError
from hil.tflite import Graph, read_tflite

REFERENCES = ("tflite", "tflm_host")
DIAGNOSE_WINDOWS = 3  # disagreeing windows `hil run` diagnoses on its own
DIAGNOSE_BUDGET_S = 120.0  # and the time it may spend on them
PLOT_ELEMENTS = 4096  # elements of the first diverging tensor kept for the report's plot


class HostLayers:
    """Every op's output tensor on one window, from both host references (interpreters built once)."""

    def __init__(self, tflite: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        from tflite_micro import runtime

        blob = Path(tflite).read_bytes()
        self.graph = read_tflite(blob)
        self.outputs = [op.outputs[0] for op in self.graph.operators]
        self._tfl = Interpreter(model_content=blob, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                                num_threads=1, experimental_preserve_all_tensors=True)
        self._tfl.allocate_tensors()
        self._tflm = runtime.Interpreter.from_bytes(blob, intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)

    def __call__(self, window: np.ndarray) -> dict[str, list[np.ndarray]]:
        x = np.asarray(window, np.int8)[None]
        self._tfl.set_tensor(self._tfl.get_input_details()[0]["index"], x)
        self._tfl.invoke()
        self._tflm.set_input(x, 0)
        self._tflm.invoke()
        return {"tflite": [np.array(self._tfl.get_tensor(t)) for t in self.outputs],
                "tflm_host": [np.array(self._tflm.GetTensor(t, 0)["tensor_data"]) for t in self.outputs]}


def device_layers(client: Any, graph: Graph, window: np.ndarray, *, what: str = "") -> list[np.ndarray]:
    """Every op's output as the device computed it (one DUMP per op; chunks re-sent after a reset).

    An InfraError names the op the dump reached, so a flaky link is told from a bad kernel."""
    out = []
    for op in graph.operators:
        try:
            out.append(client.dump(op.index, window).array())
        except InfraError as exc:
            raise InfraError(f"{what}DUMP stopped at op {op.index} {op.name} (of {len(graph.operators)}): {exc}",
                             hint=exc.hint or "see the raw serial log; `hil diagnose RUN_DIR` retries it") from exc
    return out


def _diff(device: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(max |difference|, share of elements differing); integer tensors in LSB."""
    d, r = np.asarray(device), np.asarray(ref)
    if d.size != r.size:
        return float("inf"), 1.0
    delta = np.abs(d.reshape(-1).astype(np.float64) - r.reshape(-1).astype(np.float64))
    return (float(delta.max()) if delta.size else 0.0), (float(np.mean(delta > 0)) if delta.size else 0.0)


def compare_layers(graph: Graph, device: Sequence[np.ndarray], host: dict[str, list[np.ndarray]],
                   window: int, engine: str | None = None) -> dict[str, Any]:
    """One window's diagnosis: per op and reference, and the first divergence (WindowDiagnosis)."""
    layers: dict[str, list[dict[str, Any]]] = {}
    for ref in REFERENCES:
        layers[ref] = []
        for op, dev, want in zip(graph.operators, device, host[ref]):
            mx, share = _diff(dev, want)
            layers[ref].append({"index": op.index, "op": op.name, "output": graph.tensors[op.outputs[0]].name,
                                "max_abs_diff_lsb": mx, "differing_share": share})
    first = _first(graph, {r: [(x["max_abs_diff_lsb"], x["differing_share"]) for x in layers[r]] for r in REFERENCES})
    refs_only = _first(graph, {"tflm_host": [_diff(a, b) for a, b in zip(host["tflite"], host["tflm_host"])]})
    tensor = None
    if first is not None:
        i, ref = first["index"], first["references"][0]
        tensor = {"index": i, "reference": ref, "shape": list(np.shape(host[ref][i])),
                  "device": np.asarray(device[i]).reshape(-1)[:PLOT_ELEMENTS].tolist(),
                  "expected": np.asarray(host[ref][i]).reshape(-1)[:PLOT_ELEMENTS].tolist()}
    return {"window": window, "engine": engine, "first_divergence": first, "layers": layers,
            "references_diverge": refs_only, "tensor": tensor}


def _first(graph: Graph, diffs: dict[str, list[tuple[float, float]]]) -> dict[str, Any] | None:
    """The first op where any of ``diffs`` is non-zero, with the references that differ there."""
    for i, op in enumerate(graph.operators):
        hits = {r: d[i] for r, d in diffs.items() if i < len(d) and d[i][0] > 0}
        if hits:
            mx = max(h[0] for h in hits.values())
            return {"index": op.index, "op": op.name, "output": graph.tensors[op.outputs[0]].name,
                    "references": list(hits), "max_abs_diff_lsb": mx,
                    "differing_share": max(h[1] for h in hits.values())}
    return None


def diagnose(client: Any, tflite: Path, windows: Iterable[tuple[int, np.ndarray]], *, engine: str | None = None,
             budget_s: float | None = None) -> dict[str, Any]:
    """The ``diagnosis`` section of report.json for ``windows`` ((index, int8 window) pairs).

    ``budget_s`` bounds the time: the windows not reached are left out and ``complete`` is False."""
    t0 = time.monotonic()
    host = HostLayers(tflite)
    done: list[dict[str, Any]] = []
    complete = True
    for index, x in windows:
        if budget_s is not None and done and time.monotonic() - t0 > budget_s:
            complete = False
            break
        dev = device_layers(client, host.graph, x, what=f"window {index}: ")
        done.append(compare_layers(host.graph, dev, host(x), index, engine))
    found = [w["first_divergence"] for w in done if w["first_divergence"] is not None]
    first = min(found, key=lambda d: d["index"]) if found else None
    return {"windows": done, "first_divergence": first, "seconds": round(time.monotonic() - t0, 3),
            "complete": complete, "error": None}


def summary(diag: Any) -> str | None:
    """"first divergence: op 23 MEAN, up to 1 LSB (vs tflite, tflm_host)"; None when nothing diverged."""
    d = diag.get("first_divergence") if diag else None
    if not d:
        return None
    lsb = d["max_abs_diff_lsb"]
    lsb_s = f"{lsb:g}" if np.isfinite(lsb) else "shape mismatch"
    return (f"first divergence: op {d['index']} {d['op']}, up to {lsb_s} LSB "
            f"(tensor {d.get('output')}; vs {', '.join(d['references'])})")


def disagreeing(device: np.ndarray, *refs: np.ndarray) -> list[int]:
    """Indices of the windows whose device outputs differ from any reference."""
    bad = np.zeros(len(device), bool)
    for r in refs:
        bad |= np.any(np.asarray(device).reshape(len(device), -1) != np.asarray(r).reshape(len(r), -1), axis=1)
    return [int(i) for i in np.flatnonzero(bad)]
