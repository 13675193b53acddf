"""The named steps of ``hil run``, each a function with typed inputs and outputs.

    prepare     dataset, training and export          -> Prepared
    build       the firmware image for the board      -> Firmware
    windows     the split's windows, quantised        -> Windows
    stream      every window through a DeviceSession  -> Streamed (results.jsonl on disk)
    references  Keras, TFLite and TFLM-on-host        -> References
    compare     metrics, agreement, latency, gates    -> Report (typed report.json)
    report      report.json, junit.xml, report.html

``hil.run.run_pipeline`` calls them in this order; the pytest plugin and the
benchmarks call the same functions.  Every step reuses fresh artifacts
(hil.artifacts), so a re-run costs only the streaming and the report.
"""

from __future__ import annotations

import time
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from hil import __version__, ui
from hil.artifacts import ArtifactPaths, read_manifest, sha256_file
from hil.config import Board, GatesCfg, ModelConfig
from hil.device.session import DeviceSession, ExpectedImage
from hil.errors import ConfigError, InfraError
from hil.export.references import References, reference_outputs
from hil.quant import dequantize
from hil.scoring import compare as cmp
from hil.scoring import gates as gates_mod
from hil.scoring import profile as profile_mod
from hil.scoring import report as report_mod
from hil.scoring.report_model import Report
from hil.scoring.runner import (
    RESULTS,
    ResultsStore,
    StreamStats,
    results_arrays,
    stream_windows,
)

SERIAL_LOG = "serial.log"
FLASH_LOG = "flash.log"
AUTO = "auto"


class StageTimer:
    """Announces each stage and adds up its wall time (report.json ``timings``)."""

    def __init__(self, announce: bool = True) -> None:
        self.timings: dict[str, float] = {}
        self.announce = announce
        self._open: dict[str, float] = {}  # stage -> start of the running stage

    def snapshot(self) -> dict[str, float]:
        """The timings so far, a running stage counted up to now."""
        now = time.monotonic()
        out = dict(self.timings)
        for name, t0 in self._open.items():
            out[name] = round(out.get(name, 0.0) + now - t0, 3)
        return out

    @contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        if self.announce:
            ui.info(f"[bold cyan]▶ {name}[/bold cyan] {what}")
        t0 = self._open[name] = time.monotonic()
        try:
            with ui.heartbeat(name) if self.announce else nullcontext():  # a log hears from a long stage
                yield
        finally:
            del self._open[name]
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - t0, 3)
        if self.announce:
            ui.info(f"  [dim]{name} done in {self.timings[name]:.1f} s[/dim]")


# --------------------------------------------------------------------------- prepare


@dataclass
class Prepared:
    """The dataset and the exported model a run scores."""

    dataset: Any  # hil.data.PreparedDataset
    dataset_dir: Path
    profile: str | None
    export_dir: Path
    export_out: dict[str, Any]
    expect: ExpectedImage
    output_scale: float
    output_zero_point: int
    output_shape: tuple[int, ...]

    @property
    def tflite(self) -> Path:
        return self.export_dir / "model.tflite"


def export_outputs(export_dir: Path) -> dict[str, Any]:
    """The export manifest's outputs; a ConfigError when the model has no export."""
    m = read_manifest(export_dir)
    if m is None or not (export_dir / "model.tflite").is_file():
        raise ConfigError(f"{export_dir}: the model has no export (model.tflite + manifest.json); run `hil export` "
                          "(or `hil run` on the training dataset) first, or drop --no-train")
    return m.get("outputs", {})


def training_profile(requested: str | None, dataset_dir: Path) -> str | None:
    """``auto``: the quick profile on synthetic data, the full recipe (None) on real LSAD."""
    if requested != AUTO:
        return requested
    from hil.data.synthetic import read_synthetic_marker

    return "quick" if read_synthetic_marker(Path(dataset_dir)) else None


