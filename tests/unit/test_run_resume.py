"""--resume never loses what a run measured, resolves what to resume before any stage, and a
failed start leaves no run folder behind (no device: the streaming session is not needed here)."""

import json
from pathlib import Path

import numpy as np
import pytest

from hil import steps
from hil.errors import ConfigError, DataError
from hil.run import RunOptions, _resolve_run_dir, check_resume_options, run_pipeline
from hil.scoring.runner import ResultsStore, make_record
from tests.unit.test_report import sample  # noqa: F401  (a full report built by the real functions)

REPO = Path(__file__).resolve().parents[2]


def test_resume_without_out_never_picks_a_finished_run(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_RUNS", str(tmp_path))
    run = tmp_path / "20260101-000000-qemu-m4"
    run.mkdir()
    (run / "results.jsonl").write_text("")
    (run / "report.json").write_text("{}")
    with pytest.raises(ConfigError) as e:
        _resolve_run_dir(RunOptions(resume=True), "qemu-m4")
    assert "no unfinished run" in str(e.value) and run.name in str(e.value) and "--out" in str(e.value)


def test_resume_without_out_picks_a_run_of_several_engines_one_of_which_did_not_finish(tmp_path, monkeypatch):
    monkeypatch.setenv("HIL_RUNS", str(tmp_path))
    done, broken = tmp_path / "20260101-000000-qemu-m4", tmp_path / "20260101-000100-qemu-m4"
    for run, status in ((done, "passed"), (broken, "error")):
        (run / "engines" / "aot").mkdir(parents=True)
        (run / "engines" / "aot" / "results.jsonl").write_text("")  # results only in the engines' folders
        (run / "report.json").write_text(json.dumps({"engines": [{"label": "aot", "status": "passed"},
                                                                 {"label": "tflm-cmsis-nn", "status": status}]}))
    assert _resolve_run_dir(RunOptions(resume=True), "qemu-m4") == broken
    (broken / "report.json").unlink()
    assert _resolve_run_dir(RunOptions(resume=True), "qemu-m4") == broken


def test_resume_with_other_engines_is_refused(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"options": {"split": "test", "windows": 48, "dataset": None,
                                                             "model": "models/rhythm-4-effv2"}}))
    (run / "run.json").write_text(json.dumps({"board": "qemu-m4", "engines": ["aot", "tflm"]}))
    opts = RunOptions(out=run, resume=True, windows=48, model=Path("models/rhythm-4-effv2"))
    check_resume_options(opts, run, "qemu-m4", "aot", ["aot", "tflm"])  # the same engines: accepted
    with pytest.raises(ConfigError, match="--engines aot,tflm \\(now tflm,aot\\)"):
        check_resume_options(opts, run, "qemu-m4", "tflm", ["tflm", "aot"])
    with pytest.raises(ConfigError, match="--engines aot,tflm \\(now aot\\)"):
        check_resume_options(opts, run, "qemu-m4", "aot")


def test_resume_with_other_options_is_refused_before_any_stage(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"options": {"split": "test", "windows": 48, "dataset": None,
                                                             "model": "models/rhythm-4-effv2"}}))
    (run / "run.json").write_text(json.dumps({"board": "qemu-m4", "engine": "aot"}))
    opts = RunOptions(out=run, resume=True, windows=30, model=Path("models/rhythm-4-effv2"))
    with pytest.raises(ConfigError) as e:
        check_resume_options(opts, run, "qemu-m4", "aot")
    assert "--windows 48 (now 30)" in str(e.value)
    check_resume_options(RunOptions(out=run, resume=True, windows=48, model=Path("models/rhythm-4-effv2")),
                         run, "qemu-m4", "aot")  # the same options: accepted
    with pytest.raises(ConfigError, match="--engine 'aot' \\(now 'tflm'\\)"):
        check_resume_options(RunOptions(out=run, resume=True, windows=48, model=Path("models/rhythm-4-effv2")),
                             run, "qemu-m4", "tflm")


def test_a_bad_dataset_leaves_no_run_folder(tmp_path):
    out = tmp_path / "runs" / "r"
    opts = RunOptions(board="qemu-m4", dataset=tmp_path / "nonexistent", out=out, work=tmp_path / "w",
                      boards_file=REPO / "boards.yaml", model=REPO / "models" / "rhythm-4-effv2", show_progress=False)
    with pytest.raises((ConfigError, DataError)):
        run_pipeline(opts)
    assert not out.exists() and not (tmp_path / "runs").exists()


@pytest.fixture
def scored_run(tmp_path):
    """A run folder whose every window is scored: results.jsonl plus what its session recorded."""
    run = tmp_path / "run"
    y = np.array([0, 1, 2, 3])
    refs = [{"record": "JS00001", "lead": 0, "start": i * 800} for i in range(4)]
    store = ResultsStore(run / "results.jsonl")
    for i in range(4):
        store.append(make_record(i, refs[i], int(y[i]), np.eye(4, dtype=np.int8)[i] * 100, 100_000 + i))
    store.close()
    x = np.zeros((4, 800), np.float32)
    return run, steps.Windows("test", None, x, x.astype(np.int8), y, refs)


def test_nothing_left_to_stream_keeps_the_recorded_session(scored_run):
    run, windows = scored_run
    session = {"device_info": {"model_sha256": "ab" * 32, "arena_bytes": 19416},
               "flash": {"flasher": "qemu", "seconds": 0.09, "notes": []},
               "stream": {"scored": 4, "resumed": 0, "recoveries": 0, "seconds": 1.2, "errors": []},
               "timings": {"flash": 0.09, "stream": 1.25}}
    (run / steps.SESSION_JSON).write_text(json.dumps(session))
    timer = steps.StageTimer(announce=False)
    got = steps.stream(None, None, None, windows, run, done=ResultsStore(run / "results.jsonl").load(), timer=timer)
    assert got.device_info == session["device_info"] and got.flash == session["flash"]
    assert got.stream_doc() == session["stream"]
    assert timer.timings == session["timings"]
    assert got.outputs.shape == (4, 4) and list(got.ticks) == [100_000, 100_001, 100_002, 100_003]


def test_a_finished_run_without_session_json_keeps_its_reports_record(scored_run, sample):  # noqa: F811
    from hil.scoring.report import write_report_json

    run, windows = scored_run
    rep = {**sample[0], "device_info": {"arena_bytes": 19416}, "flash": {"flasher": "qemu", "seconds": 0.08},
           "timings": {"data": 1.0, "flash": 0.08, "stream": 2.0, "report": 1.0},
           "stream": {"scored": 4, "resumed": 0, "recoveries": 1, "seconds": 2.0, "errors": []}}
    write_report_json(run, rep)
    timer = steps.StageTimer(announce=False)
    got = steps.stream(None, None, None, windows, run, done=ResultsStore(run / "results.jsonl").load(), timer=timer)
    assert got.device_info == {"arena_bytes": 19416} and got.flash["flasher"] == "qemu"
    assert got.stream_doc()["recoveries"] == 1 and timer.timings == {"flash": 0.08, "stream": 2.0}
