"""hil doctor checks what the pipeline and the test suite really use."""

import re
import tomllib
from pathlib import Path

from hil import doctor

REPO = Path(__file__).resolve().parents[2]


def _dependency_names() -> set[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in deps}


def test_every_runtime_dependency_is_checked():
    checked = {c.name.removeprefix("python: ") for c in doctor.check_python_packages()}
    assert _dependency_names() <= checked
    assert {"matplotlib", "ai-edge-litert", "tflite-micro"} <= checked


def test_missing_clang_is_reported_with_its_fix_but_not_required(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tool at all on PATH
    clang = next(c for c in doctor.run_checks() if c.name.startswith("clang"))
    assert not clang.ok and "apt-get install -y clang" in clang.fix and clang.required is False
