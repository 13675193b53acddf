"""``hil run`` as a function: the steps of hil.steps in order, a verdict at the end.

prepare (data, train, export) -> build -> windows -> stream (flash/boot, HELLO and
image check, every window) -> references -> compare -> report.  Everything
``opts`` can get wrong is checked before the first long step; a resumed run
must match the run it continues.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hil import __version__, ui
from hil import steps as st
from hil.artifacts import ArtifactPaths, write_json_atomic
from hil.config import (
    DEFAULT_MODEL_DIR,
    Board,
    GatesCfg,
    ModelConfig,
    load_model_config,
)
from hil.errors import EXIT_GATE_FAILED, EXIT_OK, ConfigError, HilError
from hil.history import hook as history_hook
from hil.scoring import gates as gates_mod
from hil.scoring import report as report_mod
from hil.scoring.report_model import Report
from hil.scoring.runner import RESULTS, ResultsStore

RUN_META = "run.json"
CONFIG_JSON = "config.json"
SPLITS = ("test", "val", "train", "all")
AUTO = st.AUTO
SERIAL_LOG, FLASH_LOG = st.SERIAL_LOG, st.FLASH_LOG
# Keys of run.json a resumed run must share with the run it continues.
RESUME_KEYS = ("board", "engine", "kernels", "model_sha256", "dataset_fingerprint", "split", "windows")


@dataclass
class RunOptions:
    board: str | None = None                 # boards.yaml name; None = the file's default (qemu-m4)
    model: Path = DEFAULT_MODEL_DIR          # folder with config.yaml
    dataset: Path | None = None              # LSAD folder; None = $HIL_DATASETS/lsad or synthetic LSAD
    split: str = "test"
    windows: int | None = None               # cap on the number of windows
    out: Path | None = None                  # run folder; default runs/<time>-<board>
    resume: bool = False
    gates: list[str] = field(default_factory=list)  # KEY=VALUE overrides
    work: Path | None = None
    profile: str | None = AUTO               # training profile; auto = quick on synthetic data, full recipe on LSAD
    engine: str | None = None                # None = the board's default (or its fallback_engine, with the reason)
    kernels: str | None = None               # tflm kernel set; None = the board's `kernels`
    no_train: bool = False                   # refuse to train/export: use existing artifacts only
    flash: bool = True                       # False: the board already holds the image (checked by HELLO)
    boards_file: Path | None = None
    show_progress: bool = True
    max_recoveries: int = 2
    devices: int | None = None               # emulated board: QEMU instances (None = cores, at most the windows)
    wait: float = 0.0                        # seconds to wait for a board another run holds (0: exit 2 at once)
    history: Path | None = None              # history file; None = $HIL_HISTORY or beside the runs folder
    baseline: str = "last-pass"              # last-pass | none | a run id of the history


@dataclass
class RunResult:
    run_dir: Path
    report: Report
    exit_code: int

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK


@dataclass
class Plan:
    """``opts`` resolved and checked: everything a run needs before its first long step."""

    opts: RunOptions
    board: Board
    cfg: ModelConfig
    gates: GatesCfg
    engine: str
    paths: ArtifactPaths
    train: bool
    run_dir: Path
    kernels: str | None = None
    engine_reason: str | None = None
    devices: list[Board] = field(default_factory=list)  # one per device streamed to (hil.device.devices)
    held: ExitStack = field(default_factory=ExitStack)  # the board locks, held until the run ends

    def release(self) -> None:
        self.held.close()


def _resolve_run_dir(opts: RunOptions, board_name: str) -> Path:
    if opts.out is not None:
        return Path(opts.out)
    runs = Path(os.environ.get("HIL_RUNS", "runs"))
    if opts.resume:
        # The newest run of this board that has results but no report yet: a finished run is not resumed by chance.
        cands = sorted(p for p in runs.glob(f"*-{board_name}") if (p / RESULTS).exists())
        unfinished = [p for p in cands if not (p / report_mod.REPORT_JSON).exists()]
        if not unfinished:
            finished = f" (finished: {', '.join(p.name for p in cands[-3:])})" if cands else ""
            raise ConfigError(f"--resume: no unfinished run of board {board_name!r} under {runs}/{finished}; "
                              "pass --out RUN_DIR to recompute a finished run's report")
        return unfinished[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return runs / f"{stamp}-{board_name}"


# Options a resumed run must repeat (config.json "options"), checked before any stage runs.
RESUME_OPTIONS = ("split", "windows", "dataset", "model")


def _same_path(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and Path(a).resolve() == Path(b).resolve())


def check_resume_options(opts: RunOptions, run_dir: Path, board: str, engine: str) -> None:
    """The options of ``opts`` against those the run in ``run_dir`` was made with (config.json, run.json)."""
    try:
        old = json.loads((run_dir / CONFIG_JSON).read_text()).get("options", {})
        meta = json.loads((run_dir / RUN_META).read_text())
    except (OSError, ValueError):
        return  # no record of the options: the identity check after the data stage still applies
    now = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    diff = [f"--{k} {old.get(k)!r} (now {now[k]!r})" for k in RESUME_OPTIONS
            if not (_same_path(old.get(k), now[k]) if k in ("dataset", "model") else old.get(k) == now[k])]
    diff += [f"--{k} {meta.get(k)!r} (now {v!r})" for k, v in (("board", board), ("engine", engine))
             if k in meta and meta[k] != v]
    if diff:
        raise ConfigError(f"--resume: {run_dir} was run with {'; '.join(diff)}; resume it with the same options, "
                          "or start a new run without --resume")


def plan_run(opts: RunOptions) -> Plan:
    """Validates ``opts`` against the config files and the run folder; no long step runs before this."""
    if opts.split not in SPLITS:
        raise ConfigError(f"--split {opts.split!r}: expected one of {', '.join(SPLITS)}")
    if opts.windows is not None and opts.windows <= 0:
        raise ConfigError(f"--windows {opts.windows}: must be a positive number of windows")
    from hil.device.devices import device_boards, load_run_boards
    from hil.engines import choose_engine

    boards = load_run_boards(opts.board, opts.boards_file)
    board = boards[0]
    devices = device_boards(boards, opts.devices)
    if opts.wait < 0:
        raise ConfigError(f"--wait {opts.wait:g}: must be 0 (do not wait) or a number of seconds")
    choice = choose_engine(board, opts.engine, opts.kernels)
    cfg = load_model_config(opts.model)
    gates_cfg = gates_mod.apply_overrides(cfg.gates, opts.gates)
    if opts.profile not in (AUTO, None) and opts.profile not in cfg.profiles:
        raise ConfigError(f"--profile {opts.profile!r}: not a profile of {opts.model}; profiles: "
                          f"{', '.join(['auto', *cfg.profiles])}")
    paths = ArtifactPaths.for_model(cfg.name, opts.work)
    train = not opts.no_train
    if opts.split == "all" and train:
        # An external evaluation set must never be trained on: score it with the existing model.
        ui.info("--split all: scoring with the existing export (no training on this dataset)")
        train = False
    if not train:
        st.export_outputs(paths.export)  # a model with no export is a usage error, found now
    choice.engine.cmake_variables()  # a missing tree of the engine the run needs is found now
    _check_baseline(opts)
    run_dir = _resolve_run_dir(opts, board.name)
    if opts.resume and not (run_dir / RESULTS).exists():
        raise ConfigError(f"--resume: {run_dir / RESULTS} does not exist; nothing to resume (run without --resume)")
    if not opts.resume and (run_dir / RESULTS).exists():
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it or another --out")
    if opts.resume:
        check_resume_options(opts, run_dir, board.name, choice.name)
    plan = Plan(opts, board, cfg, gates_cfg, choice.name, paths, train, run_dir, choice.engine.kernels, choice.reason,
                devices)
    _hold(plan)
    return plan


def _hold(plan: Plan) -> None:
    """Holds every physical board and labgrid place for the whole run, before the first long step; a missing/busy
    port is found now.  A place's board is replaced by the board as held (its serial port and probe filled in)."""
    from hil.device.devices import hold_boards

    try:
        plan.devices = hold_boards(plan.held, plan.devices, plan.run_dir.name, plan.opts.wait, ui.info)
        plan.board = plan.devices[0]
    except BaseException:
        plan.release()
        raise


