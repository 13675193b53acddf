"""The run's reports: report.json, junit.xml (one testcase per gate), report.html (self-contained, plots inline)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from hil.artifacts import write_json_atomic
from hil.scoring.report_model import Report

REPORT_JSON = "report.json"
JUNIT_XML = "junit.xml"
REPORT_HTML = "report.html"

# The keys ARCHITECTURE.md promises; checked before report.json is written.
REQUIRED_KEYS = (
    "board", "engine", "windows", "timings",
    "model.sha256", "model.params", "model.tflite_bytes",
    "firmware.sha256", "firmware.text", "firmware.data", "firmware.bss",
    "dataset.name", "dataset.path", "dataset.split", "dataset.class_counts",
    "metrics.keras", "metrics.tflite", "metrics.tflm_host", "metrics.device",
    "agreement.top1", "agreement.exact_match", "agreement.max_abs_diff_lsb", "agreement.rmse", "agreement.cosine",
    "latency.unit", "latency.cycles", "latency.ms", "latency.clock_hz",
    "memory.arena_bytes", "memory.flash_bytes", "memory.ram_bytes",
    "gates.passed", "gates.checks",
)
METRIC_KEYS = ("accuracy", "f1_macro", "f1_weighted", "per_class", "confusion", "thresholded")


def missing_keys(report: Mapping[str, Any]) -> list[str]:
    """Required keys absent from ``report`` (a key present with value None counts as present)."""
    out = []
    for key in REQUIRED_KEYS:
        cur: Any = report
        for part in key.split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                out.append(key)
                break
            cur = cur[part]
    for backend in ("keras", "tflite", "tflm_host", "device"):
        m = (report.get("metrics") or {}).get(backend)
        if isinstance(m, Mapping):
            out += [f"metrics.{backend}.{k}" for k in METRIC_KEYS if k not in m]
    return out


def as_document(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document of a report (typed, or a mapping that may hold typed sections)."""
    if isinstance(report, Report):
        return report.to_json()
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(report)


def write_report_json(run_dir: Path, report: Report | Mapping[str, Any]) -> Path:
    """Checks the promised keys and the types, then writes report.json atomically."""
    doc = as_document(report)
    missing = missing_keys(doc)
    if missing:
        raise ValueError(f"report is missing keys {missing}")
    doc = Report.model_validate(doc).to_json()  # a wrong type is refused here, before anything is written
    path = Path(run_dir) / REPORT_JSON
    write_json_atomic(path, doc)
    return path


# --------------------------------------------------------------------------- junit

# The stage whose wall time measured each gate's value: a gate's <testcase time>.
GATE_STAGES = {"top1_agreement": ("stream", "references"), "exact_match": ("stream", "references"),
               "max_accuracy_drop": ("references",), "max_latency": ("stream",),
               "max_arena_bytes": ("build", "stream"), "max_flash_bytes": ("build",)}


def gate_seconds(name: str, timings: Mapping[str, float]) -> float:
    return sum(timings.get(s, 0.0) for s in GATE_STAGES.get(name, ()))


