"""Per-op profile and layer-by-layer diagnosis on the emulated Cortex-M4 (aot engine).

Everything is real: the firmware runs in QEMU, tensors come back over the UART
(DUMP), the references are TFLite (BUILTIN_REF) and TFLM on the host. The fault
is a test-only build of the same image (``HIL_FAULT_OP_CODE``: +1 LSB on every
MEAN output), so the diagnosis has exactly one right answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hil.run import run_pipeline
from hil.scoring import diagnosis as diag_mod
from hil.scoring import profile as profile_mod
from hil.tflite import read_tflite

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

N = 6
MEAN = 40  # TFLite BuiltinOperator MEAN


def _windows(tiny_model, tflite, n):
    from hil.export.quantize import quantize_input
    from hil.export.tflite_info import read_io_quant

    scale, zp, *_ = read_io_quant(tflite)
    return quantize_input(tiny_model.dataset.windows("test", limit=n).x, scale, zp)


def test_healthy_dump_matches_both_references_for_every_tensor(qemu_device, tiny_model, tiny_export):
    tflite = tiny_export / "model.tflite"
    x = _windows(tiny_model, tflite, 2)
    doc = diag_mod.diagnose(qemu_device.client, tflite, enumerate(x), engine="aot")
    n_ops = len(read_tflite(tflite).operators)
    assert len(doc["windows"]) == 2 and doc["complete"] and doc["first_divergence"] is None
    for w in doc["windows"]:
        for ref in diag_mod.REFERENCES:
            assert len(w["layers"][ref]) == n_ops
            assert all(layer["max_abs_diff_lsb"] == 0 for layer in w["layers"][ref]), ref


def test_profile_one_entry_per_op_and_totals_within_overhead(qemu_device, tiny_model, tiny_export):
    tflite = tiny_export / "model.tflite"
    g = read_tflite(tflite)
    raw = profile_mod.collect(qemu_device.client, _windows(tiny_model, tflite, 3), "aot")
    sec = profile_mod.section(raw, tflite, qemu_device.firmware.board)
    assert sec["unit"] == "qemu_instructions" and sec["invokes"] == 3
    assert [o["index"] for o in sec["ops"]] == list(range(len(g.operators)))
    assert [o["op"] for o in sec["ops"]] == g.op_names
    assert [o["output"] for o in sec["ops"]] == [g.tensors[op.outputs[0]].name for op in g.operators]
    # Every op that runs a kernel costs something; a RESHAPE only aliases its input (may round to 0 ticks).
    assert all(o["counts"] > 0 for o in sec["ops"] if o["op"] != "RESHAPE")
    assert sum(t["ops"] for t in sec["by_type"]) == len(g.operators)
    assert sec["total"] == pytest.approx(sum(o["counts"] for o in sec["ops"]))
    # The ops' timer reads telescope inside the invoke: never more than it, short of it by the overhead only.
    assert 0 < sec["total"] <= sec["invoke"] * 1.001
    assert sec["overhead_share"] <= profile_mod.OVERHEAD_BOUND


@pytest.fixture(scope="module")
def faulty_work(tiny_model, tmp_path_factory):
    from tests.fixtures.model import work_sharing_model

    return work_sharing_model(tiny_model, tmp_path_factory.mktemp("faulty-work"))


def test_fault_in_mean_fails_the_run_and_is_named(run_setup, faulty_work, tmp_path, monkeypatch):
    import hil.firmware.build as build_mod

    real = build_mod.cmake_build

    def faulty(build_dir, **kw):  # the test-only switch, in this work folder only
        kw["extra"] = {**(kw.get("extra") or {}), "HIL_FAULT_OP_CODE": str(MEAN)}
        return real(build_dir, **kw)

    monkeypatch.setattr(build_mod, "cmake_build", faulty)
    result = run_pipeline(run_setup.options(tmp_path / "run", work=faulty_work, windows=N))
    assert result.exit_code == 1
    rep = result.report
    assert not rep.gates.passed and rep.agreement.exact_match < 1
    g = read_tflite(run_setup.work / "rhythm-4-effv2" / "export" / "model.tflite")
    first_mean = next(op.index for op in g.operators if op.code == MEAN)
    d = rep.diagnosis.first_divergence
    assert (d.index, d.op) == (first_mean, "MEAN")
    assert set(d.references) == {"tflite", "tflm_host"} and d.max_abs_diff_lsb == 1
    assert diag_mod.summary(rep.diagnosis).startswith(f"first divergence: op {first_mean} MEAN, up to 1 LSB")
    for w in rep.diagnosis.windows:  # every op before it matches both references
        assert all(layer.max_abs_diff_lsb == 0 for layer in w.layers["tflite"][:first_mean])
    assert len(rep.profile) == 1 and len(rep.profile[0].ops) == len(g.operators)
    html = (tmp_path / "run" / "report.html").read_text()
    assert "Layer-by-layer diagnosis" in html and "Per-op profile" in html
    assert (tmp_path / "run" / "profile.json").exists() and (tmp_path / "run" / "serial.log").exists()


# --- `hil diagnose RUN_DIR` on a finished run folder, and a dump the link interrupts -------------------


def _hil(*args: str):
    from click.testing import CliRunner

    from hil.cli import cli

    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def healthy_run(run_setup, tmp_path_factory):
    """A healthy aot run folder whose board has a short link timeout (what the dump tests hurt)."""
    import yaml

    tmp = tmp_path_factory.mktemp("healthy-run")
    boards = yaml.safe_load((run_setup.model.parents[1] / "boards.yaml").read_text())
    boards["boards"]["qemu-m4"]["link"].update(timeout_s=2.0, retries=2)
    (tmp / "boards.yaml").write_text(yaml.safe_dump(boards))
    result = run_pipeline(run_setup.options(tmp / "run", windows=N, boards_file=tmp / "boards.yaml"))
    assert result.exit_code == 0 and result.report.diagnosis is None
    return tmp / "run"


def test_diagnose_cli_on_a_healthy_run_exits_0_and_remakes_the_report(healthy_run):
    (healthy_run / "report.html").unlink()
    r = _hil("diagnose", str(healthy_run), "--windows", "1", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads((healthy_run / "diagnosis.json").read_text())
    assert doc["first_divergence"] is None and doc["complete"] and [w["window"] for w in doc["windows"]] == [0]
    rep = json.loads((healthy_run / "report.json").read_text())
    assert rep["diagnosis"]["windows"][0]["window"] == 0 and rep["gates"]["passed"]
    html = (healthy_run / "report.html").read_text()
    assert "Layer-by-layer diagnosis" in html and "Per-op profile" in html


class CutAtOp:
    """Builds a transport that passes the device's frames until its first DUMP_RESULT for op ``k``, and
    nothing after: a cable cut in the middle of a dump (the device keeps running and answering)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def __call__(self, port):
        from hil.device.framing import DELIMITER, FrameError, MsgType, decode
        from tests.fixtures.firmware import FaultyPort

        k = self.k

        class Cut(FaultyPort):  # every=0: FaultyPort injects nothing, it hands over whole frames
            cut = False

            def read(self, size: int = 1) -> bytes:
                data, out = super().read(size), b""
                for part in data.split(DELIMITER)[:-1]:
                    try:
                        f = decode(part)
                    except FrameError:
                        f = None
                    if self.cut or (f is not None and f.type == MsgType.DUMP_RESULT
                                    and int.from_bytes(f.payload[:2], "little") >= k):
                        self.cut = True
                        break
                    out += part + DELIMITER
                return out

        return Cut(port, seed=0)


