"""Layer-by-layer diagnosis on the tflm engine, on the emulated Cortex-M4.

Everything is real: TFLM (the pinned tree) runs in QEMU, the diagnosis image
keeps every tensor (``preserve_all_tensors``, docs/diagnose.md "Memory"), its
tensors come back over the UART (DUMP), and the references are TFLite
(BUILTIN_REF) and TFLM on the host. The fault is a test-only build
(``HIL_FAULT_OP_CODE``: the resolver's MEAN registration adds 1 LSB to its
output), so the diagnosis has exactly one right answer. The healthy dump runs
on both kernel sets (their TFLM objects come from the session's compiler cache,
test_tflm_engine.py builds both); the faulty run on CMSIS-NN, as apollo4 ships
it: the fault wraps the resolver's registration, whatever kernel it holds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hil.run import run_pipeline
from hil.scoring import diagnosis as diag_mod
from hil.tflite import read_tflite

pytestmark = [pytest.mark.slow, pytest.mark.qemu, pytest.mark.needs_tree("tflm")]

REPO = Path(__file__).resolve().parents[2]
KERNELS = "cmsis-nn"
N = 6
MEAN = 40  # TFLite BuiltinOperator MEAN


def _windows(tiny_model, tflite, n):
    from hil.export.quantize import quantize_input
    from hil.export.tflite_info import read_io_quant

    scale, zp, *_ = read_io_quant(tflite)
    return quantize_input(tiny_model.dataset.windows("test", limit=n).x, scale, zp)


def _board():
    from hil.config import load_board

    return load_board("qemu-m4", REPO / "boards.yaml")


@pytest.fixture(scope="module", params=["cmsis-nn", "reference"])
def dump_image(request, tiny_export):
    from hil.artifacts import ArtifactPaths
    from hil.config import load_model_config
    from hil.firmware.build import build_firmware

    paths = ArtifactPaths(tiny_export.parent.parent, tiny_export.parent.name)
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    return build_firmware(_board(), cfg, paths, "tflm", kernels=request.param, dump=True)


def _kernels(image):
    return json.loads((image / "size.json").read_text())["kernels"]


@pytest.fixture(scope="module")
def dump_client(dump_image, tmp_path_factory):
    from hil.device.link import open_link
    from hil.device.protocol import DeviceClient
    from hil.device.qemu import QemuInstance

    board = _board()
    logs = tmp_path_factory.mktemp("tflm-dump")
    with QemuInstance(dump_image / "hil.elf", board.flasher, logs / "qemu.log") as q:
        link = open_link(q.url, board.link.baud, logs / "serial.log")
        try:
            yield DeviceClient(link, timeout_s=30, retries=1, inflight=1, board=board.name)
        finally:
            link.close()


def test_diagnosis_image_keeps_every_tensor_in_an_arena_sized_for_it(dump_image, dump_client):
    size = json.loads((dump_image / "size.json").read_text())
    assert dump_image.name == f"qemu-m4-tflm-{_kernels(dump_image)}-dump"
    header = (dump_image / "model" / "hil_tflm_model.h").read_text()
    assert "#define HIL_TFLM_PRESERVE_ALL 1" in header
    assert f"#define HIL_TFLM_ARENA_BYTES {size['arena_bytes']}u" in header
    # What the linear planner really took on the device fits the arena sized on the host.
    assert 0 < dump_client.hello().arena_bytes <= size["arena_bytes"]


def test_healthy_tflm_dump_matches_both_references_for_every_tensor(dump_image, dump_client, tiny_model,
                                                                    tiny_export):
    tflite = tiny_export / "model.tflite"
    info = dump_client.hello()
    assert info.engine == "tflm" and info.kernels == _kernels(dump_image)
    doc = diag_mod.diagnose(dump_client, tflite, enumerate(_windows(tiny_model, tflite, 2)), engine="tflm")
    n_ops = len(read_tflite(tflite).operators)
    assert len(doc["windows"]) == 2 and doc["complete"] and doc["first_divergence"] is None
    for w in doc["windows"]:
        for ref in diag_mod.REFERENCES:
            assert len(w["layers"][ref]) == n_ops
            assert all(layer["max_abs_diff_lsb"] == 0 for layer in w["layers"][ref]), ref


@pytest.fixture(scope="module")
def faulty_work(tiny_model, tmp_path_factory):
    from tests.fixtures.model import work_sharing_model

    return work_sharing_model(tiny_model, tmp_path_factory.mktemp("faulty-tflm-work"))


def test_fault_in_tflm_mean_fails_the_run_is_named_and_hil_diagnose_agrees(run_setup, faulty_work, tmp_path,
                                                                           monkeypatch):
    import hil.firmware.build as build_mod
    from click.testing import CliRunner

    from hil.cli import cli

    real = build_mod.cmake_build

    def faulty(build_dir, **kw):  # the test-only switch, in this work folder only (run and diagnosis image)
        kw["extra"] = {**(kw.get("extra") or {}), "HIL_FAULT_OP_CODE": str(MEAN)}
        return real(build_dir, **kw)

    monkeypatch.setattr(build_mod, "cmake_build", faulty)
    run = tmp_path / "run"
    result = run_pipeline(run_setup.options(run, work=faulty_work, windows=N, engine="tflm", kernels=KERNELS))
    assert result.exit_code == 1
    rep = result.report
    assert not rep.gates.passed and rep.agreement.exact_match < 1
    g = read_tflite(faulty_work / "rhythm-4-effv2" / "export" / "model.tflite")
    first_mean = next(op.index for op in g.operators if op.code == MEAN)
    d = rep.diagnosis.first_divergence
    assert rep.diagnosis.error is None and (d.index, d.op) == (first_mean, "MEAN")
    assert set(d.references) == {"tflite", "tflm_host"} and d.max_abs_diff_lsb == 1
    assert diag_mod.summary(rep.diagnosis).startswith(f"first divergence: op {first_mean} MEAN, up to 1 LSB")
    for w in rep.diagnosis.windows:  # every op before it matches both references
        assert all(layer.max_abs_diff_lsb == 0 for layer in w.layers["tflite"][:first_mean])
    # The run streamed on its own image; only the diagnosis used the one that keeps every tensor.
    fw = faulty_work / "rhythm-4-effv2" / "firmware"
    assert "PRESERVE_ALL" not in (fw / f"qemu-m4-tflm-{KERNELS}" / "model" / "hil_tflm_model.h").read_text()
    assert (fw / f"qemu-m4-tflm-{KERNELS}-dump" / "hil.elf").exists()

    # `hil diagnose RUN_DIR` on the same folder, later: exit 1, both files written, the page made again.
    (run / "report.html").unlink()
    (run / "diagnosis.json").unlink(missing_ok=True)
    r = CliRunner().invoke(cli, ["diagnose", str(run), "--windows", "1"])
    assert r.exit_code == 1, r.output
    assert f"first divergence: op {first_mean} MEAN" in " ".join(r.output.split())
    doc = json.loads((run / "diagnosis.json").read_text())
    assert doc["first_divergence"]["index"] == first_mean and len(doc["windows"]) == 1
    assert json.loads((run / "report.json").read_text())["diagnosis"]["first_divergence"]["op"] == "MEAN"
    html = (run / "report.html").read_text()
    assert "Layer-by-layer diagnosis" in html and "MEAN" in html


def test_diagnosis_image_that_does_not_fit_the_boards_ram_is_refused_before_compiling(tiny_export, tmp_path):
    from hil.artifacts import ArtifactPaths
    from hil.config import load_model_config
    from hil.errors import ConfigError
    from hil.firmware.build import build_firmware

    board = _board()
    small = board.model_copy(update={"memory": board.memory.model_copy(update={"ram_bytes": 64 * 1024})})
    paths = ArtifactPaths(tmp_path, tiny_export.parent.name)
    (tmp_path / tiny_export.parent.name).mkdir()
    (tmp_path / tiny_export.parent.name / "export").symlink_to(tiny_export)
    cfg = load_model_config(REPO / "models" / "rhythm-4-effv2")
    with pytest.raises(ConfigError) as e:
        build_firmware(small, cfg, paths, "tflm", kernels=KERNELS, dump=True)
    msg = str(e.value)
    assert "keeps every tensor" in msg and "65536 bytes of RAM" in msg and "memory.ram_bytes" in msg
    assert not (paths.firmware("qemu-m4", f"tflm-{KERNELS}-dump") / "hil.elf").exists()
