"""``hil data``: synthesise, inspect, download and convert LSAD datasets."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from hil import ui
from hil.commands.options import WholeHelpGroup, json_option, work_option
from hil.config import DEFAULT_MODEL_DIR, load_model_config

_MODEL_HELP = "Model folder (its config.yaml gives the class map, split and windows)."


def _load_cfg(model: Path | None):
    if model is None:
        # The seed model, found relative to the checkout when run from elsewhere.
        here = Path(__file__).resolve().parents[2] / DEFAULT_MODEL_DIR
        model = DEFAULT_MODEL_DIR if DEFAULT_MODEL_DIR.exists() else here
    return load_model_config(model)


@click.group("data", cls=WholeHelpGroup)
def command() -> None:
    """LSAD datasets: synthesise, inspect, download, convert.

    \b
    Examples:
      hil data synth --out /tmp/s --patients 200
      hil data info /tmp/s
      hil data download --out ~/datasets/lsad
    """


@command.command("synth")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the dataset into.")
@click.option("--patients", type=click.IntRange(min=1), default=400, show_default=True, help="Records (one per patient).")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--noise", type=click.FloatRange(min=0), default=1.0, show_default=True, help="Noise scale (0: clean).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
@json_option()
def synth(out: Path, patients: int, seed: int, noise: float, workers: int | None, as_json: bool) -> None:
    """Write a synthetic LSAD (physiokit ECGs in LSAD's exact layout and format).

    \b
    Example:
      hil data synth --out /tmp/s --patients 200 --seed 1
    """
    import time

    from hil.data.synthetic import synthesize_lsad

    t0 = time.perf_counter()
    recs = synthesize_lsad(out, patients, seed, noise=noise, workers=workers, progress=not as_json)
    counts: dict[str, int] = {}
    for r in recs:
        counts[r.rhythm] = counts.get(r.rhythm, 0) + 1
    doc = {"out": str(out), "patients": len(recs), "seed": seed, "rhythms": counts, "seconds": round(time.perf_counter() - t0, 1)}
    if as_json:
        ui.print_json(doc)
    else:
        ui.console.print(
            f"[green]wrote[/green] {len(recs)} records to {out} in {doc['seconds']} s: "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
        )


def _render_summary(s: dict) -> None:
    from hil.data.reader import EXCLUSIONS, SKIP_REASONS

    ui.console.print(f"[bold]{s['name']}[/bold] {s['path']}")
    ui.console.print(
        f"records found {s['records_found']}, used {s['records_used']} ({s['patients']} patients), "
        f"skipped {s['records_found'] - s['records_used']}"
    )
    t = Table(title="patients per class and split", title_justify="left")
    t.add_column("class")
    splits = ["all", "train", "val", "test"]
    for sp in splits:
        t.add_column(sp, justify="right")
    for name in s["class_names"]:
        t.add_row(name, *[str(s["class_counts"][sp][name]) for sp in splits])
    t.add_row("[dim]windows[/dim]", "", *[f"[dim]{s['windows'][sp]}[/dim]" for sp in splits[1:]])
    ui.console.print(t)
    if s["skipped"]:
        k = Table(title="skipped records", title_justify="left")
        for col in ("reason", "records", "meaning"):
            k.add_column(col)
        for reason, n in s["skipped"].items():
            tag = " [dim](excluded)[/dim]" if reason in EXCLUSIONS else ""
            k.add_row(reason + tag, str(n), SKIP_REASONS.get(reason, ""))
        ui.console.print(k)
        for ex in s["skipped_examples"][:5]:
            ui.console.print(f"  [dim]{ex['reason']}: {ex['detail']}[/dim]", soft_wrap=True)
    else:
        ui.console.print("no records skipped")


@command.command("info")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--strict", is_flag=True, help="Exit 3 if any record had to be skipped as defective.")
@work_option
@json_option()
def info(dataset: Path, model: Path | None, strict: bool, work: Path | None, as_json: bool) -> None:
    """Patients, records, counts per class (overall and per split) and skipped records of DATASET.

    Converts the dataset into the store first if needed (cached).

    \b
    Examples:
      hil data info /tmp/s
      hil data info ../shared/data/lsad-sample --json
    """
    from hil.data import prepare_dataset
    from hil.data.dataset import find_lsad

    cfg = _load_cfg(model)
    root = find_lsad(dataset) or dataset
    ds = prepare_dataset(cfg, root, work, progress=not as_json, strict=strict)
    s = ds.summary()
    if as_json:
        ui.print_json(s)
    else:
        _render_summary(s)


@command.command("convert")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--strict", is_flag=True, help="Exit 3 if any record had to be skipped as defective.")
@work_option
@json_option()
def convert(dataset: Path, model: Path | None, strict: bool, work: Path | None, as_json: bool) -> None:
    """Convert DATASET into the store (parallel, resumable) and write the split and window lists.

    \b
    Example:
      hil data convert ~/datasets/lsad
    """
    import time

    from hil.data import prepare_dataset
    from hil.data.dataset import find_lsad

    cfg = _load_cfg(model)
    t0 = time.perf_counter()
    ds = prepare_dataset(cfg, find_lsad(dataset) or dataset, work, progress=not as_json, strict=strict)
    s = {**ds.summary(), "seconds": round(time.perf_counter() - t0, 1)}
    if as_json:
        ui.print_json(s)
    else:
        ui.console.print(f"[green]store ready[/green] {s['store']} ({s['seconds']} s); split and windows in {ds.data_dir}")
        _render_summary(s)


@command.command("download")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder for the dataset (gets WFDBRecords/).")
@click.option("--url", default=None, help="Archive URL (default: dataset.url of the model config).")
@click.option("--model", type=click.Path(path_type=Path), default=None, help=_MODEL_HELP)
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True, help="Resumed attempts after a cut transfer.")
@click.option("--keep-archive", is_flag=True, help="Keep the downloaded archive in OUT/.download.")
@click.option("--no-convert", is_flag=True, help="Only download, extract and verify.")
@work_option
@json_option()
def download(out: Path, url: str | None, model: Path | None, retries: int, keep_archive: bool, no_convert: bool,
             work: Path | None, as_json: bool) -> None:
    """Download LSAD (resumable), verify it against SHA256SUMS.txt, extract safely, convert.

    Run it again after an interruption: the transfer resumes where it stopped.
    Point HIL_DATASETS at OUT's parent (with OUT named lsad) to make it `hil run`'s dataset.

    \b
    Example:
      hil data download --out ~/datasets/lsad && export HIL_DATASETS=~/datasets
    """
    from hil.data import prepare_dataset
    from hil.data.download import download_lsad

    cfg = _load_cfg(model)
    root = download_lsad(url or cfg.dataset.url, out, sha256sums=cfg.dataset.sha256sums, retries=retries,
                         keep_archive=keep_archive, progress=not as_json)
    doc: dict = {"out": str(root), "verified": True}
    if not no_convert:
        ds = prepare_dataset(cfg, root, work, progress=not as_json)
        doc["summary"] = ds.summary()
    if as_json:
        ui.print_json(doc)
        return
    ui.console.print(f"[green]downloaded and verified[/green] {root}")
    if "summary" in doc:
        _render_summary(doc["summary"])
