"""The quantisation gate is the export stage's: a failed gate raises GateFailed (exit 1) and keeps the export."""

from __future__ import annotations

import json

import pytest

from hil.errors import EXIT_GATE_FAILED, GateFailed
from hil.export.quantize import METRICS_NAME, check_quantization_gate


def _export(tmp_path, drop: float, limit: float):
    check = {"accuracy_drop": drop, "limit": limit, "passed": drop <= limit}
    (tmp_path / METRICS_NAME).write_text(json.dumps({"quantization_check": check}))
    return tmp_path


def test_a_drop_within_the_limit_passes(tmp_path):
    check_quantization_gate(_export(tmp_path, 0.01, 0.05))


def test_a_drop_over_the_limit_is_a_gate_failure_naming_the_kept_folder(tmp_path):
    with pytest.raises(GateFailed) as exc:
        check_quantization_gate(_export(tmp_path, 0.125, 0.05))
    assert exc.value.exit_code == EXIT_GATE_FAILED
    assert "lost 0.125 accuracy" in str(exc.value) and f"artifacts kept in {tmp_path}" in str(exc.value)
    assert (tmp_path / METRICS_NAME).exists()