def _old_meta(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / RUN_META).read_text()) if (run_dir / RUN_META).exists() else {}


def _check_baseline(opts: RunOptions) -> None:
    """An explicit --baseline RUN_ID must be in the history (found now, not after training)."""
    from hil.history import baseline as bl
    from hil.history import open_history

    if opts.baseline not in (bl.LAST_PASS, bl.NONE):
        with open_history(opts.history) as h:
            bl.check_spec(h, opts.baseline)


def _already_scored(plan: Plan, meta: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The results a resumed run keeps (after checking it is the same run); {} for a new run."""
    run_dir = plan.run_dir
    if not plan.opts.resume:
        return {}
    old = _old_meta(run_dir)
    diff = [k for k in RESUME_KEYS if old.get(k) != meta[k]]
    if diff:
        raise ConfigError(f"--resume: {run_dir} was run with a different {', '.join(diff)} "
                          f"({', '.join(f'{k}={old.get(k)!r}' for k in diff)}); start a new run instead")
    done = ResultsStore(run_dir / RESULTS).load()
    ui.info(f"  resuming: {len(done)} of {meta['windows']} windows already scored in {run_dir / RESULTS}")
    return done


def _record_run(plan: Plan, prepared: st.Prepared, fw: st.Firmware,
                windows: st.Windows) -> tuple[dict[int, dict[str, Any]], str]:
    """run.json (the identity --resume checks) and config.json (everything the run was made from)."""
    opts = plan.opts
    meta = {"board": plan.board.name, "engine": plan.engine, "kernels": plan.kernels, "model_sha256": prepared.expect.model_sha256,
            "dataset_fingerprint": prepared.dataset.fingerprint, "split": opts.split, "windows": len(windows),
            "firmware_sha256": fw.facts["sha256"]}
    done = _already_scored(plan, meta)
    meta["created"] = _old_meta(plan.run_dir).get("created") or time.strftime("%Y-%m-%dT%H:%M:%S%z")
    plan.run_dir.mkdir(parents=True, exist_ok=True)  # only now: the inputs are known to be good
    write_json_atomic(plan.run_dir / RUN_META, meta)
    write_json_atomic(plan.run_dir / CONFIG_JSON, {
        "hil_version": __version__, "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "board": plan.board.model_dump(mode="json"), "model": plan.cfg.model_dump(mode="json"),
        "profile": prepared.profile, "gates": plan.gates.model_dump(), "dataset_dir": str(prepared.dataset_dir),
        "export_dir": str(prepared.export_dir), "firmware_dir": str(fw.dir),
        "host": {"hostname": socket.gethostname(), "python": platform.python_version()},
    })
    return done, meta["created"]


FILES = {"results": RESULTS, "serial_log": SERIAL_LOG, "flash_log": FLASH_LOG, "config": CONFIG_JSON,
         "junit": report_mod.JUNIT_XML, "html": report_mod.REPORT_HTML}


def run_pipeline(opts: RunOptions) -> RunResult:
    """Runs every step ``opts`` needs and returns the report; raises HilError subclasses for exits 2/3.

    Every run that gets past planning is recorded in the history, a failed one too."""
    plan = plan_run(opts)
    with plan.held:  # the boards are released on every exit: pass, failure, error, Ctrl-C
        try:
            return _run_plan(plan)
        except HilError as exc:
            history_hook.record_failure(opts.history, plan.run_dir, plan.board.name, plan.engine, plan.cfg.name, exc)
            raise


def _run_plan(plan: Plan) -> RunResult:
    opts = plan.opts
    t = st.StageTimer()
    kernels = f" {plan.kernels}" if plan.kernels else ""
    ui.info(f"[bold]hil run[/bold] board [bold]{plan.board.name}[/bold] ({plan.engine}{kernels}), model {plan.cfg.name}, "
            f"run folder {plan.run_dir}")
    ui.info(f"  engine {plan.engine}: {plan.engine_reason}")
    prepared = st.prepare(plan.cfg, plan.paths, dataset=opts.dataset, profile=opts.profile, train=plan.train,
                          timer=t, progress=opts.show_progress)
    fw = st.build(plan.board, plan.cfg, plan.paths, plan.engine, kernels=plan.kernels, timer=t)
    windows = st.select_windows(prepared, opts.split, opts.windows, timer=t)
    done, created = _record_run(plan, prepared, fw, windows)
    streamed = st.stream(plan.board, fw, prepared, windows, plan.run_dir, done=done, flash=opts.flash,
                         max_recoveries=opts.max_recoveries, show_progress=opts.show_progress, timer=t,
                         devices=plan.devices[:max(1, len(windows) - len(done))])  # never more devices than windows
    refs = st.references(prepared, windows, plan.paths.train / "model.keras", timer=t)
    ident = st.RunIdentity(plan.run_dir.name, plan.board, plan.engine, plan.cfg, plan.gates, FILES,
                           engine_reason=plan.engine_reason, created=created)
    rep, plots = st.compare(ident, prepared, fw, windows, streamed, refs, timer=t)
    failure = _auto_diagnose(plan, prepared, fw, windows, streamed, refs, rep, t)
    rep = _compare_with_baseline(plan, rep)
    rep = st.write_reports(plan.run_dir, rep, plots, t)
    if failure is not None:  # the report is on disk first; run_pipeline records the failure in the history
        raise failure
    code = EXIT_OK if rep.gates.passed else EXIT_GATE_FAILED
    history_hook.record(opts.history, rep, plan.run_dir, code)
    return RunResult(plan.run_dir, rep, code)


def _compare_with_baseline(plan: Plan, rep: Report) -> Report:
    """The regression gates against the run's baseline (hil/history), added to its gates."""
    from hil.history import open_history

    with open_history(plan.opts.history) as h:
        return history_hook.with_baseline(h, plan.opts.baseline, rep, plan.gates, emulated=plan.board.emulated)


def _auto_diagnose(plan: Plan, prepared: st.Prepared, fw: st.Firmware, windows: st.Windows, streamed: st.Streamed,
                   refs: Any, rep: Any, t: st.StageTimer) -> Exception | None:
    """When the device disagrees with a reference: the first few such windows, layer by layer, time-bounded."""
    from hil.scoring import diagnosis as diag_mod
    from hil.scoring.report_model import Diagnosis

    bad = diag_mod.disagreeing(streamed.outputs, refs.tflite, refs.tflm_host)
    if not bad:
        return None
    doc, failure = st.diagnose(plan.board, fw, prepared, windows, bad[:diag_mod.DIAGNOSE_WINDOWS], plan.run_dir,
                               flash=plan.opts.flash, budget_s=diag_mod.DIAGNOSE_BUDGET_S, timer=t)
    rep.diagnosis = Diagnosis.model_validate(doc)
    return failure


__all__ = ["RunOptions", "RunResult", "Plan", "plan_run", "run_pipeline"]