def prepare(cfg: ModelConfig, paths: ArtifactPaths, *, dataset: Path | None, profile: str | None = AUTO,
            train: bool = True, timer: StageTimer | None = None, progress: bool = True) -> Prepared:
    """Dataset (split, fixed windows), then training and export unless ``train`` is False."""
    from hil.data import default_dataset, prepare_dataset

    t = timer or StageTimer(announce=False)
    with t.stage("data", "dataset, split and fixed window lists"):
        dataset_dir = Path(dataset) if dataset else default_dataset(cfg, paths.work, progress=progress)
        ds = prepare_dataset(cfg, dataset_dir, paths.work, progress=progress)
    chosen = training_profile(profile, dataset_dir)
    if train:
        from hil.export.quantize import export_model
        from hil.model.train import train_model

        with t.stage("train", f"Keras model (profile {chosen or 'full recipe'}; reused when fresh)"):
            train_model(cfg, ds, paths, chosen)
        with t.stage("export", "int8 .tflite and C header (reused when fresh)"):
            export_model(cfg, ds, paths)
    return prepared_export(ds, dataset_dir, chosen, paths.export)


def prepared_export(ds: Any, dataset_dir: Path, profile: str | None, export_dir: Path) -> Prepared:
    from hil.export.tflite_info import read_io_quant

    out = export_outputs(export_dir)
    tflite = export_dir / "model.tflite"
    in_s, in_zp, out_s, out_zp, in_shape, out_shape = read_io_quant(tflite)
    expect = ExpectedImage(out.get("sha256") or sha256_file(tflite), in_s, in_zp, out_s, out_zp, tuple(in_shape))
    return Prepared(ds, dataset_dir, profile, export_dir, out, expect, out_s, out_zp, tuple(out_shape))


# --------------------------------------------------------------------------- build


@dataclass
class Firmware:
    """A built image: its folder and the facts report.json records."""

    dir: Path
    size: dict[str, Any]
    facts: dict[str, Any]


def build(board: Board, cfg: ModelConfig, paths: ArtifactPaths, engine: str | None, *, host: bool = False,
          kernels: str | None = None, timer: StageTimer | None = None) -> Firmware:
    """The image of ``engine`` (None: the board's choice, hil.engines.choose_engine) with ``kernels``."""
    from hil.firmware.build import build_firmware

    t = timer or StageTimer(announce=False)
    what = f"{engine or 'board engine'}{f' {kernels}' if kernels else ''}"
    with t.stage("build", f"firmware for {board.name} ({what}; reused when fresh)"):
        fw_dir = Path(build_firmware(board, cfg, paths, engine, host=host, kernels=kernels))
    return firmware_facts(fw_dir)


def firmware_facts(fw_dir: Path) -> Firmware:
    import json

    size: dict[str, Any] = {}
    try:
        size = json.loads((fw_dir / "size.json").read_text())
    except (OSError, ValueError):
        pass
    image = fw_dir / "hil.bin" if (fw_dir / "hil.bin").exists() else fw_dir / "hil.elf"
    facts = {"sha256": sha256_file(image) if image.exists() else None, "text": size.get("text"),
             "data": size.get("data"), "bss": size.get("bss"), "path": str(fw_dir),
             "kernels": size.get("kernels"), "tflm_commit": size.get("tflm_commit")}
    return Firmware(fw_dir, size, facts)


# --------------------------------------------------------------------------- windows


@dataclass
class Windows:
    split: str
    limit: int | None
    x: np.ndarray  # float windows as the model sees them
    x_int8: np.ndarray  # the same, quantised with the model's input quantisation
    y: np.ndarray
    refs: list[Any]  # where each window comes from (record, lead, start)

    def __len__(self) -> int:
        return len(self.y)


def select_windows(prepared: Prepared, split: str, limit: int | None, timer: StageTimer | None = None) -> Windows:
    from hil.export.quantize import quantize_input

    t = timer or StageTimer(announce=False)
    with t.stage("windows", f"{split} windows, z-normalised and quantised"):
        w = prepared.dataset.windows(split, limit=limit)
        x_int8 = quantize_input(w.x, prepared.expect.input_scale, prepared.expect.input_zero_point)
    if len(w.y) == 0:
        raise ConfigError(f"dataset {prepared.dataset.name}: split {split!r} has no windows")
    return Windows(split, limit, w.x, x_int8, np.asarray(w.y), list(w.refs))


# --------------------------------------------------------------------------- stream


