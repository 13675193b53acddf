"""``hil run`` with no --engine on qemu-m4: tflm (cmsis-nn) when a TFLM tree is available, else aot with the
reason in the summary and in report.json, never silently.  Real images on QEMU, a few windows each; the
tflm image is the one tests/integration/test_tflm_engine.py builds for the same tiny model (reused, fresh)."""

from __future__ import annotations

import pytest

from hil.run import run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.qemu]


def test_without_a_tree_the_run_completes_on_aot_and_says_why(run_setup, tmp_path, monkeypatch, capsys):
    from hil.commands.run import render_summary

    for var in ("HIL_TFLM_ROOT", "HIL_CMSIS_NN_ROOT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HIL_DEPS_DIR", str(tmp_path / "no-deps"))  # no fetched tree either
    res = run_pipeline(run_setup.options(tmp_path / "r", windows=5, engine=None))
    rep = res.report
    assert res.passed and rep.engine == "aot" and rep.kernels is None
    assert rep.engine_choice["engine"] == "aot"
    reason = rep.engine_choice["reason"]
    assert "tflm unavailable" in reason and "HIL_TFLM_ROOT" in reason
    render_summary(rep, res.run_dir)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "tflm unavailable" in ln]
    assert len(lines) == 1 and lines[0].startswith("engine aot")


@pytest.mark.needs_tree("tflm")
def test_with_a_tree_the_run_uses_tflm_with_the_boards_kernels(run_setup, tmp_path):
    res = run_pipeline(run_setup.options(tmp_path / "r", windows=5, engine=None))
    rep = res.report
    assert res.passed and rep.engine == "tflm" and rep.kernels == "cmsis-nn"
    assert rep.device_info["engine"] == "tflm" and rep.device_info["kernels"] == "cmsis-nn"  # what INFO said ran
    assert rep.firmware["kernels"] == "cmsis-nn" and rep.firmware["tflm_commit"]
    assert "qemu-m4's engine" in rep.engine_choice["reason"]
    assert rep.agreement["exact_match"] == 1.0 and rep.agreement_tflm_host["exact_match"] == 1.0
