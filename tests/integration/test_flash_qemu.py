"""``hil flash`` on qemu-m4 as a user runs it: the built image really boots in
qemu-system-arm, answers HELLO over the UART socket, and goes through the full
image check of DeviceSession (model hash, input/output quantisation and shape)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.qemu]


def _flash(run_setup, *extra):
    return subprocess.run(
        # --engine aot: the image run_setup built (qemu-m4 defaults to tflm when a TFLM tree is set)
        [sys.executable, "-m", "hil.cli", "flash", "--board", "qemu-m4", "--engine", "aot", "--model",
         str(run_setup.model), "--json", *extra],
        capture_output=True, text=True, timeout=300,
    )


def test_flash_boots_says_hello_and_the_image_holds_the_export(run_setup, tmp_path):
    from hil.artifacts import read_manifest
    from hil.config import load_model_config

    log = tmp_path / "flash.log"
    p = _flash(run_setup, "--work", str(run_setup.work), "--log", str(log))
    assert p.returncode == 0, p.stderr[-3000:]
    doc = json.loads(p.stdout)
    export = run_setup.work / load_model_config(run_setup.model).name / "export"
    assert doc["board"] == "qemu-m4" and doc["flasher"] == "qemu" and doc["image"].endswith("hil.elf")
    assert doc["url"].startswith("socket://") and doc["engine"] == "aot" and doc["firmware_version"]
    assert doc["model_sha256"] == read_manifest(export)["outputs"]["sha256"]
    assert doc["model_matches_export"] is True and doc["problems"] == []
    assert "qemu-system-arm" in log.read_text()


def test_flash_of_an_image_that_does_not_hold_the_export_exits_2(run_setup, tmp_path):
    """The same image against an export whose model hash differs: the image check says so."""
    from hil.config import load_model_config

    name = load_model_config(run_setup.model).name
    firmware = run_setup.work / name / "firmware" / "qemu-m4-aot"
    other = tmp_path / "work"
    shutil.copytree(run_setup.work / name / "export", other / name / "export")
    manifest = other / name / "export" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["outputs"]["sha256"] = "0" * 64
    manifest.write_text(json.dumps(doc))
    p = _flash(run_setup, "--work", str(other), "--firmware", str(firmware))
    assert p.returncode == 2, p.stderr[-3000:]
    assert "does not hold the current export" in p.stderr and "model" in p.stderr