def _tap_link(monkeypatch, wrap):
    """Every link the device session opens goes through ``wrap(port)`` (the transport, lowest level)."""
    import hil.device.session as session_mod

    real = session_mod.link_mod.open_link
    wrapped = []

    def open_link(*a, **kw):
        wrapped.append(wrap(real(*a, **kw)))
        return wrapped[-1]

    monkeypatch.setattr(session_mod.link_mod, "open_link", open_link)
    return wrapped


def test_dump_survives_dropped_frames_by_retrying(healthy_run, monkeypatch):
    from tests.fixtures.firmware import FaultyPort

    ports = _tap_link(monkeypatch, lambda p: FaultyPort(p, seed=5, every=15, kinds=("drop",), directions=("rx",)))
    r = _hil("diagnose", str(healthy_run), "--windows", "1")
    assert r.exit_code == 0, r.output
    assert sum(p.injected["rx"]["drop"] for p in ports) >= 3, "replies were dropped on the way back"
    doc = json.loads((healthy_run / "diagnosis.json").read_text())
    layers = doc["windows"][0]["layers"]
    assert doc["complete"] and all(x["max_abs_diff_lsb"] == 0 for ref in layers.values() for x in ref)


def test_dump_that_cannot_finish_exits_2_naming_the_op_and_keeps_the_run(healthy_run, monkeypatch):
    """The device's replies stop after op K's tensor (a cut cable): retries spent, exit 2, the run intact."""
    g = read_tflite(Path(json.loads((healthy_run / "config.json").read_text())["export_dir"]) / "model.tflite")
    k = 7
    kept = {name: (healthy_run / name).read_bytes() for name in ("results.jsonl", "serial.log", "config.json")}
    before = json.loads((healthy_run / "report.json").read_text())
    _tap_link(monkeypatch, CutAtOp(k))
    r = _hil("diagnose", str(healthy_run), "--windows", "1")
    assert r.exit_code == 2, r.output
    want = f"DUMP stopped at op {k} {g.operators[k].name} (of {len(g.operators)})"
    assert want in " ".join(r.output.split())
    assert all((healthy_run / name).read_bytes() == data for name, data in kept.items())
    after = json.loads((healthy_run / "report.json").read_text())
    assert want in after["diagnosis"]["error"] and not after["diagnosis"]["complete"]
    assert after["agreement"] == before["agreement"] and after["gates"] == before["gates"]
    assert (healthy_run / "diagnose-serial.log").exists()


def test_dump_interrupted_by_a_device_reset_is_retried(healthy_run, monkeypatch):
    """A CRASH sent in the middle of the dump: the device faults and reboots, the client re-sends the
    chunk it was waiting for (each carries its window, so it is recomputed) and every tensor still matches."""
    from hil.device.framing import Deframer, Frame, MsgType, encode
    from tests.fixtures.firmware import FaultyPort

    crash = encode(Frame(MsgType.CRASH, 77))
    ports = _tap_link(monkeypatch, lambda p: FaultyPort(p, seed=0, inject_after_writes={12: crash}))
    r = _hil("diagnose", str(healthy_run), "--windows", "1")
    assert r.exit_code == 0, r.output
    assert ports and all(not p._inject for p in ports[:1]), "the CRASH went out after the 12th write: mid-dump"
    log = (healthy_run / "diagnose-serial.log").read_text().splitlines()
    rx = bytes.fromhex("".join(ln.split()[2] for ln in log if ln.split()[1:2] == ["RX"]))
    banners = [e.banner for e in Deframer().feed(rx) if getattr(e, "banner", None)]
    assert any("reset=fault" in b for b in banners), banners  # the device really rebooted mid-dump
    doc = json.loads((healthy_run / "diagnosis.json").read_text())
    layers = doc["windows"][0]["layers"]
    assert doc["complete"] and all(x["max_abs_diff_lsb"] == 0 for ref in layers.values() for x in ref)
