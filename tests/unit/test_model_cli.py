"""`hil train` / `hil export` from the command line: tables, --json, errors as exit statuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hil.cli import cli

REPO = Path(__file__).resolve().parents[2]
SEED = str(REPO / "models" / "rhythm-4-effv2")


def test_help_has_examples():
    runner = CliRunner()
    for cmd in ("train", "export"):
        r = runner.invoke(cli, [cmd, "--help"])
        assert r.exit_code == 0
        assert f"hil {cmd} --model models/rhythm-4-effv2" in r.output


def test_unknown_profile_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(cli, ["train", "--model", SEED, "--profile", "fast", "--work", str(tmp_path)])
    assert r.exit_code == 3
    assert "no training profile 'fast'" in r.output and "quick" in r.output
    assert not any(tmp_path.iterdir())  # nothing generated


def test_export_without_training_says_what_to_run(tmp_path):
    r = CliRunner().invoke(cli, ["export", "--model", SEED, "--work", str(tmp_path)])
    assert r.exit_code == 3
    assert "no trained model" in r.output and "hil train" in r.output


@pytest.mark.slow
def test_export_json_and_table_reuse_the_fresh_export(tiny_model, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(tiny_model.paths.root, work / tiny_model.cfg.name)
    before = (work / tiny_model.cfg.name / "export" / "manifest.json").read_text()
    runner = CliRunner()
    args = ["export", "--model", SEED, "--work", str(work), "--dataset", str(tiny_model.dataset.path)]
    r = runner.invoke(cli, [*args, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["manifest"]["params"] == 32_192
    assert set(doc["metrics"]) >= {"keras", "tflite", "tflm_host", "agreement", "quantization_check"}
    assert (work / tiny_model.cfg.name / "export" / "manifest.json").read_text() == before  # reused, not rebuilt
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert "TFLM host" in r.output and "32,192 parameters" in r.output