@dataclass
class Streamed:
    """Every window's device result (from results.jsonl) and what the session learnt on the way."""

    outputs: np.ndarray  # int8 [N, C]
    ticks: np.ndarray  # raw timer ticks [N]
    device_info: dict[str, Any] = field(default_factory=dict)
    flash: dict[str, Any] = field(default_factory=dict)
    stats: StreamStats | None = None  # None: nothing was left to stream
    profile: list[dict[str, Any]] = field(default_factory=list)  # raw per-op samples (profile.json), per engine
    devices: list[Any] = field(default_factory=list)  # hil.scoring.shard.DeviceStats, one per device
    recorded_stream: dict[str, Any] | None = None  # stats of the session that scored them, when stats is None

    def stream_doc(self) -> dict[str, Any] | None:
        return self.recorded_stream if self.stats is None else _stream_doc(self.stats)


SESSION_JSON = "session.json"  # what the streaming session learnt, kept for a resume with nothing left to stream


def _save_session(run_dir: Path, streamed: Streamed, timings: dict[str, float]) -> None:
    from hil.artifacts import write_json_atomic

    write_json_atomic(run_dir / SESSION_JSON, {
        "device_info": streamed.device_info, "flash": streamed.flash, "stream": streamed.stream_doc(),
        "timings": {k: timings[k] for k in ("flash", "stream") if k in timings}})


def recorded_session(run_dir: Path) -> dict[str, Any]:
    """What the session that scored every window recorded: session.json, else a finished run's report.json."""
    import json

    from hil.scoring.report_model import load_report

    try:
        return json.loads((run_dir / SESSION_JSON).read_text())
    except (OSError, ValueError):
        pass
    if (run_dir / report_mod.REPORT_JSON).exists():
        old = load_report(run_dir / report_mod.REPORT_JSON)
        return {"device_info": old.device_info, "flash": old.flash,
                "stream": old.stream.model_dump(mode="json") if old.stream else None,
                "timings": {k: v for k, v in old.timings.items() if k in ("flash", "stream")}}
    return {}


def stream(board: Board, firmware: Firmware, prepared: Prepared, windows: Windows, run_dir: Path, *,
           done: dict[int, dict[str, Any]], flash: bool = True, max_recoveries: int = 2,
           show_progress: bool = True, timer: StageTimer | None = None,
           devices: list[Board] | None = None) -> Streamed:
    """Streams the windows not in ``done`` through one DeviceSession; each result is on disk as it arrives.

    ``devices``: the boards to shard the windows over (the same emulated board
    N times, or physical boards of one kind); one or None is ``board`` alone.
    """
    if devices is not None and len(devices) > 1:
        return stream_devices(devices, firmware, prepared, windows, run_dir, done=done, flash=flash,
                              max_recoveries=max_recoveries, show_progress=show_progress, timer=timer)
    t = timer or StageTimer(announce=False)
    store = ResultsStore(run_dir / RESULTS)
    n = len(windows)
    info_doc: dict[str, Any] = {}
    flash_doc: dict[str, Any] = {}
    stats = None
    profile_raw: list[dict[str, Any]] = []
    if len(done) < n:
        with ExitStack() as stack:
            stack.callback(store.close)
            with t.stage("flash", f"{'boot' if board.emulated else 'flash'} {board.name}"):
                session = stack.enter_context(DeviceSession(
                    board, firmware.dir, expect=prepared.expect, flash_log=run_dir / FLASH_LOG,
                    serial_log=run_dir / SERIAL_LOG, flash=flash))
            if session.flash_result is not None:
                r = session.flash_result
                flash_doc = {"flasher": r.flasher, "seconds": round(r.seconds, 3), "notes": r.notes}
            stats = _stream_session(session, windows, store, run_dir, done, max_recoveries, show_progress, t)
            info_doc = session.info_dict()
            profile_raw = profile_device(session, windows, run_dir, timer=t)
        ui.info(f"  scored {stats.scored} windows ({stats.recoveries} recoveries) in {stats.seconds:.1f} s "
                f"({stats.scored / max(stats.seconds, 1e-9):.1f} windows/s)")
    shares = [] if stats is None else [_single_share(board, stats)]
    return _streamed(run_dir, windows, info_doc, flash_doc, stats, shares, profile_raw, t)


def _single_share(board: Board, stats: StreamStats) -> Any:
    from hil.scoring.shard import DeviceStats

    return DeviceStats(0, board.name, stats.scored, stats.recoveries, stats.seconds, list(stats.errors))


