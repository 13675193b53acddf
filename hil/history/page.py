"""``hil history report``: one static HTML page of every series' trends.

Per series: plots over time (run order) of accuracy, agreement, latency and
arena/flash, a run whose regression gates failed marked in red, and a table of
the last runs linking to each one's report.html.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from hil.history.db import History
from hil.scoring.report import _png

PAGE = "index.html"
PLOTS = (("accuracy (device)", "accuracy.device"), ("top-1 agreement", "agreement.top1"),
         ("median latency", "latency.median"), ("arena bytes", "memory.arena_bytes"),
         ("flash bytes", "memory.flash_bytes"))
LAST_RUNS = 20


def regressed(row: dict[str, Any]) -> bool:
    return any(g["name"].startswith("regression.") and not g["passed"] for g in row.get("gates") or [])


def _plot(rows: list[dict[str, Any]], title: str, key: str) -> str | None:
    import matplotlib.pyplot as plt

    pts = [(i, r["numbers"].get(key), regressed(r)) for i, r in enumerate(rows) if r["numbers"].get(key) is not None]
    if not pts:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 2.4))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color="#336")
    bad = [p for p in pts if p[2]]
    if bad:
        ax.scatter([p[0] for p in bad], [p[1] for p in bad], color="red", s=80, zorder=3, label="regression")
        ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([p[0] for p in pts])
    ax.set_xticklabels([rows[p[0]]["run_id"][-15:] for p in pts], rotation=45, ha="right", fontsize=6)
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    return _png(fig)


def _link(row: dict[str, Any], out: Path) -> str:
    rid = html.escape(row["run_id"])
    page = Path(row["run_dir"]) / "report.html" if row.get("run_dir") else None
    if page is None or not page.exists():
        return rid
    return f'<a href="{html.escape(os.path.relpath(page, out))}">{rid}</a>'


def _table(rows: list[dict[str, Any]], out: Path) -> str:
    head = "<tr><th>run</th><th>time</th><th>exit</th><th>failed gates</th><th>accuracy</th><th>latency</th>" \
           "<th>flash B</th><th>baseline</th></tr>"
    body = []
    for r in reversed(rows[-LAST_RUNS:]):
        n = r["numbers"]
        failed = ", ".join(g["name"] for g in r["gates"] if not g["passed"]) or (r["infra_error"] or "")[:80]
        cls = ' class="regression"' if regressed(r) else (' class="fail"' if r["exit_status"] else "")
        body.append(f"<tr{cls}><td>{_link(r, out)}</td><td>{html.escape(r['created'] or r['recorded'] or '')}</td>"
                    f"<td>{r['exit_status']}</td><td>{html.escape(failed)}</td><td>{n.get('accuracy.device', '—')}</td>"
                    f"<td>{n.get('latency.median', '—')}</td><td>{n.get('memory.flash_bytes', '—')}</td>"
                    f"<td>{html.escape(r['baseline_run_id'] or '')}</td></tr>")
    return f"<table>{head}{''.join(body)}</table>"


def write_page(history: History, out: Path) -> Path:
    """Writes ``out/index.html``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    out.mkdir(parents=True, exist_ok=True)
    rows = list(reversed(history.rows()))  # oldest first
    series = list(dict.fromkeys(r["series"] for r in rows if r["series"]))
    parts = []
    for s in series:
        runs = [r for r in rows if r["series"] == s]
        imgs = "".join(f'<img alt="{html.escape(t)}" src="{src}">' for t, k in PLOTS if (src := _plot(runs, t, k)))
        flag = ' <span class="regression">regression in the newest run</span>' if regressed(runs[-1]) else ""
        parts.append(f"<h2>{html.escape(s)}{flag}</h2><div>{imgs}</div>{_table(runs, out)}")
    failed = [r for r in rows if not r["series"]]
    if failed:
        parts.append("<h2>attempts that ended before a report</h2>" + _table(failed, out))
    style = ("body{font-family:sans-serif;margin:1.5em} table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:2px 6px} tr.regression td{background:#fdd} tr.fail td{background:#ffe}"
             "span.regression{color:#b00;font-size:14px} img{margin:4px}")
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><title>hil history</title><style>{style}</style>"
           f"</head><body><h1>hil history</h1><p>{len(rows)} runs in {html.escape(str(history.path))}</p>"
           f"{''.join(parts) or '<p>no runs yet</p>'}</body></html>")
    page = out / PAGE
    page.write_text(doc, encoding="utf-8")
    return page
