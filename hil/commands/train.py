"""``hil train``: train the model of a config (the guide's recipe, or a named profile)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.artifacts import ArtifactPaths, read_manifest
from hil.commands.options import json_option, work_option
from hil.config import DEFAULT_MODEL_DIR, load_model_config


@click.command("train")
@click.option(
    "--model", "model_dir", type=click.Path(path_type=Path), default=DEFAULT_MODEL_DIR, show_default=True,
    help="Model folder holding config.yaml.",
)
@click.option(
    "--dataset", type=click.Path(path_type=Path), default=None,
    help="LSAD folder (holding WFDBRecords/). Default: $HIL_DATASETS/lsad, else a synthetic LSAD.",
)
@click.option("--profile", default=None, help="Training profile of the config (e.g. quick); default and 'full': the full recipe.")
@click.option("--restart", is_flag=True, help="Discard an interrupted training instead of resuming it.")
@work_option
@json_option()
def command(model_dir: Path, dataset: Path | None, profile: str | None, restart: bool, work: Path | None,
            as_json: bool) -> None:
    """Train the model; best checkpoint, history.csv and metrics.json go to <work>/<model>/train/.

    Reuses an up-to-date training, and continues an interrupted one from its
    last checkpoint (--restart to start over). Test-set metrics are printed
    with and without the confidence threshold.

    \b
    Examples:
      hil train --model models/rhythm-4-effv2 --profile quick
      hil train --dataset ~/datasets/lsad --json
    """
    from hil.model.inputs import open_dataset
    from hil.model.train import train_model

    if as_json:
        ui.set_verbosity(quiet=True, verbose=False)
    cfg = load_model_config(model_dir)
    cfg.training_for(profile)  # an unknown profile fails before any data work
    paths = ArtifactPaths.for_model(cfg.name, work)
    ds = open_dataset(cfg, dataset, paths.work, progress=not as_json)
    out = train_model(cfg, ds, paths, profile, restart=restart)
    manifest = read_manifest(out) or {}
    metrics = json.loads((out / "metrics.json").read_text())
    if as_json:
        ui.print_json({"train_dir": str(out), "manifest": manifest.get("outputs", {}), "metrics": metrics})
        return
    render(out, metrics)


def render(out: Path, metrics: dict) -> None:
    p = metrics["params"]
    ui.console.print(
        f"[bold]{metrics['model']}[/bold]: {p['total']:,} parameters ({p['trainable']:,} trainable, "
        f"{p['non_trainable']:,} non-trainable); {metrics['epochs_run']} epochs, best epoch {metrics['best_epoch']} "
        f"(val loss {metrics['best_val_loss']:.4f})"
    )
    test = metrics.get("test")
    if test:
        th = test["thresholded"]
        table = Table(title=f"Keras float on {test['windows']} test windows", title_justify="left")
        for col in ("", "accuracy", "F1 macro", "F1 weighted", "dropped"):
            table.add_column(col, justify="right" if col else "left")
        table.add_row("all windows", f"{test['accuracy']:.3f}", f"{test['f1_macro']:.3f}", f"{test['f1_weighted']:.3f}", "-")
        table.add_row(
            f"top prob ≥ {th['threshold']:g}", f"{th['accuracy']:.3f}", f"{th['f1_macro']:.3f}",
            f"{th['f1_weighted']:.3f}", f"{th['dropped']:.1%}",
        )
        ui.console.print(table)
        per = Table(title="per class (all windows)", title_justify="left")
        for col in ("class", "precision", "recall", "F1", "support"):
            per.add_column(col, justify="left" if col == "class" else "right")
        for name, c in test["per_class"].items():
            per.add_row(name, f"{c['precision']:.3f}", f"{c['recall']:.3f}", f"{c['f1']:.3f}", str(c["support"]))
        ui.console.print(per)
    ui.console.print(f"artifacts: {out}")
