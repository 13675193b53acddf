"""``hil run``: the whole pipeline on one board, ending in a verdict (exit 0 / 1 / 2 / 3)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from hil import ui
from hil.commands.options import engine_option, json_option, kernels_option, work_option
from hil.config import DEFAULT_MODEL_DIR
from hil.run import AUTO, SPLITS, RunOptions, run_pipeline
from hil.scoring.report import accuracy_drop_text
from hil.scoring.report_model import Report


def _f(v: Any, digits: int = 4) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _b(v: Any) -> str:
    return "—" if v is None else f"{v:,} B"


def render_engines(rep: Report) -> None:
    """A run of several engines: one row each, side by side, and which failed."""
    from hil.scoring import engines as eng

    t = Table(title="engines (same windows)", title_justify="left")
    for col in ("engine", "result", f"median {rep.latency.unit}", "p90", "arena", "flash", "RAM", "top-1 vs TFLite",
                "exact vs TFLite", "exact vs TFLM host"):
        t.add_column(col, justify="left" if col in ("engine", "result") else "right")
    for e in rep.engines or []:
        lat, mem = e.latency, e.memory
        word = {"passed": "[green]pass[/green]", "failed": "[bold red]gate failed[/bold red]"}.get(
            e.status, "[bold red]did not finish[/bold red]")
        t.add_row(e.label, word, _f(lat.median if lat else None), _f(lat.p90 if lat else None),
                  _b(mem.arena_bytes if mem else None), _b(mem.flash_bytes if mem else None),
                  _b(mem.ram_bytes if mem else None), _f(e.agreement.top1 if e.agreement else None),
                  _f(e.agreement.exact_match if e.agreement else None),
                  _f(e.agreement_tflm_host.exact_match if e.agreement_tflm_host else None))
    ui.console.print(t)
    for e in eng.failed_engines(rep):
        ui.console.print(f"[bold red]{eng.summary_line(e)}[/bold red]", soft_wrap=True)
    ui.console.print(f"[dim]the tables below are those of the first engine, {rep.engines[0].label}; the gates are "
                     "every engine's[/dim]")


def render_summary(rep: Report, run_dir: Path) -> None:
    if rep.engines:
        render_engines(rep)
    engines = ", ".join(e.label for e in rep.engines) if rep.engines else rep["engine"]
    t = Table(title=f"hil run · {rep['board']} ({engines}) · {rep['windows']} windows of {rep['dataset']['split']}",
              title_justify="left")
    thr = next((m["thresholded"].get("threshold") for _, m in rep["metrics"].items() if m and m.get("thresholded")), None)
    p = f"p≥{thr:g}" if thr is not None else "confident"
    for col in ("backend", "accuracy", "F1 macro", "F1 weighted", f"accuracy {p}", "set aside"):
        t.add_column(col, justify="right" if col != "backend" else "left")
    for name, m in rep["metrics"].items():
        if not m:
            t.add_row(name, "—", "—", "—", "—", "—")
            continue
        th = m.get("thresholded") or {}
        t.add_row(name, _f(m["accuracy"]), _f(m["f1_macro"]), _f(m["f1_weighted"]), _f(th.get("accuracy")), _f(th.get("dropped"), 3))
    ui.console.print(t)
    choice = rep.engine_choice or {}
    if choice.get("reason"):
        kernels = f" ({rep.kernels} kernels)" if rep.kernels else ""
        ui.console.print(f"engine {rep.engine}{kernels}: {choice['reason']}", soft_wrap=True)
    ui.console.print(f"[dim]accuracy {p}: only the windows whose top class probability is at least "
                     f"{thr if thr is not None else 'the threshold'}; set aside: the share of windows below it[/dim]")
    a, lat, mem = rep["agreement"], rep["latency"], rep["memory"]
    s = Table(show_header=False, box=None)
    s.add_column(style="bold")
    s.add_column()
    keras, dev = rep["metrics"].get("keras"), rep["metrics"].get("device")
    if keras and dev:
        s.add_row("vs Keras", accuracy_drop_text(round(keras["accuracy"] - dev["accuracy"], 6)))
    s.add_row("device vs TFLite (reference kernels)", f"top-1 {_f(a['top1'])} · exact int8 {_f(a['exact_match'])} · max |diff| {a['max_abs_diff_lsb']} LSB"
              f" · rmse {_f(a['rmse'])} · cosine {_f(a['cosine'], 6)}")
    if lat.get("cycles"):
        c = lat["cycles"]
        line = f"median {c['median']:,.0f} · p95 {c['p95']:,.0f} · max {c['max']:,.0f} {lat['unit']}"
        if lat.get("ms"):
            line += f" · median {lat['ms']['median']:.3f} ms"
        s.add_row("latency", line)
    s.add_row("memory", f"arena {_b(mem['arena_bytes'])} · flash {_b(mem['flash_bytes'])} · RAM {_b(mem['ram_bytes'])}")
    shares = rep.devices.shares if rep.devices is not None else []
    if len(shares) > 1:  # one device is the whole run: nothing to share out
        s.add_row("devices", " · ".join(f"{d.board} {d.scored}" for d in shares) + " windows scored")
    s.add_row("timings", " · ".join(f"{k} {v:.1f}s" for k, v in rep["timings"].items())
              + f" · total {sum(rep['timings'].values()):.1f}s")
    ui.console.print(s)
    g = Table(title="gates", title_justify="left")
    by_engine = any(c.engine for c in rep.gates.checks)
    for col in (("engine",) if by_engine else ()) + ("gate", "value", "limit", "result"):
        g.add_column(col)
    for c in rep["gates"]["checks"]:
        g.add_row(*((c.engine or "",) if by_engine else ()), c["name"], f"{_f(c['value'])} {c.get('unit', '')}".strip(), f"{c['comparison']} {_f(c['limit'])}",
                  "[green]pass[/green]" if c["passed"] else "[bold red]FAIL[/bold red]")
    ui.console.print(g)
    for warning in rep.warnings:
        ui.console.print(f"[yellow]warning:[/yellow] {warning}")
    from hil.scoring.diagnosis import summary as diagnosis_summary

    line = diagnosis_summary(rep.diagnosis)
    if line:
        ui.console.print(f"[bold red]{line}[/bold red]")
    verdict = "[bold green]PASSED[/bold green]" if rep["gates"]["passed"] else "[bold red]FAILED[/bold red]"
    files = "each engine's results and logs in engines/<label>/" if rep.engines else "results.jsonl"
    ui.console.print(f"{verdict}  run folder: {run_dir} (report.html, report.json, junit.xml, {files})")


@click.command("run")
@click.option("--board", default=None, help="Board of boards.yaml (default: the file's default, qemu-m4); "
              "NAME-A,NAME-B shares the windows between boards of one kind.")
@click.option("--model", "model", type=click.Path(path_type=Path), default=DEFAULT_MODEL_DIR, show_default=True,
              help="Model folder holding config.yaml.")
@click.option("--dataset", type=click.Path(path_type=Path), default=None,
              help="LSAD folder (default: $HIL_DATASETS/lsad, else synthetic LSAD generated on first use).")
@click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True,
              help="Windows to score; 'all' scores every usable record (a dataset never trained on).")
@click.option("--windows", type=int, default=None, help="Score at most N windows.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Run folder (default runs/<time>-<board>).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from its results.jsonl (--out, or the newest run).")
@click.option("--gate", "gates", multiple=True, metavar="KEY=VALUE",
              help="Override a gate of the model config, e.g. --gate top1_agreement=0.99 --gate max_latency=2e6 "
              "(VALUE 'none' disables it).")
@work_option
@click.option("--profile", default=AUTO, show_default=True,
              help="Training profile when a model must be trained: 'auto' = 'quick' on synthetic data (a few minutes "
              "on a CPU), the full recipe on LSAD; 'full' forces the full recipe; or a profile of the config.")
@engine_option("Inference engine (default: the board's `engine`, or its `fallback_engine` when that cannot be built "
               "here; the summary says which and why).")
@click.option("--engines", default=None, metavar="A,B|all",
              help="Several engines in one run: the same windows through each engine's image in turn, one report "
              "with every engine side by side and gates per engine (e.g. aot,tflm). 'all': every registered engine "
              "that can be built here (the summary names any left out). Not with --engine.")
@kernels_option("Kernel set of the tflm engine (default: the board's `kernels`); with --engines, of every engine "
                "that has kernel sets.")
@click.option("--no-train", is_flag=True, help="Never train or export: use the existing export (exit 3 if there is none).")
@click.option("--no-flash", is_flag=True, help="Real boards: do not flash; the HELLO check still refuses a stale image.")
@click.option("--devices", type=click.IntRange(min=1), default=None,
              help="Emulated board: boot N instances and share the windows between them (default: the cores this "
              "process may use, at most the window count). Physical boards: list them in --board instead.")
@click.option("--wait", "wait", type=click.FloatRange(min=0), default=0.0, show_default=True, metavar="SECONDS",
              help="When another run holds the board, wait up to SECONDS for it (0: exit 2 at once, naming the holder).")
@click.option("--history", "history", type=click.Path(path_type=Path), default=None, envvar="HIL_HISTORY",
              help="History file every run is recorded in [env HIL_HISTORY; default history.sqlite beside the "
              "runs folder].")
@click.option("--baseline", default="last-pass", show_default=True,
              help="Run the regression gates compare with: last-pass (the series' pinned or newest passing run), "
              "a RUN_ID of the history (any series), or none.")
@json_option("Print report.json instead of the summary tables.")
@click.pass_obj
def command(obj, board, model, dataset, split, windows, out, resume, gates, work, profile, engine, engines, kernels,
            no_train, no_flash, devices, wait, history, baseline, as_json) -> None:
    """Train, export, build, flash, stream the test windows and compare with the references.

    Reuses every artifact whose inputs did not change, so a re-run only streams
    and reports.  With no options: board qemu-m4, synthetic LSAD (or
    $HIL_DATASETS/lsad), model models/rhythm-4-effv2 trained with the 'quick'
    profile on first use.

    Exit status: 0 all gates passed, 1 a gate failed, 2 infrastructure failure
    (flash, link, emulator, stale image: retry), 3 usage or configuration error.
    With --engines: 1 when any engine's gate failed, 2 when an engine did not
    finish (the report keeps the engines that did; --resume finishes the run).

    \b
    Examples:
      hil run
      hil run --board apollo4 --gate max_latency=50
      hil run --windows 200 --out runs/quick --gate exact_match=0.99
      hil run --resume --out runs/quick
      hil run --engine tflm --kernels reference
      hil run --engines aot,tflm --windows 200
      hil run --engines all
      hil run --devices 2 --windows 2000
      hil run --board apollo4-a,apollo4-b --wait 600
      hil run --baseline none --history /tmp/h.sqlite
    """
    opts = RunOptions(
        board=board, model=model, dataset=dataset, split=split, windows=windows, out=out, resume=resume,
        gates=list(gates), work=work, profile=profile, engine=engine, kernels=kernels,
        engines=None if engines is None else engines.split(","),
        no_train=no_train, flash=not no_flash, boards_file=obj.boards if obj else None,
        show_progress=not as_json, devices=devices, wait=wait, history=history, baseline=baseline,
    )
    result = run_pipeline(opts)
    if as_json:
        ui.print_json(result.report.to_json())
    else:
        render_summary(result.report, result.run_dir)
    if result.exit_code:
        sys.exit(result.exit_code)