def _streamed(run_dir: Path, windows: Windows, info_doc: dict[str, Any], flash_doc: dict[str, Any],
              stats: StreamStats | None, shares: list[Any], profile_raw: list[dict[str, Any]],
              t: StageTimer) -> Streamed:
    """The results on disk, with what the session measured (or, when nothing was left to stream, recorded)."""
    n = len(windows)
    recorded: dict[str, Any] = {}
    if stats is None:
        # Nothing to stream: keep what the session that scored them measured (device, flash, stream, timings).
        recorded = recorded_session(run_dir)
        info_doc, flash_doc = recorded.get("device_info") or {}, recorded.get("flash") or {}
        t.timings.update(recorded.get("timings") or {})
        profile_raw = profile_mod.load(run_dir)
        ui.info("  every window is already scored; recomputing the report only"
                + ("" if recorded else f" (no record of the device session in {run_dir})"))
    records = ResultsStore(run_dir / RESULTS).load()
    outputs, ticks = results_arrays(records, n)
    for i in range(n):  # the saved results must be of these very windows
        if records[i]["true"] != int(windows.y[i]):
            raise ConfigError(f"{run_dir / RESULTS}: window {i} has class {records[i]['true']}, "
                              f"the dataset says {int(windows.y[i])}")
    streamed = Streamed(outputs, ticks, info_doc, flash_doc, stats, profile=profile_raw, devices=shares,
                        recorded_stream=recorded.get("stream"))
    if stats is not None:
        _save_session(run_dir, streamed, t.timings)
    return streamed


def profile_device(session: DeviceSession, windows: Windows, run_dir: Path, *,
                   timer: StageTimer | None = None) -> list[dict[str, Any]]:
    """PROFILE after a few of the run's windows, in the streaming's session; saved to profile.json.

    A device that cannot profile costs the run its profile, never its results: the failure
    becomes a warning in the report (``profile`` empty)."""
    t = timer or StageTimer(announce=False)
    with t.stage("profile", f"per-op profile of {min(len(windows), profile_mod.PROFILE_WINDOWS)} invokes"):
        try:
            client = session.client or session.reconnect()
            engine = (session.info.engine if session.info is not None else None) or session.board.engine
            raw = [profile_mod.collect(client, windows.x_int8, engine)]
        except InfraError as exc:
            ui.info(f"  [yellow]no per-op profile: {exc}[/yellow]")
            return []
    profile_mod.save(run_dir, raw)
    return raw


def device_log(run_dir: Path, name: str, k: int) -> Path:
    """Device 0 logs to serial.log / flash.log as a one-device run does; device k to serial.k.log."""
    if k == 0:
        return run_dir / name
    stem, _, ext = name.rpartition(".")
    return run_dir / f"{stem}.{k}.{ext}"


def stream_devices(boards: list[Board], firmware: Firmware, prepared: Prepared, windows: Windows, run_dir: Path, *,
                   done: dict[int, dict[str, Any]], flash: bool = True, max_recoveries: int = 2,
                   show_progress: bool = True, timer: StageTimer | None = None) -> Streamed:
    """The windows not in ``done`` sharded over one DeviceSession per board (hil.scoring.shard)."""
    from hil.scoring.shard import Device, stream_sharded

    t = timer or StageTimer(announce=False)
    store = ResultsStore(run_dir / RESULTS)
    n, info_doc, flash_doc, stats, shares, profile_raw = len(windows), {}, {}, None, [], []
    if len(done) < n:
        with ExitStack() as stack:
            stack.callback(store.close)
            with t.stage("flash", f"{'boot' if boards[0].emulated else 'flash'} {len(boards)} devices"):
                sessions = [stack.enter_context(DeviceSession(
                    b, firmware.dir, expect=prepared.expect, flash_log=device_log(run_dir, FLASH_LOG, k),
                    serial_log=device_log(run_dir, SERIAL_LOG, k), flash=flash)) for k, b in enumerate(boards)]
            r = sessions[0].flash_result
            if r is not None:
                flash_doc = {"flasher": r.flasher, "seconds": round(r.seconds, 3), "notes": r.notes}
            unique = len({b.name for b in boards}) == len(boards)  # else one emulated board N times: name#k
            devs = [Device(k, s.board.name if unique else f"{s.board.name}#{k}", connect=_connector(s),
                           recover=s.recover) for k, s in enumerate(sessions)]
            try:
                with t.stage("stream", f"{n - len(done)} windows over {len(devs)} devices"):
                    stats, shares = stream_sharded(devs, windows.x_int8, windows.y, windows.refs, store,
                                                   done=set(done), max_recoveries=max_recoveries,
                                                   show_progress=show_progress)
            except KeyboardInterrupt:
                raise _interrupted(store, n, run_dir) from None
            info_doc = sessions[0].info_dict()
            profile_raw = profile_device(sessions[0], windows, run_dir, timer=t)  # one device's profile stands for all
        ui.info(f"  scored {stats.scored} windows on {len(boards)} devices ({stats.recoveries} recoveries) in "
                f"{stats.seconds:.1f} s ({stats.scored / max(stats.seconds, 1e-9):.1f} windows/s)")
    return _streamed(run_dir, windows, info_doc, flash_doc, stats, shares, profile_raw, t)


