"""``hil data``: synth, info (tables, --json, --strict), convert."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from hil.cli import cli


def _run(*args: str):
    return CliRunner().invoke(cli, ["data", *args])


def test_info_on_the_real_sample(lsad_sample, tmp_path):
    r = _run("info", str(lsad_sample), "--work", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["class_counts"]["all"] == {"SR": 0, "SB": 2, "AFIB": 2, "GSVT": 0}
    assert doc["records_found"] == 4 and doc["skipped"] == {}
    table = _run("info", str(lsad_sample), "--work", str(tmp_path))
    assert table.exit_code == 0
    assert "AFIB" in table.stdout and "no records skipped" in table.stdout


def test_synth_then_info_is_balanced(tmp_path):
    out = tmp_path / "s"
    r = _run("synth", "--out", str(out), "--patients", "8", "--seed", "3", "--workers", "1", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["rhythms"] == {"SR": 2, "SB": 2, "AFIB": 2, "GSVT": 2}
    r = _run("info", str(out), "--work", str(tmp_path / "w"), "--json", "--strict")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["class_counts"]["all"] == {"SR": 2, "SB": 2, "AFIB": 2, "GSVT": 2} and doc["skipped"] == {}


def test_info_strict_and_skip_reasons(lsad_sample, tmp_path):
    root = tmp_path / "d"
    shutil.copytree(lsad_sample / "WFDBRecords", root / "WFDBRecords")
    leaf = root / "WFDBRecords/01/010"
    (leaf / "JS00004.mat").chmod(0o644)
    (leaf / "JS00004.mat").unlink()
    r = _run("info", str(root), "--work", str(tmp_path / "w"))
    assert r.exit_code == 0, r.output
    assert "missing_signal" in r.stdout and "skipped 1" in r.stdout
    r = _run("info", str(root), "--work", str(tmp_path / "w"), "--strict")
    assert r.exit_code == 3
    assert "missing_signal: 1" in r.output and "JS00004" in r.output


def test_info_on_a_missing_folder_is_a_usage_error(tmp_path):
    r = _run("info", str(tmp_path / "nope"), "--work", str(tmp_path))
    assert r.exit_code == 3 and "not found" in r.output
    assert "Traceback" not in r.output


def test_convert_writes_the_lists(lsad_sample, tmp_path):
    r = _run("convert", str(lsad_sample), "--work", str(tmp_path), "--json")
    assert r.exit_code == 0, r.output
    data = Path(tmp_path) / "rhythm-4-effv2" / "data"
    assert (data / "windows-test.csv").exists() and (data / "manifest.json").exists()


def test_default_dataset_prefers_lsad_then_synthesises_once(lsad_sample, seed_config, tmp_path, monkeypatch):
    import hil.data.dataset as dataset_mod
    from hil.data import default_dataset

    datasets = tmp_path / "datasets"
    (datasets / "lsad").mkdir(parents=True)
    (datasets / "lsad" / "WFDBRecords").symlink_to(lsad_sample / "WFDBRecords")
    monkeypatch.setenv("HIL_DATASETS", str(datasets))
    assert default_dataset(seed_config, tmp_path / "w", progress=False) == datasets / "lsad"

    monkeypatch.setenv("HIL_DATASETS", str(tmp_path / "empty"))
    monkeypatch.setattr(dataset_mod, "DEFAULT_SYNTH_PATIENTS", 4)
    first = default_dataset(seed_config, tmp_path / "w", progress=False)
    assert first == tmp_path / "w" / "datasets" / "synthetic-lsad"
    marker = first / "synthetic.json"
    stamp = marker.stat().st_mtime_ns
    assert default_dataset(seed_config, tmp_path / "w", progress=False) == first
    assert marker.stat().st_mtime_ns == stamp  # generated once, then reused


def test_info_follows_the_model_class_map(lsad_sample, tmp_path):
    import yaml

    repo = Path(__file__).resolve().parents[2]
    doc = yaml.safe_load((repo / "models/rhythm-4-effv2/config.yaml").read_text())
    doc["classes"] = {"names": ["BRADY", "IRREGULAR"],
                      "codes": {"BRADY": [426177001], "IRREGULAR": [164889003]}}  # AFL (JS00005) not mapped here
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.yaml").write_text(yaml.safe_dump(doc))
    r = _run("info", str(lsad_sample), "--model", str(model), "--work", str(tmp_path / "w"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["class_counts"]["all"] == {"BRADY": 2, "IRREGULAR": 1}
    assert out["skipped"] == {"no_class": 1} and out["skipped_examples"][0]["record"] == "JS00005"
