"""``hil diagnose RUN_DIR``: the layer-by-layer diagnosis of a finished (or failed) run, later.

The run folder says everything needed (config.json: board, model, dataset, export and
firmware folders; results.jsonl: the device's outputs): the same windows are
rebuilt, the ones where the device disagrees with a reference are diagnosed
(hil.scoring.diagnosis) and the section goes into report.json and diagnosis.json;
report.html is made again with it (the run's own plots, from results.jsonl).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hil import steps as st
from hil.artifacts import write_json_atomic
from hil.config import Board, ModelConfig
from hil.errors import ConfigError
from hil.scoring import diagnosis as diag_mod
from hil.scoring.runner import RESULTS, ResultsStore, results_arrays

DIAGNOSIS_JSON = "diagnosis.json"


def _run_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{run_dir}: not a run folder (no config.json)", hint="pass the --out folder of a `hil run`") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not readable JSON ({exc})") from None


def diagnose_run(run_dir: Path, windows: int = diag_mod.DIAGNOSE_WINDOWS, *, flash: bool = True,
                 budget_s: float | None = None) -> dict[str, Any]:
    """Diagnoses up to ``windows`` disagreeing windows of the run in ``run_dir`` (the first ones when
    every window agrees: a check of a healthy image); returns the ``diagnosis`` section.

    Raises after writing what it found: InfraError when the device or link failed (exit 2), ConfigError
    when this engine or board cannot dump (exit 3)."""
    from hil.data import prepare_dataset
    from hil.scoring.report import write_html, write_report_json
    from hil.scoring.report_model import Diagnosis, load_report

    run_dir = Path(run_dir)
    if windows < 1:
        raise ConfigError(f"--windows {windows}: diagnose at least one window")
    conf = _run_config(run_dir)
    opts = conf.get("options", {})
    try:
        board, cfg = Board.model_validate(conf["board"]), ModelConfig.model_validate(conf["model"])
        dataset_dir, export_dir, fw_dir = Path(conf["dataset_dir"]), Path(conf["export_dir"]), Path(conf["firmware_dir"])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"{run_dir / 'config.json'}: not a config.json of this hil ({exc})") from None
    work = Path(opts["work"]) if opts.get("work") else None
    ds = prepare_dataset(cfg, dataset_dir, work, progress=False)
    prepared = st.prepared_export(ds, dataset_dir, conf.get("profile"), export_dir)
    wins = st.select_windows(prepared, opts.get("split", "test"), opts.get("windows"))
    if not (run_dir / RESULTS).exists():
        raise ConfigError(f"{run_dir / RESULTS}: the run scored no window yet; nothing to diagnose")
    outputs, ticks = results_arrays(ResultsStore(run_dir / RESULTS).load(), len(wins))
    refs = st.references(prepared, wins, None)
    bad = diag_mod.disagreeing(outputs, refs.tflite, refs.tflm_host)
    indices = (bad or list(range(len(wins))))[:windows]
    doc, failure = st.diagnose(board, st.firmware_facts(fw_dir), prepared, wins, indices, run_dir, flash=flash,
                               budget_s=budget_s)
    write_json_atomic(run_dir / DIAGNOSIS_JSON, doc)
    if (run_dir / "report.json").exists():
        rep = load_report(run_dir / "report.json")
        rep.diagnosis = Diagnosis.model_validate(doc)
        write_html(run_dir, rep, st.plot_data(cfg, wins, outputs, ticks))
        write_report_json(run_dir, rep)
    if failure is not None:
        raise failure
    if doc.get("error"):  # nothing failed, but nothing could be dumped: not a healthy verdict
        raise ConfigError(f"{run_dir}: no diagnosis: {doc['error']}",
                          hint="see docs/diagnose.md (Engines, Memory) for what can dump where")
    return doc