def _connector(session: DeviceSession):
    first = [True]

    def connect():
        # The session connected (HELLO and image check) on entry; later calls reconnect.
        if first[0] and session.client is not None:
            first[0] = False
            return session.client
        return session.reconnect()

    return connect


def _interrupted(store: ResultsStore, n: int, run_dir: Path) -> InfraError:
    """Ctrl-C while streaming: what is saved, and how to finish the run."""
    store.close()
    saved = len(ResultsStore(store.path).load())
    return InfraError(f"interrupted: {saved} of {n} windows are scored and saved in {store.path}",
                      hint=f"finish the run with: hil run --resume --out {run_dir} (same options)")


def _stream_session(session: DeviceSession, windows: Windows, store: ResultsStore, run_dir: Path,
                    done: dict[int, dict[str, Any]], max_recoveries: int, show_progress: bool,
                    t: StageTimer) -> StreamStats:
    connect = _connector(session)
    n = len(windows)
    try:
        with t.stage("stream", f"{n - len(done)} windows to {session.board.name}"):
            return stream_windows(connect, windows.x_int8, windows.y, windows.refs, store, done=set(done),
                                  board=session.board.name, recover=session.recover, max_recoveries=max_recoveries,
                                  show_progress=show_progress)
    except KeyboardInterrupt:
        raise _interrupted(store, n, run_dir) from None


# --------------------------------------------------------------------------- references


def references(prepared: Prepared, windows: Windows, keras_path: Path | None,
               timer: StageTimer | None = None) -> References:
    """The same reference evaluation as the export stage's, on the run's windows."""
    t = timer or StageTimer(announce=False)
    with t.stage("references", "Keras, TFLite (reference kernels) and TFLM on the host, same windows"):
        keras = keras_path if keras_path is not None and keras_path.exists() else None
        return reference_outputs(prepared.tflite, windows.x, windows.x_int8, keras)


# --------------------------------------------------------------------------- compare


@dataclass
class RunIdentity:
    """What report.json says about the run itself (not measured)."""

    run_id: str
    board: Board
    engine: str
    cfg: ModelConfig
    gates: GatesCfg
    files: dict[str, str] = field(default_factory=dict)
    engine_reason: str | None = None  # why this engine ran (hil.engines.choose_engine)
    created: str | None = None  # when the run started (kept by --resume); None = now


def compare(ident: RunIdentity, prepared: Prepared, firmware: Firmware, windows: Windows, streamed: Streamed,
            refs: References, timer: StageTimer | None = None) -> tuple[Report, report_mod.PlotData]:
    """Metrics per backend, agreement with the references, latency, memory and the gates: the typed report."""
    t = timer or StageTimer(announce=False)
    with t.stage("compare", "metrics, agreement, latency, memory, gates"):
        rep = Report.model_validate(_report_doc(ident, prepared, firmware, windows, streamed, refs))
        rep.gates = gates_mod.evaluate(ident.gates, rep)
        plots = plot_data(ident.cfg, windows, streamed.outputs, streamed.ticks)
    return rep, plots