def write_junit(run_dir: Path, report: Report | Mapping[str, Any]) -> Path:
    """One <testcase> per gate, classname ``hil.gates.<board>``; a failed gate is a <failure>.

    A run of several engines: one per (engine, gate), classname ``hil.gates.<board>.<engine label>``, and an
    <error> testcase ``run`` for each engine that did not finish."""
    report = as_document(report)
    checks = report["gates"]["checks"]
    board = report.get("board", "?")
    unfinished = [e for e in report.get("engines") or [] if e["status"] == "error" and not e.get("gates")]
    total = sum((report.get("timings") or {}).values()) if report.get("timings") else 0.0
    suite = ET.Element(
        "testsuite",
        name=f"hil run {board}",
        tests=str(len(checks) + len(unfinished)),
        failures=str(sum(not c["passed"] for c in checks)),
        errors=str(len(unfinished)),
        skipped="0",
        time=f"{total:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    for k in ("board", "engine", "windows"):
        ET.SubElement(props, "property", name=k, value=str(report.get(k)))
    ET.SubElement(props, "property", name="model.sha256", value=str((report.get("model") or {}).get("sha256")))
    for c in checks:
        classname = f"hil.gates.{board}" + (f".{c['engine']}" if c.get("engine") else "")
        tc = ET.SubElement(suite, "testcase", classname=classname, name=c["name"],
                           time=f"{gate_seconds(c['name'], report.get('timings') or {}):.3f}")
        text = f"{c['name']}: {c['value']} {c['comparison']} {c['limit']} {c.get('unit', '')}".strip()
        if not c["passed"]:
            f = ET.SubElement(tc, "failure", message=f"gate failed: {text}", type="GateFailed")
            f.text = text
        else:
            ET.SubElement(tc, "system-out").text = text
    for e in unfinished:
        tc = ET.SubElement(suite, "testcase", classname=f"hil.gates.{board}.{e['label']}", name="run", time="0.000")
        ET.SubElement(tc, "error", message=f"engine {e['label']} did not finish", type="EngineError").text = e["error"]
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path = Path(run_dir) / JUNIT_XML
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


# --------------------------------------------------------------------------- html


@dataclass
class PlotData:
    """Arrays the HTML plots need beyond report.json."""

    class_names: list[str]
    ticks: np.ndarray | None = None                 # raw ticks per window (scaled by counts_per_tick)
    examples_x: np.ndarray | None = None            # [K, frame] float windows as the model sees them
    examples_true: Sequence[int] = field(default_factory=list)
    examples_pred: Sequence[int] = field(default_factory=list)
    examples_ref: Sequence[str] = field(default_factory=list)
    sample_rate: int = 100
    engine_ticks: dict[str, np.ndarray] = field(default_factory=dict)  # a run of several engines: label -> ticks


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _confusion_png(name: str, confusion: Sequence[Sequence[int]], names: list[str], large: bool = True) -> str:
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=float)
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size, font = ((6.0, 5.4), 15) if large else ((3.8, 3.4), 10)
    fig, ax = plt.subplots(figsize=size)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, fontsize=font - 3)
    ax.set_yticks(range(len(names)), names, fontsize=font - 3)
    ax.set_xlabel("predicted class", fontsize=font - 3)
    ax.set_ylabel("true class", fontsize=font - 3)
    ax.set_title(f"{name}: windows per (true, predicted)", fontsize=font - 2)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", color="white" if norm[i, j] > 0.5 else "black",
                    fontsize=font)
    return _png(fig)


def count_scale(median: float) -> tuple[float, str]:
    """Divisor and word for plain-number axes: 4.018 M instructions, not 4.018 x1e6."""
    if median >= 1e6:
        return 1e6, "M"
    if median >= 1e3:
        return 1e3, "k"
    return 1.0, ""


UNIT_WORDS = {"qemu_instructions": "guest instructions", "cycles": "CPU cycles"}


def _latency_png(counts: np.ndarray, unit: str) -> str:
    import matplotlib.pyplot as plt

    med = float(np.median(counts))
    div, prefix = count_scale(med)
    words = f"{prefix} {UNIT_WORDS.get(unit, unit.replace('_', ' '))}".strip()
    fig, ax = plt.subplots(figsize=(10, 4.2))
    ax.hist(counts / div, bins=min(50, max(5, len(np.unique(counts)))), color="#4c72b0")
    ax.axvline(med / div, color="#dd8452", lw=2, label=f"median {med / div:,.3f} {words}")
    ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.set_xlabel(f"latency of one invoke ({words})", fontsize=12)
    ax.set_ylabel("windows", fontsize=12)
    ax.tick_params(labelsize=11)
    ax.legend(fontsize=11)
    return _png(fig)


