"""Per-op profile and layer-by-layer diagnosis on the emulated Cortex-M4 (aot engine).

Everything is real: the firmware runs in QEMU, tensors come back over the UART
(DUMP), the references are TFLite (BUILTIN_REF) and TFLM on the host. The fault
is a test-only build of the same image (``HIL_FAULT_OP_CODE``: +1 LSB on every
MEAN output), so the diagnosis has exactly one right answer.
"""

from __future__ import annotations

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
    """A work folder sharing tiny_model's data, training and export (symlinks), firmware of its own."""
    src = tiny_model.paths.work / tiny_model.cfg.name
    work = tmp_path_factory.mktemp("faulty-work")
    (work / tiny_model.cfg.name).mkdir()
    for part in ("data", "train", "export"):
        if (src / part).exists():
            (work / tiny_model.cfg.name / part).symlink_to(src / part)
    return work


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
