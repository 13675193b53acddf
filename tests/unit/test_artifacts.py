"""Stage manifests: reuse when inputs match, rebuild when anything changed."""

from __future__ import annotations

import os
import stat

from hil.artifacts import ArtifactPaths, is_fresh, read_manifest, sha256_json, write_json_atomic, write_manifest


def test_manifest_freshness_follows_inputs_and_outputs(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "model.tflite").write_bytes(b"x")
    inputs = {"config": sha256_json({"a": 1}), "train": "abc"}
    write_manifest(folder, "export", inputs, {"bytes": 1})
    assert is_fresh(folder, inputs, required=["model.tflite"])
    assert not is_fresh(folder, {**inputs, "train": "abd"})
    assert not is_fresh(folder, inputs, required=["model.tflite", "missing.h"])
    assert read_manifest(folder)["outputs"] == {"bytes": 1}


def test_missing_or_corrupt_manifest_is_not_fresh(tmp_path):
    assert not is_fresh(tmp_path, {})
    (tmp_path / "manifest.json").write_text("{half")
    assert not is_fresh(tmp_path, {})


def test_json_written_atomically_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "report.json"
    write_json_atomic(path, {"k": [1, 2]})
    assert path.read_text().strip().startswith("{")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary left behind


def test_artifact_layout(tmp_path):
    p = ArtifactPaths.for_model("m", tmp_path)
    assert p.export == tmp_path / "m" / "export"
    assert p.firmware("qemu-m4", "aot") == tmp_path / "m" / "firmware" / "qemu-m4-aot"