def _examples_png(p: PlotData) -> str:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    k = len(p.examples_true)
    cols = 2
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 2.6 * rows + 0.6), squeeze=False)
    t = np.arange(p.examples_x.shape[1]) / p.sample_rate
    for n, ax in enumerate(axes.flat):
        if n >= k:
            ax.axis("off")
            continue
        ok = p.examples_true[n] == p.examples_pred[n]
        color = "#1a7f37" if ok else "#cf222e"
        ax.plot(t, p.examples_x[n], lw=0.7, color=color)
        where = p.examples_ref[n] if n < len(p.examples_ref) else ""
        verdict = "right" if ok else "WRONG"
        ax.set_title(f"{where}\ntrue {p.class_names[p.examples_true[n]]}, device {p.class_names[p.examples_pred[n]]}: "
                     f"{verdict}", fontsize=10, color=color, loc="left")
        ax.set_xlabel("time in the window (s)", fontsize=9)
        ax.set_ylabel("amplitude (z-score)", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.legend(handles=[Patch(color="#1a7f37", label="device right"), Patch(color="#cf222e", label="device wrong")],
               loc="upper right", ncol=2, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (2.6 * rows + 0.6)))
    return _png(fig)


def _bars_png(title: str, labels: list[str], series: dict[str, list[float]], unit: str) -> str:
    """Horizontal bars, one group per label and one bar per engine (side by side)."""
    import matplotlib.pyplot as plt

    n, k = len(labels), max(len(series), 1)
    fig, ax = plt.subplots(figsize=(7, max(2.0, 0.16 * n * k + 0.8)))
    h = 0.8 / k
    for j, (engine, values) in enumerate(series.items()):
        ax.barh(np.arange(n) + j * h, values, height=h, label=engine)
    ax.set_yticks(np.arange(n) + h * (k - 1) / 2, labels, fontsize=6 if n > 20 else 8)
    ax.invert_yaxis()
    ax.set_xlabel(unit.replace("_", " "))
    ax.set_title(title)
    ax.legend(fontsize=7)
    return _png(fig)


def _profile_html(profiles: Sequence[Mapping[str, Any]]) -> list[str]:
    """Per-op profile: bars per layer and per op type, side by side per engine, and the totals."""
    if not profiles:
        return ["<h2>Per-op profile</h2><p class='note'>no profile (the device did not answer PROFILE)</p>"]
    unit = profiles[0]["unit"]
    layers = [f"{o['index']} {o['op']}" for o in profiles[0]["ops"]]
    per_layer = {p["engine"]: [o["counts"] for o in p["ops"]] for p in profiles if len(p["ops"]) == len(layers)}
    types = sorted({t["op"] for p in profiles for t in p["by_type"]},
                   key=lambda op: -max(t["counts"] for p in profiles for t in p["by_type"] if t["op"] == op))
    per_type = {p["engine"]: [next((t["counts"] for t in p["by_type"] if t["op"] == op), 0.0) for op in types]
                for p in profiles}
    parts = ["<h2>Per-op profile</h2><table><tr><th>engine</th><th>invokes</th><th>ops total</th>"
             "<th>invoke (median)</th><th>not in any op</th><th>largest op type</th></tr>"]
    for p in profiles:
        top = p["by_type"][0] if p["by_type"] else {"op": "-", "share": 0.0}
        parts.append(f"<tr><td>{html.escape(p['engine'])}</td><td>{p['invokes']}</td><td>{p['total']:,.0f}</td>"
                     f"<td>{p['invoke']:,.0f}</td><td>{p['overhead_share']:.1%}</td>"
                     f"<td>{html.escape(top['op'])} {top['share']:.1%}</td></tr>")
    parts.append(f"</table><p class='note'>medians over the profiled invokes, in {html.escape(unit)}</p>")
    parts.append(f"<img alt='profile by op type' src='{_bars_png('by op type', types, per_type, unit)}'>")
    parts.append(f"<img alt='profile per layer' src='{_bars_png('per layer', layers, per_layer, unit)}'>")
    return parts


