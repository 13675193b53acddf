"""``hil run`` as a function: data -> train -> export -> build -> flash/boot -> stream -> compare -> report.

Each stage reuses its artifact when the artifact's manifest matches its
inputs (hil.artifacts), so a re-run costs only the streaming and the report.
The device's image is checked in the HELLO/INFO handshake to hold exactly
the exported model (same SHA-256, same input/output quantisation) before a
single window is scored.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import time
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from hil import __version__, ui
from hil.artifacts import ArtifactPaths, read_manifest, sha256_file, write_json_atomic
from hil.config import DEFAULT_MODEL_DIR, load_board, load_model_config
from hil.errors import EXIT_GATE_FAILED, EXIT_OK, ConfigError, HilError, InfraError
from hil.scoring import compare
from hil.scoring import gates as gates_mod
from hil.scoring import report as report_mod
from hil.scoring.runner import RESULTS, ResultsStore, results_arrays, stream_windows

RUN_META = "run.json"
SERIAL_LOG = "serial.log"
FLASH_LOG = "flash.log"
CONFIG_JSON = "config.json"
SPLITS = ("test", "val", "train", "all")
AUTO = "auto"


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
    engine: str | None = None                # aot|tflm; None = the board's default
    no_train: bool = False                   # refuse to train/export: use existing artifacts only
    flash: bool = True                       # False: the board already holds the image (checked by HELLO)
    boards_file: Path | None = None
    show_progress: bool = True
    max_recoveries: int = 2


@dataclass
class RunResult:
    run_dir: Path
    report: dict[str, Any]
    exit_code: int

    @property
    def passed(self) -> bool:
        return self.exit_code == EXIT_OK


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        ui.info(f"[bold cyan]▶ {name}[/bold cyan] {what}")
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.monotonic() - t0, 3)
        ui.info(f"  [dim]{name} done in {self.timings[name]:.1f} s[/dim]")


# --------------------------------------------------------------------------- helpers


def _resolve_run_dir(opts: RunOptions, board_name: str) -> Path:
    if opts.out is not None:
        return Path(opts.out)
    runs = Path(os.environ.get("HIL_RUNS", "runs"))
    if opts.resume:
        # The newest run of this board that has results but no report yet, else the newest of this board.
        cands = sorted(p for p in runs.glob(f"*-{board_name}") if (p / RESULTS).exists())
        unfinished = [p for p in cands if not (p / report_mod.REPORT_JSON).exists()]
        if not cands:
            raise ConfigError(f"--resume: no run of board {board_name!r} with {RESULTS} under {runs}/; pass --out RUN_DIR")
        return (unfinished or cands)[-1]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return runs / f"{stamp}-{board_name}"


def _profile_for(opts: RunOptions, dataset_dir: Path) -> str | None:
    if opts.profile != AUTO:
        return opts.profile
    from hil.data.synthetic import read_synthetic_marker

    return "quick" if read_synthetic_marker(Path(dataset_dir)) else None


def _export_outputs(export_dir: Path) -> dict[str, Any]:
    m = read_manifest(export_dir)
    if m is None or not (export_dir / "model.tflite").is_file():
        raise ConfigError(f"{export_dir}: the model has no export (model.tflite + manifest.json); run `hil export` "
                          "(or `hil run` on the training dataset) first, or drop --no-train")
    return m.get("outputs", {})


def _firmware_facts(fw_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    size: dict[str, Any] = {}
    try:
        size = json.loads((fw_dir / "size.json").read_text())
    except (OSError, ValueError):
        pass
    image = fw_dir / "hil.bin" if (fw_dir / "hil.bin").exists() else fw_dir / "hil.elf"
    fw = {
        "sha256": sha256_file(image) if image.exists() else None,
        "text": size.get("text"),
        "data": size.get("data"),
        "bss": size.get("bss"),
        "path": str(fw_dir),
    }
    return fw, size


def _info_dict(info: Any) -> dict[str, Any]:
    try:
        d = asdict(info)
    except TypeError:
        d = dict(vars(info))
    return json.loads(json.dumps(d, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


def check_image(info: Any, board_name: str, model_sha: str, in_q: tuple[float, int], out_q: tuple[float, int],
                in_shape: tuple[int, ...]) -> None:
    """Refuses to score an image that does not hold the exported model.

    A stale image is an infrastructure failure (exit 2): the flash (or boot)
    did not put what was built on the device, and flashing again fixes it.
    """
    dev_sha = str(getattr(info, "model_sha256", "")).lower()
    if dev_sha != model_sha.lower():
        raise InfraError(
            f"{board_name}: the image on the device holds model {dev_sha[:12] or '?'}…, not the exported "
            f"model {model_sha[:12]}… -- refusing to score a stale image",
            hint="flash again (hil flash --board NAME) or drop --no-flash; `hil run` rebuilds the image when the model changes",
        )
    tin, tout = getattr(info, "input", None), getattr(info, "output", None)
    problems = []
    if tin is not None:
        if not np.isclose(float(tin.scale), in_q[0], rtol=1e-6) or int(tin.zero_point) != in_q[1]:
            problems.append(f"input quantisation {tin.scale}/{tin.zero_point} != {in_q[0]}/{in_q[1]}")
        if int(np.prod(tuple(tin.shape))) != int(np.prod(in_shape)):
            problems.append(f"input shape {tuple(tin.shape)} != {in_shape}")
    if tout is not None and (not np.isclose(float(tout.scale), out_q[0], rtol=1e-6) or int(tout.zero_point) != out_q[1]):
        problems.append(f"output quantisation {tout.scale}/{tout.zero_point} != {out_q[0]}/{out_q[1]}")
    if problems:
        raise InfraError(f"{board_name}: the image's tensors do not match the export: {'; '.join(problems)}",
                         hint="flash the image built from this export again")


# --------------------------------------------------------------------------- the pipeline


def run_pipeline(opts: RunOptions) -> RunResult:
    """Runs every stage ``opts`` needs and returns the report; raises HilError subclasses for exits 2/3."""
    if opts.split not in SPLITS:
        raise ConfigError(f"--split {opts.split!r}: expected one of {', '.join(SPLITS)}")
    if opts.windows is not None and opts.windows <= 0:
        raise ConfigError(f"--windows {opts.windows}: must be a positive number of windows")
    board = load_board(opts.board, opts.boards_file)
    board_name = board.name
    cfg = load_model_config(opts.model)
    gates_cfg = gates_mod.apply_overrides(cfg.gates, opts.gates)  # validate before any long stage
    if opts.profile not in (AUTO, None) and opts.profile not in cfg.profiles:
        raise ConfigError(f"--profile {opts.profile!r}: not a profile of {opts.model}; profiles: "
                          f"{', '.join(['auto', 'full', *cfg.profiles])}")
    engine = opts.engine or board.engine
    paths = ArtifactPaths.for_model(cfg.name, opts.work)
    no_train = opts.no_train
    if opts.split == "all" and not no_train:
        # An external evaluation set must never be trained on: score it with the existing model.
        ui.info("--split all: scoring with the existing export (no training on this dataset)")
        no_train = True
    if no_train:
        _export_outputs(paths.export)  # before any long stage: a model with no export is a usage error
    from hil.device.flash import check_port

    check_port(board)  # a missing/busy serial port is found now, not after training
    run_dir = _resolve_run_dir(opts, board_name)
    if opts.resume and not (run_dir / RESULTS).exists():
        raise ConfigError(f"--resume: {run_dir / RESULTS} does not exist; nothing to resume (run without --resume)")
    if not opts.resume and (run_dir / RESULTS).exists():
        raise ConfigError(f"{run_dir} already holds a run; pass --resume to continue it or another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    t = _Timer()
    ui.info(f"[bold]hil run[/bold] board [bold]{board_name}[/bold] ({engine}), model {cfg.name}, run folder {run_dir}")

    from hil.data import default_dataset, prepare_dataset

    with t.stage("data", "dataset, split and fixed window lists"):
        dataset_dir = Path(opts.dataset) if opts.dataset else default_dataset(cfg, paths.work, progress=opts.show_progress)
        ds = prepare_dataset(cfg, dataset_dir, paths.work, progress=opts.show_progress)
    profile = _profile_for(opts, dataset_dir)

    if no_train:
        export_out = _export_outputs(paths.export)
        export_dir = paths.export
    else:
        from hil.export.quantize import export_model
        from hil.model.train import train_model

        with t.stage("train", f"Keras model (profile {profile or 'full recipe'}; reused when fresh)"):
            train_model(cfg, ds, paths, profile)
        with t.stage("export", "int8 .tflite and C header (reused when fresh)"):
            export_dir = Path(export_model(cfg, ds, paths))
        export_out = _export_outputs(export_dir)
    tflite = export_dir / "model.tflite"
    model_sha = export_out.get("sha256") or sha256_file(tflite)

    from hil.export.quantize import quantize_input
    from hil.export.tflite_info import read_io_quant

    in_scale, in_zp, out_scale, out_zp, in_shape, out_shape = read_io_quant(tflite)

    with t.stage("build", f"firmware for {board_name} ({engine}; reused when fresh)"):
        from hil.firmware.build import build_firmware

        fw_dir = Path(build_firmware(board, cfg, paths, engine))
    firmware, size = _firmware_facts(fw_dir)

    with t.stage("windows", f"{opts.split} windows, z-normalised and quantised"):
        w = ds.windows(opts.split, limit=opts.windows)
        x_int8 = quantize_input(w.x, in_scale, in_zp)
    n = len(w.y)
    if n == 0:
        raise ConfigError(f"dataset {ds.name}: split {opts.split!r} has no windows")

    meta = {
        "board": board_name, "engine": engine, "model_sha256": model_sha, "dataset_fingerprint": ds.fingerprint,
        "split": opts.split, "windows": n, "firmware_sha256": firmware["sha256"],
    }
    store = ResultsStore(run_dir / RESULTS)
    done: dict[int, dict[str, Any]] = {}
    if opts.resume:
        old = json.loads((run_dir / RUN_META).read_text()) if (run_dir / RUN_META).exists() else {}
        diff = [k for k in ("board", "model_sha256", "dataset_fingerprint", "split", "windows") if old.get(k) != meta[k]]
        if diff:
            raise ConfigError(f"--resume: {run_dir} was run with a different {', '.join(diff)} "
                              f"({', '.join(f'{k}={old.get(k)!r}' for k in diff)}); start a new run instead")
        done = store.load()
        ui.info(f"  resuming: {len(done)} of {n} windows already scored in {store.path}")
    write_json_atomic(run_dir / RUN_META, meta)
    write_json_atomic(run_dir / CONFIG_JSON, {
        "hil_version": __version__, "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(opts).items()},
        "board": board.model_dump(mode="json"), "model": cfg.model_dump(mode="json"),
        "profile": profile, "gates": gates_cfg.model_dump(), "dataset_dir": str(dataset_dir), "export_dir": str(export_dir),
        "firmware_dir": str(fw_dir), "host": {"hostname": socket.gethostname(), "python": platform.python_version()},
    })

    info_doc: dict[str, Any] = {}
    flash_doc: dict[str, Any] = {}
    if len(done) < n:
        from hil.device.flash import running_device
        from hil.device.link import open_link
        from hil.device.protocol import DeviceClient

        with ExitStack() as stack:
            with t.stage("flash", f"{'boot' if board.emulated else 'flash'} {board_name}"):
                handle = stack.enter_context(
                    running_device(board, fw_dir, flash_log=run_dir / FLASH_LOG, flash=opts.flash)
                )
            if handle.flash is not None:
                flash_doc = {"flasher": handle.flash.flasher, "seconds": handle.flash.seconds, "notes": handle.flash.notes}
            current: dict[str, Any] = {}

            def connect() -> DeviceClient:
                if current.get("port") is not None:
                    try:
                        current["port"].close()
                    except Exception:  # the old link is dead anyway
                        pass
                port = open_link(handle.url, board.link.baud, run_dir / SERIAL_LOG)
                current["port"] = port
                client = DeviceClient(port, timeout_s=board.link.timeout_s, retries=board.link.retries,
                                      inflight=board.link.inflight, board=board_name)
                info = client.hello()
                check_image(info, board_name, model_sha, (in_scale, in_zp), (out_scale, out_zp), tuple(in_shape))
                info_doc.update(_info_dict(info))
                return client

            def recover(exc: Exception) -> None:
                # QEMU dead, or alive but not answering: reboot it.  A real board is only
                # reconnected (connect() reopens the port and repeats HELLO).
                if handle.can_restart:
                    handle.restart()

            stack.callback(lambda: current.get("port") and current["port"].close())
            try:
                with t.stage("stream", f"{n - len(done)} windows to {board_name}"):
                    stats = stream_windows(
                        connect, x_int8, w.y, w.refs, store, done=set(done), board=board_name,
                        recover=recover, max_recoveries=opts.max_recoveries, show_progress=opts.show_progress,
                    )
            except KeyboardInterrupt:
                store.close()
                saved = len(ResultsStore(store.path).load())
                raise InfraError(f"interrupted: {saved} of {n} windows are scored and saved in {store.path}",
                                 hint=f"finish the run with: hil run --resume --out {run_dir} (same options)") from None
            finally:
                store.close()
        ui.info(f"  scored {stats.scored} windows ({stats.recoveries} recoveries) in {stats.seconds:.1f} s "
                f"({stats.scored / max(stats.seconds, 1e-9):.1f} windows/s)")
    else:
        stats = None
        ui.info("  every window is already scored; recomputing the report only")
    records = ResultsStore(run_dir / RESULTS).load()
    dev_out, ticks = results_arrays(records, n)
    for i in range(n):  # the saved results must be of these very windows
        if records[i]["true"] != int(w.y[i]):
            raise ConfigError(f"{run_dir / RESULTS}: window {i} has class {records[i]['true']}, the dataset says {int(w.y[i])}")

    with t.stage("references", "Keras, TFLite (reference kernels) and TFLM on the host, same windows"):
        from hil.export.references import keras_logits, tflite_ref_outputs, tflm_host_outputs

        keras_path = paths.train / "model.keras"
        keras = keras_logits(keras_path, w.x) if keras_path.exists() else None
        ref_tflite = tflite_ref_outputs(tflite, x_int8)
        ref_tflm = tflm_host_outputs(tflite, x_int8)

    with t.stage("compare", "metrics, agreement, latency, memory, gates"):
        names = list(cfg.classes.names)
        thr = cfg.evaluation.threshold
        deq = lambda q: compare.dequantize(q, out_scale, out_zp)  # noqa: E731
        metrics = {
            "keras": compare.metrics(w.y, keras, names, thr) if keras is not None else None,
            "tflite": compare.metrics(w.y, deq(ref_tflite), names, thr),
            "tflm_host": compare.metrics(w.y, deq(ref_tflm), names, thr),
            "device": compare.metrics(w.y, deq(dev_out), names, thr),
        }
        agreement = compare.agreement(dev_out, ref_tflite, scale=out_scale, zero_point=out_zp)
        counts = {name: int(np.sum(w.y == i)) for i, name in enumerate(names)}
        rep: dict[str, Any] = {
            "hil_version": __version__,
            "run_id": run_dir.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "board": board_name,
            "engine": engine,
            "emulated": board.emulated,
            "windows": n,
            "class_names": names,
            "timings": {},
            "model": {"name": cfg.name, "sha256": model_sha, "params": export_out.get("params"),
                      "tflite_bytes": tflite.stat().st_size, "profile": profile,
                      "input": {"scale": in_scale, "zero_point": in_zp, "shape": list(in_shape)},
                      "output": {"scale": out_scale, "zero_point": out_zp, "shape": list(out_shape)}},
            "firmware": firmware,
            "dataset": {"name": ds.name, "path": str(ds.path), "split": opts.split, "class_counts": counts,
                        "fingerprint": ds.fingerprint, "limit": opts.windows},
            "metrics": metrics,
            "agreement": agreement,
            "agreement_tflm_host": compare.agreement(dev_out, ref_tflm, scale=out_scale, zero_point=out_zp),
            # Agreement on a constant output proves little: say how varied the outputs were.
            "distinct_outputs": {"device": int(len(np.unique(dev_out, axis=0))),
                                 "tflite": int(len(np.unique(ref_tflite, axis=0)))},
            "references_agree": {"tflite_vs_tflm_host_exact": float(np.mean(np.all(ref_tflite == ref_tflm, axis=1)))},
            "latency": compare.latency(ticks, board),
            "memory": compare.memory(size, info_doc.get("arena_bytes") or size.get("arena_bytes")),
            "device_info": info_doc,
            "flash": flash_doc,
            "stream": None if stats is None else {"scored": stats.scored, "resumed": stats.resumed,
                                                  "recoveries": stats.recoveries, "seconds": round(stats.seconds, 3),
                                                  "errors": stats.errors},
            "files": {"results": RESULTS, "serial_log": SERIAL_LOG, "flash_log": FLASH_LOG, "config": CONFIG_JSON,
                      "junit": report_mod.JUNIT_XML, "html": report_mod.REPORT_HTML},
        }
        rep["gates"] = gates_mod.evaluate(gates_cfg, rep)
        pred = dev_out.astype(np.int64).argmax(axis=1)
        ex = report_mod.pick_examples(np.asarray(w.y), pred)
        plots = report_mod.PlotData(
            class_names=names, ticks=ticks, examples_x=w.x[ex], examples_true=[int(w.y[i]) for i in ex],
            examples_pred=[int(pred[i]) for i in ex],
            examples_ref=[f"{w.refs[i].record} lead {w.refs[i].lead} @{w.refs[i].start}" for i in ex],
            sample_rate=cfg.preprocess.sample_rate,
        )
    with t.stage("report", "report.json, junit.xml, report.html"):
        rep["timings"] = t.timings
        report_mod.write_junit(run_dir, rep)
        report_mod.write_html(run_dir, rep, plots)
    rep["timings"] = dict(t.timings)
    report_mod.write_report_json(run_dir, rep)  # last, with every stage's time: its presence means "finished"
    return RunResult(run_dir, rep, EXIT_OK if rep["gates"]["passed"] else EXIT_GATE_FAILED)


__all__ = ["RunOptions", "RunResult", "run_pipeline", "check_image", "HilError"]
