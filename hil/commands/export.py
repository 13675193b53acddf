"""``hil export``: int8 .tflite, C header and the float/int8/TFLM comparison of the trained model."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.artifacts import ArtifactPaths, read_manifest
from hil.commands.options import json_option, work_option
from hil.config import DEFAULT_MODEL_DIR, load_model_config
from hil.errors import GateFailed


@click.command("export")
@click.option(
    "--model", "model_dir", type=click.Path(path_type=Path), default=DEFAULT_MODEL_DIR, show_default=True,
    help="Model folder holding config.yaml (its training must exist: hil train).",
)
@click.option(
    "--dataset", type=click.Path(path_type=Path), default=None,
    help="LSAD folder the model was trained on (default as for hil train).",
)
@work_option
@json_option()
def command(model_dir: Path, dataset: Path | None, work: Path | None, as_json: bool) -> None:
    """Quantise the trained model to int8 and write model.tflite, the C header and manifest.json.

    Calibrates on validation windows, checks every op is one the firmware
    engines support, and compares Keras float, TFLite int8 (reference kernels)
    and TFLM on the host on the test windows. Exits 1 when quantisation costs
    more accuracy than quantization.max_accuracy_drop (the artifacts are kept).

    \b
    Example:
      hil export --model models/rhythm-4-effv2
    """
    from hil.export.quantize import export_model, require_trained
    from hil.model.inputs import open_dataset

    if as_json:
        ui.set_verbosity(quiet=True, verbose=False)
    cfg = load_model_config(model_dir)
    paths = ArtifactPaths.for_model(cfg.name, work)
    require_trained(cfg, paths)  # before any data work
    ds = open_dataset(cfg, dataset, paths.work, progress=not as_json)
    try:
        out, failed = export_model(cfg, ds, paths), None
    except GateFailed as exc:  # the export is written and kept: show it, then exit 1 with the stage's message
        out, failed = paths.export, exc
    manifest = (read_manifest(out) or {}).get("outputs", {})
    metrics = json.loads((out / "metrics.json").read_text())
    if as_json:
        ui.print_json({"export_dir": str(out), "manifest": manifest, "metrics": metrics})
    else:
        render(out, manifest, metrics)
    if failed is not None:
        raise failed


def render(out: Path, m: dict, metrics: dict) -> None:
    i, o = m["input"], m["output"]
    ui.console.print(
        f"[bold]{out / m['tflite']}[/bold]: {m['bytes']:,} bytes, {m['params']:,} parameters, sha256 {m['sha256']}"
    )
    ui.console.print(
        f"input {i['shape']} {i['dtype']} scale {i['scale']:.6g} zp {i['zero_point']}; "
        f"output {o['shape']} {o['dtype']} scale {o['scale']:.6g} zp {o['zero_point']}"
    )
    ops = Counter(m["ops"])
    ui.console.print("ops: " + ", ".join(f"{k} x{v}" for k, v in ops.items()))
    table = Table(title=f"{metrics['windows']} test windows", title_justify="left")
    for col in ("", "accuracy", "F1 macro", "F1 weighted", f"acc (≥{metrics['threshold']:g})", "F1 (thr)", "dropped"):
        table.add_column(col, justify="left" if not col else "right")
    for key, label in (("keras", "Keras float"), ("tflite", "TFLite int8 (ref)"), ("tflm_host", "TFLM host")):
        r = metrics[key]
        th = r["thresholded"]
        table.add_row(
            label, f"{r['accuracy']:.3f}", f"{r['f1_macro']:.3f}", f"{r['f1_weighted']:.3f}",
            f"{th['accuracy']:.3f}", f"{th['f1_macro']:.3f}", f"{th['dropped']:.1%}",
        )
    ui.console.print(table)
    a, c = metrics["agreement"], metrics["quantization_check"]
    ui.console.print(
        f"top-1 agreement Keras/TFLite {a['keras_vs_tflite_top1']:.3f}, TFLite/TFLM {a['tflite_vs_tflm_top1']:.3f}, "
        f"TFLite/TFLM bit-exact {a['tflite_vs_tflm_exact']:.3f}"
    )
    verdict = "[green]ok[/green]" if c["passed"] else "[red]over the limit[/red]"
    ui.console.print(f"accuracy lost to quantisation {c['accuracy_drop']:+.3f} (limit {c['limit']:g}): {verdict}")
    ui.console.print(f"header: {out / m['header']} (array {m['var_name']})")