def _report_doc(ident: RunIdentity, prepared: Prepared, firmware: Firmware, windows: Windows, streamed: Streamed,
                refs: References) -> dict[str, Any]:
    cfg, e, dev = ident.cfg, prepared.expect, streamed.outputs
    names, thr = list(cfg.classes.names), cfg.evaluation.threshold
    o_scale, o_zp = prepared.output_scale, prepared.output_zero_point

    def metrics(q: np.ndarray) -> dict[str, Any]:
        return cmp.metrics(windows.y, dequantize(q, o_scale, o_zp), names, thr)

    distinct = {"device": int(len(np.unique(dev, axis=0))), "tflite": int(len(np.unique(refs.tflite, axis=0)))}
    warnings = []
    if distinct["device"] <= 1 < len(windows):
        warnings.append("every window gave the same device outputs: the agreement proves little "
                        "(is the model trained? see the train stage's metrics.json)")
    return {
        "hil_version": __version__, "run_id": ident.run_id, "created": ident.created or _now(),
        "reported": _now(),
        "board": ident.board.name, "engine": ident.engine, "emulated": ident.board.emulated,
        "kernels": firmware.facts.get("kernels") or streamed.device_info.get("kernels"),
        "engine_choice": {"engine": ident.engine, "reason": ident.engine_reason} if ident.engine_reason else None,
        "windows": len(windows), "class_names": names, "timings": {},
        "model": {"name": cfg.name, "sha256": e.model_sha256, "params": prepared.export_out.get("params"),
                  "tflite_bytes": prepared.tflite.stat().st_size, "profile": prepared.profile,
                  "input": {"scale": e.input_scale, "zero_point": e.input_zero_point, "shape": list(e.input_shape)},
                  "output": {"scale": o_scale, "zero_point": o_zp, "shape": list(prepared.output_shape)}},
        "firmware": firmware.facts,
        "dataset": {"name": prepared.dataset.name, "path": str(prepared.dataset.path), "split": windows.split,
                    "class_counts": {n: int(np.sum(windows.y == i)) for i, n in enumerate(names)},
                    "fingerprint": prepared.dataset.fingerprint, "limit": windows.limit},
        "metrics": {"keras": cmp.metrics(windows.y, refs.keras, names, thr) if refs.keras is not None else None,
                    "tflite": metrics(refs.tflite), "tflm_host": metrics(refs.tflm_host), "device": metrics(dev)},
        "agreement": cmp.agreement(dev, refs.tflite, scale=o_scale, zero_point=o_zp),
        "agreement_tflm_host": cmp.agreement(dev, refs.tflm_host, scale=o_scale, zero_point=o_zp),
        # Agreement on a constant output proves little: say how varied the outputs were.
        "distinct_outputs": distinct,
        "references_agree": {"tflite_vs_tflm_host_exact": float(np.mean(np.all(refs.tflite == refs.tflm_host, axis=1)))},
        "latency": cmp.latency(streamed.ticks, ident.board),
        "memory": cmp.memory(firmware.size, streamed.device_info.get("arena_bytes") or firmware.size.get("arena_bytes")),
        "device_info": streamed.device_info, "flash": streamed.flash,
        "stream": streamed.stream_doc(),
        "profile": [p for p in (profile_mod.section(r, prepared.tflite, ident.board) for r in streamed.profile) if p],
        "devices": _devices_doc(streamed.devices),
        "files": ident.files, "warnings": warnings,
    }


def _devices_doc(shares: list[Any]) -> dict[str, Any] | None:
    if not shares:
        return None
    return {"count": len(shares), "shares": [{"device": s.device, "board": s.board, "scored": s.scored,
                                              "recoveries": s.recoveries, "seconds": round(s.seconds, 3),
                                              "errors": s.errors} for s in shares]}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _stream_doc(stats: StreamStats) -> dict[str, Any]:
    return {"scored": stats.scored, "resumed": stats.resumed, "recoveries": stats.recoveries,
            "seconds": round(stats.seconds, 3), "errors": stats.errors}


def plot_data(cfg: ModelConfig, windows: Windows, outputs: np.ndarray, ticks: np.ndarray) -> report_mod.PlotData:
    pred = outputs.astype(np.int64).argmax(axis=1)
    ex = report_mod.pick_examples(windows.y, pred)
    return report_mod.PlotData(
        class_names=list(cfg.classes.names), ticks=ticks, examples_x=windows.x[ex],
        examples_true=[int(windows.y[i]) for i in ex], examples_pred=[int(pred[i]) for i in ex],
        examples_ref=[f"record {windows.refs[i].record}, lead {windows.refs[i].lead}, from sample {windows.refs[i].start}"
                      for i in ex],
        sample_rate=cfg.preprocess.sample_rate,
    )


# --------------------------------------------------------------------------- diagnose

DIAGNOSE_SERIAL_LOG = "diagnose-serial.log"
DIAGNOSE_FLASH_LOG = "diagnose-flash.log"