def _tensor_png(t: Mapping[str, Any], title: str) -> str:
    import matplotlib.pyplot as plt

    dev, ref = np.asarray(t["device"], float), np.asarray(t["expected"], float)
    fig, (a, b) = plt.subplots(2, 1, figsize=(7, 3.6), sharex=True)
    a.plot(ref, lw=0.8, label=t["reference"])
    a.plot(dev, lw=0.8, label="device", alpha=0.8)
    a.legend(fontsize=7)
    a.set_title(title)
    b.plot(dev - ref, lw=0.8, color="#c44e52")
    b.set_ylabel("device − ref (LSB)")
    b.set_xlabel("element (flattened)")
    return _png(fig)


def _diagnosis_html(diag: Mapping[str, Any] | None) -> list[str]:
    """The diagnosis: the first diverging op, a table per window and a plot of that tensor."""
    if not diag:
        return []
    parts = ["<h2>Layer-by-layer diagnosis</h2>"]
    if diag.get("error"):
        parts.append(f"<p class='fail'>{html.escape(str(diag['error']))}</p>")
    first = diag.get("first_divergence")
    parts.append("<p>" + (html.escape(f"first divergence: op {first['index']} {first['op']} (tensor {first.get('output')}), "
                                      f"up to {first['max_abs_diff_lsb']:g} LSB, vs {', '.join(first['references'])}")
                          if first else "no op diverges on the diagnosed windows") + "</p>")
    for w in diag.get("windows") or []:
        d = w.get("first_divergence")
        if d is None:
            parts.append(f"<p class='note'>window {w['window']}: every tensor matches both references</p>")
            continue
        parts.append(f"<h3>window {w['window']}</h3><table><tr><th>op</th><th>type</th><th>tensor</th>"
                     + "".join(f"<th>max |diff| vs {r}</th><th>differing vs {r}</th>" for r in w["layers"]) + "</tr>")
        rows = zip(*w["layers"].values())
        for row in rows:
            if row[0]["index"] < d["index"] - 1:
                continue  # the ops before the divergence agree; show from the one before it
            cells = "".join(f"<td>{x['max_abs_diff_lsb']:g}</td><td>{x['differing_share']:.1%}</td>" for x in row)
            cls = " class='fail'" if row[0]["index"] == d["index"] else ""
            parts.append(f"<tr{cls}><td>{row[0]['index']}</td><td>{html.escape(row[0]['op'])}</td>"
                         f"<td>{html.escape(str(row[0].get('output')))}</td>{cells}</tr>")
        parts.append("</table>")
        if w.get("tensor"):
            png = _tensor_png(w["tensor"], f"op {d['index']} {d['op']}: device against {w['tensor']['reference']}")
            parts.append(f"<img alt='diverging tensor' src='{png}'>")
    return parts


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return html.escape(str(v))


