"""The page of a run of several engines: a side-by-side table, the latency of each engine and its memory."""

from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

import numpy as np

from hil.scoring.report import UNIT_WORDS, _fmt, _png, count_scale

STATUS = {"passed": ("pass", "passed"), "failed": ("fail", "gate failed"), "error": ("fail", "did not finish")}


def latency_png(ticks: Mapping[str, np.ndarray], counts_per_tick: int, unit: str) -> str:
    """The engines' medians on one axis from zero, then each engine's distribution on its own axis."""
    import matplotlib.pyplot as plt

    labels = list(ticks)
    counts = [np.asarray(ticks[k], dtype=np.float64) * counts_per_tick for k in labels]
    div, prefix = count_scale(float(np.median(np.concatenate(counts))))
    words = f"{prefix} {UNIT_WORDS.get(unit, unit.replace('_', ' '))}".strip()
    fig, axes = plt.subplots(1, len(labels) + 1, figsize=(4 + 3.2 * len(labels), 3.2), squeeze=False)
    first, *hists = axes[0]
    medians = [np.median(c) / div for c in counts]
    bars = first.barh(labels, medians, color=[f"C{i}" for i in range(len(labels))])
    first.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    first.invert_yaxis()
    first.set_xlabel(f"median per invoke ({words})", fontsize=9)
    first.set_title("engines side by side", fontsize=10)
    for i, (ax, label, c) in enumerate(zip(hists, labels, counts)):
        ax.hist(c / div, bins=min(30, max(5, len(np.unique(c)))), color=f"C{i}")
        ax.axvline(np.percentile(c, 90) / div, color="black", lw=1, ls="--", label="p90")
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
        ax.set_title(f"{label}: median {np.median(c) / div:,.3f}", fontsize=10)
        ax.set_xlabel(words, fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=8)
    hists[0].set_ylabel("windows", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def memory_png(engines: Sequence[Mapping[str, Any]]) -> str:
    """Arena, flash and RAM of each engine's image, grouped bars in KiB."""
    import matplotlib.pyplot as plt

    keys = (("arena_bytes", "tensor arena"), ("flash_bytes", "flash (text + data)"), ("ram_bytes", "RAM (data + bss)"))
    done = [e for e in engines if e.get("memory")]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    h = 0.8 / max(len(done), 1)
    for j, e in enumerate(done):
        values = [(e["memory"].get(k) or 0) / 1024 for k, _ in keys]
        bars = ax.barh(np.arange(len(keys)) + j * h, values, height=h, label=e["label"])
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_yticks(np.arange(len(keys)) + h * (len(done) - 1) / 2, [w for _, w in keys])
    ax.invert_yaxis()
    ax.set_xlabel("KiB")
    ax.set_title("memory per engine")
    ax.legend(fontsize=9)
    return _png(fig)


def images(r: Mapping[str, Any], engine_ticks: Mapping[str, np.ndarray]) -> dict[str, str]:
    out = {"engines:memory": memory_png(r["engines"])}
    ticks = {k: v for k, v in engine_ticks.items() if len(v)}
    if ticks:
        out["engines:latency"] = latency_png(ticks, r["latency"].get("counts_per_tick", 1), r["latency"]["unit"])
    return out


def _kib(v: int | None) -> str:
    return "—" if v is None else f"{v / 1024:,.1f} KiB"


def _agree(a: Mapping[str, Any] | None, key: str) -> str:
    return _fmt((a or {}).get(key))


def table_html(r: Mapping[str, Any], images: Mapping[str, str]) -> list[str]:
    """The engines side by side: latency, memory, agreement with both references, gates."""
    unit = UNIT_WORDS.get(r["latency"]["unit"], r["latency"]["unit"])
    heads = ("engine", "kernels", "result", "median", "p90", "arena", "flash", "RAM", "accuracy",
             "top-1 vs TFLite", "exact vs TFLite", "exact vs TFLM host", "gates")
    # one row per engine, one line per cell: compact, and scrolled sideways rather than cut on a narrow page
    out = ["<h2>Engines, same windows</h2><div class='scroll'><table class='compact'><tr>"
           + "".join(f"<th>{h}</th>" for h in heads) + "</tr>"]
    for e in r["engines"]:
        cls, word = STATUS.get(e["status"], ("fail", e["status"]))
        lat, mem = e.get("latency") or {}, e.get("memory") or {}  # profile totals: the per-op profile section
        gates = e.get("gates")
        gates_text = "—" if not gates else f"{sum(c['passed'] for c in gates['checks'])}/{len(gates['checks'])} pass"
        cells = [html.escape(e["label"]), html.escape(e.get("kernels") or "—"), f"<span class='{cls}'>{word}</span>",
                 _fmt(lat.get("median")), _fmt(lat.get("p90")), _kib(mem.get("arena_bytes")),
                 _kib(mem.get("flash_bytes")), _kib(mem.get("ram_bytes")), _fmt(e.get("accuracy")),
                 _agree(e.get("agreement"), "top1"), _agree(e.get("agreement"), "exact_match"),
                 _agree(e.get("agreement_tflm_host"), "exact_match"), gates_text]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</table></div>")
    for e in r["engines"]:
        if e.get("error"):
            out.append(f"<p class='fail'>engine {html.escape(e['label'])}: {html.escape(e['error'])}</p>")
    links = ", ".join(f"<a href='{html.escape(e['dir'])}/report.html'>{html.escape(e['label'])}</a>"
                      for e in r["engines"] if e["status"] != "error" or e.get("gates"))
    out.append(f"<p class='note'>Median and p90: {html.escape(unit)} per invoke. Each engine ran the same windows in "
               "its own image; exact: share of windows whose "
               "int8 outputs equal the reference's bit for bit. Each engine's own page: " + links + ". The sections "
               f"below are those of the first engine, {html.escape(r['engines'][0]['label'])}, except the gates "
               "(every engine's) and the per-op profile (side by side).</p>")
    for key, alt in (("engines:latency", "latency per engine"), ("engines:memory", "memory per engine")):
        if key in images:
            out.append(f"<img alt='{alt}' src='{images[key]}'>")
    return out