def diagnose(board: Board, firmware: Firmware, prepared: Prepared, windows: Windows, indices: list[int],
             run_dir: Path, *, flash: bool = True, budget_s: float | None = None,
             timer: StageTimer | None = None) -> tuple[dict[str, Any], InfraError | None]:
    """Layer-by-layer diagnosis of ``indices`` in a session of its own (own logs: the run's stay as they are),
    on the image that answers DUMP (:func:`dump_firmware`: the run's own, or the engine's diagnosis image).

    Returns the ``diagnosis`` section and the InfraError that stopped it (None when it finished, or when
    this engine and board cannot dump: then ``error`` says why), so the caller writes the report before it
    reports the failure: nothing measured is lost."""
    from hil.scoring import diagnosis as diag_mod

    t = timer or StageTimer(announce=False)
    t0 = time.monotonic()
    with t.stage("diagnose", f"layer-by-layer on {len(indices)} disagreeing window(s)"):
        try:
            image = dump_firmware(board, firmware, prepared)
        except ConfigError as exc:  # e.g. the diagnosis image does not fit the board's RAM
            ui.info(f"  [yellow]no diagnosis: {exc}[/yellow]")
            return _no_diagnosis(str(exc), t0), None
        try:
            with DeviceSession(board, image.dir, expect=prepared.expect, flash_log=run_dir / DIAGNOSE_FLASH_LOG,
                               serial_log=run_dir / DIAGNOSE_SERIAL_LOG, flash=flash) as session:
                engine = session.info.engine if session.info is not None else None
                doc = diag_mod.diagnose(session.client, prepared.tflite, ((i, windows.x_int8[i]) for i in indices),
                                        engine=engine, budget_s=budget_s)
        except InfraError as exc:
            doc = _no_diagnosis(str(exc), t0)
            ui.info(f"  [yellow]no diagnosis: {exc}[/yellow]")
            # An engine without DUMP (BAD_ARG) is a missing feature, not a broken link: the run keeps its verdict.
            return doc, (None if _cannot_dump(exc) else exc)
    line = diag_mod.summary(doc)
    ui.info(f"  {line or 'no op diverges on the diagnosed windows (the difference is in the link or the app)'}")
    return doc, None


def _no_diagnosis(error: str, t0: float) -> dict[str, Any]:
    return {"windows": [], "first_divergence": None, "seconds": round(time.monotonic() - t0, 3),
            "complete": False, "error": error}


def dump_firmware(board: Board, firmware: Firmware, prepared: Prepared) -> Firmware:
    """The image that answers DUMP for the run's image ``firmware``: that image itself when its engine
    dumps from it (aot), else the engine's diagnosis image beside it (tflm: every tensor kept, an arena
    sized for that), built or reused. ConfigError when that image cannot fit the board."""
    from hil.engines import get_engine
    from hil.firmware.build import build_firmware

    engine, kernels = firmware.size.get("engine"), firmware.size.get("kernels")
    if not engine or get_engine(engine).run_image_dumps:
        return firmware
    paths = ArtifactPaths(prepared.export_dir.parent.parent, prepared.export_dir.parent.name)
    ui.info(f"  building the diagnosis image of engine {engine} (every tensor kept; reused when fresh)")
    return firmware_facts(Path(build_firmware(board, prepared.dataset.cfg, paths, engine, kernels=kernels,
                                              dump=True)))


def _cannot_dump(exc: BaseException) -> bool:
    from hil.device.framing import ErrorCode
    from hil.device.protocol import DeviceError

    cause = exc.__cause__ if isinstance(exc.__cause__, DeviceError) else exc
    return isinstance(cause, DeviceError) and cause.code == ErrorCode.BAD_ARG


# --------------------------------------------------------------------------- report


def write_reports(run_dir: Path, rep: Report, plots: report_mod.PlotData, timer: StageTimer) -> Report:
    """report.html, junit.xml, then report.json last: its presence means the run finished.

    The page's timings include the report stage up to the page itself (its plots are most of the stage).
    """
    with timer.stage("report", "report.json, junit.xml, report.html"):
        images = report_mod.render_images(rep, plots)
        rep.timings = timer.snapshot()
        report_mod.write_html(run_dir, rep, plots, images)
    rep.timings = dict(timer.timings)
    report_mod.write_junit(run_dir, rep)
    report_mod.write_report_json(run_dir, rep)
    return rep
