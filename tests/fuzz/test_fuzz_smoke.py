"""A bounded libFuzzer run over the firmware's frame parser (ASan + UBSan): no crash, hang or OOB."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.fuzz.run_fuzz import build, seed_corpus

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang (libFuzzer) is not installed")
def test_fuzz_smoke(tmp_path):
    binary = build(tmp_path / "cmake", None)
    seed_corpus(tmp_path / "corpus")
    proc = subprocess.run(
        [str(binary), str(tmp_path / "corpus"), "-max_total_time=20", "-timeout=5", "-rss_limit_mb=2048",
         "-max_len=9000", f"-artifact_prefix={tmp_path}/", "-print_final_stats=1"],
        capture_output=True, timeout=120,
    )
    log = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "Done" in log and "stat::number_of_executed_units" in log
    executed = int(log.split("stat::number_of_executed_units:")[1].split()[0])
    assert executed > 1000, f"the fuzzer barely ran: {executed} inputs"