def _bytes(v: int | None) -> str:
    return "—" if v is None else f"{v:,} B ({v / 1024:,.1f} KiB)"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th{background:#f5f5f5}td:first-child,th:first-child{text-align:left}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.badge{display:inline-block;padding:.2rem .7rem;border-radius:1rem;color:#fff;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}img{max-width:100%}
.note{color:#555;font-size:.9rem;max-width:60rem}
.scroll{overflow-x:auto}table.compact{font-size:.85rem}table.compact td{white-space:nowrap;padding:.3rem .45rem}
"""

BACKENDS = {"keras": "Keras (float32, host)", "tflite": "TFLite int8 (host, reference kernels)",
            "tflm_host": "TFLM int8 (host)", "device": "device"}
COMPARISON = {">=": "≥", "<=": "≤"}


def accuracy_drop_text(drop: float | None) -> str:
    """Keras accuracy minus the device's, in words: a negative drop is the device doing better."""
    if drop is None:
        return "—"
    if drop < 0:
        return f"device better than Keras by {-drop:.4f}"
    return f"{drop:.4f} below Keras" if drop > 0 else "same as Keras"


def _gates_html(r: Mapping[str, Any]) -> list[str]:
    by_engine = any(c.get("engine") for c in r["gates"]["checks"])
    out = ["<h2>Gates</h2><table><tr>" + ("<th>engine</th>" if by_engine else "")
           + "<th>gate</th><th>value</th><th>limit</th><th>result</th></tr>"]
    for c in r["gates"]["checks"]:
        cls = "pass" if c["passed"] else "fail"
        value = " ".join(x for x in (_fmt(c["value"]), html.escape(c.get("unit") or "")) if x)
        if c["name"] == "max_accuracy_drop" and c["value"] is not None and c["value"] < 0:
            value += f" ({accuracy_drop_text(c['value'])})"
        limit = " ".join(x for x in (COMPARISON.get(c["comparison"], html.escape(c["comparison"])), _fmt(c["limit"])) if x)
        engine = f"<td>{html.escape(c.get('engine') or '')}</td>" if by_engine else ""
        out.append(f"<tr>{engine}<td>{html.escape(c['name'])}</td><td>{value}</td><td>{limit}</td>"
                   f"<td class='{cls}'>{'pass' if c['passed'] else 'FAIL'}</td></tr>")
    out.append("</table>")
    return out


def _metrics_html(r: Mapping[str, Any]) -> list[str]:
    thr = next((m["thresholded"].get("threshold") for _, m in r["metrics"].items() if m and m.get("thresholded")), None)
    p = f"p ≥ {thr:g}" if thr is not None else "confident"
    out = ["<h2>Accuracy on held-out windows</h2><table><tr><th>backend</th><th>accuracy</th><th>F1 macro</th>"
           f"<th>F1 weighted</th><th>accuracy ({p})</th><th>F1 macro ({p})</th><th>set aside</th></tr>"]
    for name, m in r["metrics"].items():
        label = html.escape(BACKENDS.get(name, name))
        if not m:
            out.append(f"<tr><td>{label}</td><td colspan='6'>not computed</td></tr>")
            continue
        th = m.get("thresholded") or {}
        out.append(f"<tr><td>{label}</td><td>{_fmt(m.get('accuracy'))}</td><td>{_fmt(m.get('f1_macro'))}</td>"
                   f"<td>{_fmt(m.get('f1_weighted'))}</td><td>{_fmt(th.get('accuracy'))}</td>"
                   f"<td>{_fmt(th.get('f1_macro'))}</td><td>{_fmt(th.get('dropped'))}</td></tr>")
    out.append("</table>")
    out.append(f"<p class='note'>The columns with {p} count only the windows whose top class probability is at "
               f"least {thr if thr is not None else 'the threshold'}; <b>set aside</b> is the share of windows left out "
               "because no class reached it (a device would say “unsure” on them).</p>")
    keras, dev = r["metrics"].get("keras"), r["metrics"].get("device")
    if keras and dev:
        drop = round(keras["accuracy"] - dev["accuracy"], 6)
        out.append(f"<p>Device accuracy against Keras: <b>{accuracy_drop_text(drop)}</b>.</p>")
    return out


def _agreement_html(r: Mapping[str, Any]) -> list[str]:
    keys = ("top1", "exact_match", "max_abs_diff_lsb", "rmse", "cosine")
    heads = ("top-1 agreement", "exact int8 match", "max |diff| (LSB)", "RMSE (LSB)", "cosine")
    rows = [("TFLite, reference kernels", r["agreement"])]
    if r.get("agreement_tflm_host"):
        rows.append(("TFLM on the host", r["agreement_tflm_host"]))
    out = ["<h2>Device outputs against the host references</h2><table><tr><th>device vs</th>"
           + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    out += [f"<tr><td>{name}</td>" + "".join(f"<td>{_fmt(a.get(k))}</td>" for k in keys) + "</tr>" for name, a in rows]
    out.append("</table><p class='note'>The reference is the TFLite interpreter on this host with its reference "
               "kernels (op resolver BUILTIN_REF): the exact int8 answer the device's kernels must reproduce. "
               "Top-1: share of windows with the same predicted class; exact match: share with every int8 output "
               "identical; LSB: one step of the int8 output.</p>")
    return out


def _latency_html(r: Mapping[str, Any], plots: PlotData | None, images: Mapping[str, str]) -> list[str]:
    lat = r["latency"]
    unit = lat["unit"]
    out = ["<h2>Latency</h2>"]
    if lat.get("cycles"):
        out.append("<table><tr><th>one invoke</th><th>min</th><th>median</th><th>p95</th><th>max</th></tr>")
        out.append(f"<tr><td>{html.escape(UNIT_WORDS.get(unit, unit))}</td>"
                   + "".join(f"<td>{lat['cycles'][k]:,.0f}</td>" for k in ("min", "median", "p95", "max")) + "</tr>")
        if lat.get("ms"):
            out.append("<tr><td>ms</td>" + "".join(f"<td>{lat['ms'][k]:.3f}</td>" for k in ("min", "median", "p95", "max"))
                       + "</tr>")
        out.append("</table>")
    if unit == "qemu_instructions":
        out.append("<p class='note'>Emulated board: counts are guest instructions under QEMU <code>-icount</code>, "
                   "not the time of any real chip, so no milliseconds are shown.</p>")
    if "latency" in images:
        out.append(f"<img alt='latency histogram' src='{images['latency']}'>")
    return out


def _memory_html(r: Mapping[str, Any]) -> list[str]:
    mem = r["memory"]
    return ["<h2>Memory</h2><table><tr><th>tensor arena</th><th>flash (text + data)</th><th>RAM (data + bss)</th></tr><tr>"
            + "".join(f"<td>{_bytes(mem.get(k))}</td>" for k in ("arena_bytes", "flash_bytes", "ram_bytes"))
            + "</tr></table>"]


def _confusion_html(r: Mapping[str, Any], images: Mapping[str, str]) -> list[str]:
    out = ["<h2>Confusion matrix of the device</h2>"]
    if "confusion:device" in images:
        out.append(f"<img alt='confusion device' src='{images['confusion:device']}'>")
    same = [BACKENDS.get(n, n) for n, m in r["metrics"].items()
            if n != "device" and m and f"confusion:{n}" not in images]
    if same:
        out.append(f"<p>Identical to the device's: {html.escape(', '.join(same))}.</p>")
    other = [n for n in r["metrics"] if n != "device" and f"confusion:{n}" in images]
    if other:
        out.append("<p>Different from the device's:</p><div class='grid'>"
                   + "".join(f"<img alt='confusion {n}' src='{images[f'confusion:{n}']}'>" for n in other) + "</div>")
    return out


def _devices_html(r: Mapping[str, Any]) -> list[str]:
    """How many devices streamed the windows and each one's share (--devices, board lists and groups)."""
    d = r.get("devices")
    if not d or not d.get("shares"):
        return []
    rows = "".join(f"<tr><td>{s['device']}</td><td>{html.escape(str(s['board']))}</td><td>{s['scored']}</td>"
                   f"<td>{s.get('recoveries', 0)}</td><td>{s.get('seconds', 0.0):.1f}</td>"
                   f"<td>{html.escape('; '.join(s.get('errors') or [])) or '-'}</td></tr>" for s in d["shares"])
    return [f"<h2>Devices ({d['count']})</h2><table><tr><th>device</th><th>board</th><th>windows scored</th>"
            f"<th>recoveries</th><th>seconds</th><th>errors</th></tr>{rows}</table>"]


def _timings_html(r: Mapping[str, Any]) -> list[str]:
    t = r.get("timings") or {}
    if not t:
        return []
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v:.1f}</td></tr>" for k, v in t.items())
    return ["<h2>Stage timings</h2><table><tr><th>stage</th><th>seconds</th></tr>" + rows
            + f"<tr><th>total</th><th>{sum(t.values()):.1f}</th></tr></table>"]


def render_images(report: Report | Mapping[str, Any], plots: PlotData | None) -> dict[str, str]:
    """The PNGs of the page (the slow part of a report): latency, confusion matrices that differ, examples."""
    import matplotlib

    matplotlib.use("Agg")
    r = as_document(report)
    images: dict[str, str] = {}
    if plots is not None and plots.ticks is not None and len(plots.ticks):
        counts = np.asarray(plots.ticks) * r["latency"].get("counts_per_tick", 1)
        images["latency"] = _latency_png(counts, r["latency"]["unit"])
    names = plots.class_names if plots else r.get("class_names", [])
    dev = (r["metrics"].get("device") or {}).get("confusion")
    for name, m in r["metrics"].items():
        if names and m and m.get("confusion") and (name == "device" or m["confusion"] != dev):
            images[f"confusion:{name}"] = _confusion_png(BACKENDS.get(name, name), m["confusion"], names,
                                                         large=name == "device")
    if plots is not None and plots.examples_x is not None and len(plots.examples_true):
        images["examples"] = _examples_png(plots)
    if r.get("engines"):
        from hil.scoring import engines_html

        images.update(engines_html.images(r, plots.engine_ticks if plots is not None else {}))
    return images


def render_html(report: Report | Mapping[str, Any], plots: PlotData | None = None,
                images: Mapping[str, str] | None = None) -> str:
    r = as_document(report)
    images = render_images(r, plots) if images is None else images
    passed = r["gates"]["passed"]
    engines = r.get("engines") or []
    title_engines = ", ".join(e["label"] for e in engines) if engines else str(r["engine"])
    badge = f'<span class="badge" style="background:{"#1a7f37" if passed else "#cf222e"}">{"PASSED" if passed else "FAILED"}</span>'
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>hil run {html.escape(str(r['board']))} {html.escape(str(r.get('run_id', '')))}</title>",
        f"<style>{_CSS.strip()}</style></head><body>",
        f"<h1>hil run on {html.escape(str(r['board']))} ({html.escape(title_engines)}) {badge}</h1>",
        f"<p class='note'>{r['windows']} windows of {html.escape(str(r['dataset']['name']))} "
        f"split <b>{html.escape(str(r['dataset']['split']))}</b>; model {html.escape(str(r['model'].get('name', '')))} "
        f"sha256 <code>{html.escape(str(r['model']['sha256'])[:16])}…</code>; {html.escape(str(r.get('created', '')))}</p>",
    ]
    if engines:
        from hil.scoring import engines_html

        parts += engines_html.table_html(r, images)
    parts += _gates_html(r) + _metrics_html(r) + _agreement_html(r) + _latency_html(r, plots, images)
    parts += _profile_html(r.get("profile") or []) + _diagnosis_html(r.get("diagnosis"))
    parts += _memory_html(r) + _devices_html(r) + _confusion_html(r, images)
    if "examples" in images:
        parts.append("<h2>Example windows</h2><p class='note'>Each title names the record, the lead and the sample "
                     "where the window starts in that record; green: the device's class is right, red: wrong.</p>")
        parts.append(f"<img alt='example windows' src='{images['examples']}'>")
    parts += _timings_html(r)
    parts.append("<h2>report.json</h2><details><summary>show</summary><pre>"
                 + html.escape(json.dumps(r, indent=2, default=str)) + "</pre></details></body></html>")
    return "\n".join(line.rstrip() for part in parts for line in part.split("\n"))


def write_html(run_dir: Path, report: Report | Mapping[str, Any], plots: PlotData | None = None,
               images: Mapping[str, str] | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    path = Path(run_dir) / REPORT_HTML
    path.write_text(render_html(report, plots, images), encoding="utf-8")
    return path


def pick_examples(y_true: np.ndarray, y_pred: np.ndarray, k: int = 8) -> list[int]:
    """Up to ``k`` windows to draw: the misclassified first (most informative), then one per class."""
    wrong = [int(i) for i in np.flatnonzero(y_true != y_pred)][: k // 2]
    out = list(wrong)
    for c in np.unique(y_true):
        for i in np.flatnonzero((y_true == c) & (y_true == y_pred))[:1]:
            if len(out) < k:
                out.append(int(i))
    for i in range(len(y_true)):
        if len(out) >= k:
            break
        if i not in out:
            out.append(i)
    return out[:k]
