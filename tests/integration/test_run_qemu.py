"""``hil run`` end to end on the emulated Cortex-M4 (qemu-m4), including the faults of issue 6.

The model is the session's tiny trained export (tests/fixtures/model.py), the
firmware is really built and really booted in qemu-system-arm, and the
windows really travel over the UART socket.  Faults are real too: QEMU is
killed (SIGKILL) or frozen (SIGSTOP) while the run streams.
"""

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from hil.errors import InfraError
from hil.run import run_pipeline
from hil.scoring.report import missing_keys

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

N = 48


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def finished_run(run_setup, tmp_path_factory):
    """One run through the CLI (--json), shared by the checks below."""
    out = tmp_path_factory.mktemp("run") / "r1"
    p = subprocess.run(
        [sys.executable, "-m", "hil.cli", "run", "--no-train", "--engine", "aot", "--model", str(run_setup.model), "--dataset",
         str(run_setup.dataset), "--work", str(run_setup.work), "--windows", str(N), "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600,
    )
    return p, out


def test_run_passes_with_bit_exact_device(finished_run):
    p, out = finished_run
    assert p.returncode == 0, p.stderr[-3000:]
    rep = json.loads(p.stdout)
    assert rep == json.loads((out / "report.json").read_text())
    assert missing_keys(rep) == []
    assert rep["schema_version"] == 2 and rep["warnings"] == []  # the typed report; varied outputs, no warning
    assert rep["board"] == "qemu-m4" and rep["engine"] == "aot" and rep["windows"] == N
    assert rep["agreement"]["top1"] == 1.0 and rep["agreement"]["exact_match"] == 1.0
    assert rep["agreement"]["max_abs_diff_lsb"] == 0
    assert rep["metrics"]["device"]["confusion"] == rep["metrics"]["tflite"]["confusion"]
    assert sum(map(sum, rep["metrics"]["device"]["confusion"])) == N
    assert rep["latency"]["unit"] == "qemu_instructions" and rep["latency"]["ms"] is None
    assert rep["latency"]["cycles"]["min"] > 0
    assert rep["memory"]["arena_bytes"] > 0 and rep["memory"]["flash_bytes"] > 0
    assert rep["model"]["sha256"] == rep["device_info"]["model_sha256"]
    assert rep["device_info"]["link"] == "semihosting"  # the report says which link ran (boards.yaml)
    assert set(rep["timings"]) >= {"data", "build", "flash", "stream", "references", "report"}
    assert rep["gates"]["passed"] and all(c["passed"] for c in rep["gates"]["checks"])


def test_run_folder_holds_every_file(finished_run):
    _, out = finished_run
    for name in ("results.jsonl", "report.json", "junit.xml", "report.html", "serial.log", "flash.log", "config.json"):
        assert (out / name).stat().st_size > 0, name
    rows = _lines(out / "results.jsonl")
    assert sorted(r["index"] for r in rows) == list(range(N))
    assert all(len(r["outputs"]) == 4 and r["ticks"] > 0 and r["ref"]["record"] for r in rows)
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) >= 3
    assert "qemu-system-arm" in (out / "flash.log").read_text()


