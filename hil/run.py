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
    engines: list[str] | None = None         # several engines in one run (names, or ["all"]); excludes `engine`
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
    ticks: Any = None  # the engine's raw timer ticks per window (a run of several plots them side by side)
    plots: Any = None  # hil.scoring.report.PlotData of the report's page

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
    choices: list[Any] = field(default_factory=list)  # hil.engines.EngineChoice per engine, in run order
    notes: list[str] = field(default_factory=list)  # what --engines all left out, and why
    held: ExitStack = field(default_factory=ExitStack)  # the board locks, held until the run ends

    def release(self) -> None:
        self.held.close()


def _resolve_run_dir(opts: RunOptions, board_name: str) -> Path:
    if opts.out is not None:
        return Path(opts.out)
    runs = Path(os.environ.get("HIL_RUNS", "runs"))
    if opts.resume:
        # The newest run of this board that has results but no report yet: a finished run is not resumed by chance.
        cands = sorted(p for p in runs.glob(f"*-{board_name}") if has_results(p))
        unfinished = [p for p in cands if not _finished(p)]
        if not unfinished:
            finished = f" (finished: {', '.join(p.name for p in cands[-3:])})" if cands else ""
            raise ConfigError(f"--resume: no unfinished run of board {board_name!r} under {runs}/{finished}; "
                              "pass --out RUN_DIR to recompute a finished run's report")
        return unfinished[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return runs / f"{stamp}-{board_name}"


# Options a resumed run must repeat (config.json "options"), checked before any stage runs.
RESUME_OPTIONS = ("split", "windows", "dataset", "model")


def _finished(run_dir: Path) -> bool:
    """A report.json, and no engine of it that did not finish (a run of several engines reports those too)."""
    try:
        doc = json.loads((run_dir / report_mod.REPORT_JSON).read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # unreadable: not a run to continue by chance
    return not any(e.get("status") == "error" for e in doc.get("engines") or [])


def has_results(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a run's results: its own, or those of an engine of a run of several."""
    from hil.scoring.engines import ENGINES_DIR

    return (run_dir / RESULTS).exists() or any((run_dir / ENGINES_DIR).glob(f"*/{RESULTS}"))


def _same_path(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and Path(a).resolve() == Path(b).resolve())


def check_resume_options(opts: RunOptions, run_dir: Path, board: str, engine: str,
                         engines: list[str] | None = None) -> None:
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
    now_engines = engines or [engine]
    old_engines = meta.get("engines") or ([meta["engine"]] if "engine" in meta else now_engines)
    if old_engines != now_engines and not any(d.startswith("--engine ") for d in diff):
        diff.append(f"--engines {','.join(old_engines)} (now {','.join(now_engines)})")
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

    boards = load_run_boards(opts.board, opts.boards_file)
    board = boards[0]
    devices = device_boards(boards, opts.devices)
    if opts.wait < 0:
        raise ConfigError(f"--wait {opts.wait:g}: must be 0 (do not wait) or a number of seconds")
    choices, notes = _choose_engines(opts, board)
    choice = choices[0]
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
    for c in choices:
        c.engine.cmake_variables()  # a missing tree of an engine the run needs is found now
    _check_baseline(opts)
    run_dir = _resolve_run_dir(opts, board.name)
    if opts.resume and not has_results(run_dir):
        raise ConfigError(f"--resume: {run_dir / RESULTS} does not exist; nothing to resume (run without --resume)")
    if not opts.resume and has_results(run_dir):
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it or another --out")
    if opts.resume:
        check_resume_options(opts, run_dir, board.name, choice.name,
                             [c.name for c in choices] if len(choices) > 1 else None)
    plan = Plan(opts, board, cfg, gates_cfg, choice.name, paths, train, run_dir, choice.engine.kernels, choice.reason,
                devices, choices, notes)
    _hold(plan)
    return plan


def _choose_engines(opts: RunOptions, board: Board) -> tuple[list[Any], list[str]]:
    """--engine (one) or --engines (several, or all), never both; every name checked before anything runs."""
    from hil.engines import choose_engine, choose_engines

    if opts.engines is None:
        return [choose_engine(board, opts.engine, opts.kernels)], []
    if opts.engine is not None:
        raise ConfigError(f"--engine {opts.engine} and --engines {','.join(opts.engines)}: give one of them "
                          "(--engines A,B for several engines, --engine A for one)")
    return choose_engines(board, opts.engines, opts.kernels)


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


@dataclass
class EngineRun:
    """One engine of the run: its choice and the folder its results, logs and report go to."""

    choice: Any  # hil.engines.EngineChoice
    run_dir: Path  # the run folder itself (one engine), or engines/<label>/ in it (several)
    run_id: str

    @property
    def label(self) -> str:
        return self.choice.engine.label


def engine_runs(plan: Plan) -> list[EngineRun]:
    from hil.scoring.engines import engine_dir

    if len(plan.choices) == 1:
        return [EngineRun(plan.choices[0], plan.run_dir, plan.run_dir.name)]
    return [EngineRun(c, engine_dir(plan.run_dir, c.engine.label), f"{plan.run_dir.name}/{c.engine.label}")
            for c in plan.choices]


@dataclass
class Shared:
    """What every engine of a run scores: the export, the windows, the references (computed once)."""

    prepared: st.Prepared
    windows: st.Windows
    timer: st.StageTimer
    refs: Any = None  # hil.export.references.References, after the first engine's stream
    created: str | None = None


def _already_scored(run_dir: Path, resume: bool, meta: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The results a resumed run keeps (after checking it is the same run); {} for a new run or engine."""
    if not resume or not (run_dir / RESULTS).exists():
        return {}
    old = _old_meta(run_dir)
    diff = [k for k in RESUME_KEYS if old.get(k) != meta[k]]
    if diff:
        raise ConfigError(f"--resume: {run_dir} was run with a different {', '.join(diff)} "
                          f"({', '.join(f'{k}={old.get(k)!r}' for k in diff)}); start a new run instead")
    done = ResultsStore(run_dir / RESULTS).load()
    ui.info(f"  resuming: {len(done)} of {meta['windows']} windows already scored in {run_dir / RESULTS}")
    return done


def _write_meta(plan: Plan, run_dir: Path, meta: dict[str, Any], shared: Shared, firmware_dir: Path | None) -> str:
    """run.json (the identity --resume checks) and config.json (everything the run was made from); created."""
    opts, prepared = plan.opts, shared.prepared
    meta["created"] = _old_meta(run_dir).get("created") or shared.created or time.strftime("%Y-%m-%dT%H:%M:%S%z")
    run_dir.mkdir(parents=True, exist_ok=True)  # only now: the inputs are known to be good
    write_json_atomic(run_dir / RUN_META, meta)
    write_json_atomic(run_dir / CONFIG_JSON, {
        "hil_version": __version__, "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "board": plan.board.model_dump(mode="json"), "model": plan.cfg.model_dump(mode="json"),
        "profile": prepared.profile, "gates": plan.gates.model_dump(), "dataset_dir": str(prepared.dataset_dir),
        "export_dir": str(prepared.export_dir), "firmware_dir": str(firmware_dir) if firmware_dir else None,
        "host": {"hostname": socket.gethostname(), "python": platform.python_version()},
    })
    return meta["created"]


def _identity(plan: Plan, shared: Shared) -> dict[str, Any]:
    return {"board": plan.board.name, "model_sha256": shared.prepared.expect.model_sha256,
            "dataset_fingerprint": shared.prepared.dataset.fingerprint, "split": plan.opts.split,
            "windows": len(shared.windows)}


def _record_run(plan: Plan, er: EngineRun, shared: Shared, fw: st.Firmware) -> tuple[dict[int, dict[str, Any]], str]:
    """The engine's run.json and config.json, and the results a resume keeps."""
    meta = {**_identity(plan, shared), "engine": er.choice.name, "kernels": er.choice.engine.kernels,
            "firmware_sha256": fw.facts["sha256"]}
    done = _already_scored(er.run_dir, plan.opts.resume, meta)
    return done, _write_meta(plan, er.run_dir, meta, shared, fw.dir)


FILES = {"results": RESULTS, "serial_log": SERIAL_LOG, "flash_log": FLASH_LOG, "config": CONFIG_JSON,
         "junit": report_mod.JUNIT_XML, "html": report_mod.REPORT_HTML}


def run_pipeline(opts: RunOptions) -> RunResult:
    """Runs every step ``opts`` needs and returns the report; raises HilError subclasses for exits 2/3.

    Every run that gets past planning is recorded in the history, a failed one too (one row per engine)."""
    plan = plan_run(opts)
    with plan.held:  # the boards are released on every exit: pass, failure, error, Ctrl-C
        runs = engine_runs(plan)
        try:
            shared = _prepare(plan)
            if len(runs) == 1:
                res, failure = run_engine(plan, runs[0], shared)
                if failure is not None:  # the report is on disk first
                    raise failure
                return res
        except HilError as exc:
            _record_failure(plan, plan.run_dir, plan.run_dir.name, plan.engine, exc)
            raise
        from hil.run_engines import run_engines

        return run_engines(plan, runs, shared)  # records each engine's failure itself


def _record_failure(plan: Plan, run_dir: Path, run_id: str, engine: str | None, exc: HilError) -> None:
    history_hook.record_failure(plan.opts.history, run_dir, plan.board.name, engine, plan.cfg.name, exc,
                                run_id=run_id)


def _prepare(plan: Plan) -> Shared:
    """The stages every engine shares: data, training, export, the windows."""
    opts = plan.opts
    t = st.StageTimer()
    engines = ", ".join(f"{c.name}{f' {c.engine.kernels}' if c.engine.kernels else ''}" for c in plan.choices)
    ui.info(f"[bold]hil run[/bold] board [bold]{plan.board.name}[/bold] ({engines}), model {plan.cfg.name}, "
            f"run folder {plan.run_dir}")
    for c in plan.choices:
        ui.info(f"  engine {c.name}: {c.reason}")
    for note in plan.notes:
        ui.info(f"  [yellow]{note}[/yellow]")
    prepared = st.prepare(plan.cfg, plan.paths, dataset=opts.dataset, profile=opts.profile, train=plan.train,
                          timer=t, progress=opts.show_progress)
    windows = st.select_windows(prepared, opts.split, opts.windows, timer=t)
    return Shared(prepared, windows, t)


def run_engine(plan: Plan, er: EngineRun, shared: Shared) -> tuple[RunResult, HilError | None]:
    """Builds, streams, compares and reports one engine in its folder, and records it in the history.

    Returns the result and the error that came after its report (a failed diagnosis), if any; an error
    before the report is raised (every result so far is in the engine's results.jsonl)."""
    opts, prepared, windows = plan.opts, shared.prepared, shared.windows
    t = st.StageTimer()
    t.timings.update(shared.timer.timings)  # the engine's report counts the shared stages too
    kernels = er.choice.engine.kernels
    fw = st.build(plan.board, plan.cfg, plan.paths, er.choice.name, kernels=kernels, timer=t)
    done, created = _record_run(plan, er, shared, fw)
    streamed = st.stream(plan.board, fw, prepared, windows, er.run_dir, done=done, flash=opts.flash,
                         max_recoveries=opts.max_recoveries, show_progress=opts.show_progress, timer=t,
                         devices=plan.devices[:max(1, len(windows) - len(done))])  # never more devices than windows
    if shared.refs is None:
        shared.refs = st.references(prepared, windows, plan.paths.train / "model.keras", timer=shared.timer)
    t.timings["references"] = shared.timer.timings["references"]
    ident = st.RunIdentity(er.run_id, plan.board, er.choice.name, plan.cfg, plan.gates, FILES,
                           engine_reason=er.choice.reason, created=created)
    rep, plots = st.compare(ident, prepared, fw, windows, streamed, shared.refs, timer=t)
    failure = _auto_diagnose(plan, er.run_dir, prepared, fw, windows, streamed, shared.refs, rep, t)
    rep = _compare_with_baseline(plan, rep)
    rep = st.write_reports(er.run_dir, rep, plots, t)
    code = EXIT_OK if rep.gates.passed else EXIT_GATE_FAILED
    if failure is None:
        history_hook.record(opts.history, rep, er.run_dir, code)
    return RunResult(er.run_dir, rep, code, streamed.ticks, plots), failure


def _compare_with_baseline(plan: Plan, rep: Report) -> Report:
    """The regression gates against the run's baseline (hil/history), added to its gates."""
    from hil.history import open_history

    with open_history(plan.opts.history) as h:
        return history_hook.with_baseline(h, plan.opts.baseline, rep, plan.gates, emulated=plan.board.emulated)


def _auto_diagnose(plan: Plan, run_dir: Path, prepared: st.Prepared, fw: st.Firmware, windows: st.Windows,
                   streamed: st.Streamed, refs: Any, rep: Any, t: st.StageTimer) -> HilError | None:
    """When the device disagrees with a reference: the first few such windows, layer by layer, time-bounded."""
    from hil.scoring import diagnosis as diag_mod
    from hil.scoring.report_model import Diagnosis

    bad = diag_mod.disagreeing(streamed.outputs, refs.tflite, refs.tflm_host)
    if not bad:
        return None
    doc, failure = st.diagnose(plan.board, fw, prepared, windows, bad[:diag_mod.DIAGNOSE_WINDOWS], run_dir,
                               flash=plan.opts.flash, budget_s=diag_mod.DIAGNOSE_BUDGET_S, timer=t)
    rep.diagnosis = Diagnosis.model_validate(doc)
    return failure


__all__ = ["RunOptions", "RunResult", "Plan", "plan_run", "run_pipeline"]