def test_resume_of_a_finished_run_rescoring_nothing_and_a_gate_failing(finished_run, tmp_path):
    _, out = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    before = (copy / "results.jsonl").read_bytes()
    cfg = json.loads((copy / "config.json").read_text())["options"]
    p = subprocess.run(
        [sys.executable, "-m", "hil.cli", "run", "--no-train", "--engine", "aot", "--model", cfg["model"], "--dataset", cfg["dataset"],
         "--work", cfg["work"], "--windows", str(N), "--out", str(copy), "--resume", "--gate", "max_latency=1"],
        capture_output=True, text=True, timeout=600,
    )
    assert p.returncode == 1, p.stderr[-2000:]  # a gate failed
    assert (copy / "results.jsonl").read_bytes() == before  # nothing streamed again
    assert "FAIL" in p.stdout and "max_latency" in p.stdout
    new, old = json.loads((copy / "report.json").read_text()), json.loads((out / "report.json").read_text())
    failed = [c for c in new["gates"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["max_latency"]
    for key in ("device_info", "flash", "stream", "created"):  # what the finished run measured is kept
        assert new[key] == old[key] and old[key], key
    assert {k: new["timings"][k] for k in ("flash", "stream")} == {k: old["timings"][k] for k in ("flash", "stream")}


def test_qemu_killed_mid_run_recovers(run_setup, qemu_spy, tmp_path):
    out = tmp_path / "r"
    qemu_spy.when_results(out / "results.jsonl", 10, qemu_spy.kill)
    res = run_pipeline(run_setup.options(out, windows=30))
    assert res.exit_code == 0
    assert len(qemu_spy.instances) == 1 and res.report["stream"]["recoveries"] >= 1
    rows = _lines(out / "results.jsonl")
    assert sorted(r["index"] for r in rows) == list(range(30))  # each window once
    assert res.report["agreement"]["exact_match"] == 1.0
    _assert_rows_are_the_references(run_setup, rows, 30)


def test_qemu_killed_without_recovery_exits_2_then_resume_finishes(run_setup, qemu_spy, tmp_path):
    out = tmp_path / "r"
    qemu_spy.when_results(out / "results.jsonl", 8, qemu_spy.kill)
    with pytest.raises(InfraError) as e:
        run_pipeline(run_setup.options(out, windows=30, max_recoveries=0))
    assert e.value.exit_code == 2 and "--resume" in e.value.hint
    saved = {r["index"] for r in _lines(out / "results.jsonl")}
    assert 8 <= len(saved) < 30
    assert not (out / "report.json").exists()

    res = run_pipeline(run_setup.options(out, windows=30, resume=True))
    assert res.exit_code == 0
    rows = _lines(out / "results.jsonl")
    assert len(rows) == 30 and sorted(r["index"] for r in rows) == list(range(30))  # none scored twice
    assert res.report["stream"]["resumed"] == len(saved)
    _assert_rows_are_the_references(run_setup, rows, 30)


@pytest.mark.timeout(300)  # a hang fails here, at a generous deadline (no speed claim)
def test_device_that_stops_answering_times_out_naming_window_and_board(run_setup, qemu_spy, tmp_path):
    boards = yaml.safe_load(open(run_setup.model.parents[1] / "boards.yaml"))
    boards["boards"]["qemu-m4"]["link"].update(timeout_s=1.0, retries=1)
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(boards))
    out = tmp_path / "r"
    qemu_spy.when_results(out / "results.jsonl", 5, qemu_spy.freeze)
    with pytest.raises(InfraError) as e:
        run_pipeline(run_setup.options(out, windows=30, max_recoveries=0, boards_file=f))
    msg = str(e.value)
    assert "window" in msg and "qemu-m4" in msg
    assert len(_lines(out / "results.jsonl")) >= 5


def test_stale_image_is_refused(run_setup, tmp_path, monkeypatch):
    """An image whose model hash differs from the export is never scored (exit 2)."""
    import hil.steps as steps_mod

    real = steps_mod.export_outputs

    def other_model(export_dir):
        out = dict(real(export_dir))
        out["sha256"] = "0" * 64
        return out

    monkeypatch.setattr(steps_mod, "export_outputs", other_model)
    with pytest.raises(InfraError) as e:
        run_pipeline(run_setup.options(tmp_path / "r", windows=5))
    assert "stale image" in str(e.value) and e.value.exit_code == 2
    assert not (tmp_path / "r" / "results.jsonl").exists() or (tmp_path / "r" / "results.jsonl").read_text() == ""


def _assert_rows_are_the_references(run_setup, rows, n):
    """Every stored result is the TFLite reference output of its own window (not only the right index set)."""
    from hil.config import load_model_config
    from hil.data import prepare_dataset
    from hil.export.quantize import quantize_input
    from hil.export.references import tflite_ref_outputs
    from hil.export.tflite_info import read_io_quant

    assert rows, "no results were stored"
    assert len({r["index"] for r in rows}) == len(rows), "a window was stored twice"
    cfg = load_model_config(run_setup.model)
    ds = prepare_dataset(cfg, run_setup.dataset, run_setup.work, progress=False)
    w = ds.windows("test", limit=n)
    tflite = run_setup.work / cfg.name / "export" / "model.tflite"
    s, zp, *_ = read_io_quant(tflite)
    ref = tflite_ref_outputs(tflite, quantize_input(w.x, s, zp))
    assert len({r.tobytes() for r in ref}) > 1, "the windows' references differ, so a swap would show"
    for r in rows:
        assert r["outputs"] == ref[r["index"]].tolist(), f"window {r['index']} got another window's result"


def test_faulty_link_never_misattributes_a_result(run_setup, tmp_path, monkeypatch):
    """Garbage, dropped bytes, flipped bits, duplicated and delayed frames in both
    directions between host and QEMU during a whole run: every window is scored,
    each with the TFLite reference output of its own window."""
    import hil.device.link as link_mod
    from tests.fixtures.firmware import FaultyPort

    real_open = link_mod.open_link
    ports = []

    def faulty_open(url, baud, log=None, **kw):
        # one valid frame in six each way: about one window in three is hit
        p = FaultyPort(real_open(url, baud, log, **kw), seed=len(ports) + 1, every=6)
        ports.append(p)
        return p

    monkeypatch.setattr(link_mod, "open_link", faulty_open)
    boards = yaml.safe_load(open(run_setup.model.parents[1] / "boards.yaml"))
    boards["boards"]["qemu-m4"]["link"].update(timeout_s=1.0, retries=4)  # a lost frame costs 1 s, not 10
    f = tmp_path / "boards.yaml"
    f.write_text(yaml.safe_dump(boards))
    out = tmp_path / "r"
    res = run_pipeline(run_setup.options(out, windows=24, boards_file=f))
    assert res.exit_code == 0 and res.report["agreement"]["exact_match"] == 1.0
    for d in ("tx", "rx"):
        assert sum(sum(p.injected[d].values()) for p in ports) >= 24 // 6, f"{d}: too few faults injected"
    rows = _lines(out / "results.jsonl")
    assert len(rows) == 24
    _assert_rows_are_the_references(run_setup, rows, 24)
