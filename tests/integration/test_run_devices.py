"""``hil run --devices 2`` on qemu-m4: two real QEMU instances share the windows of one run.

The firmware really runs in two qemu-system-arm processes and the windows
really cross both UART sockets; one QEMU is really killed (SIGKILL) mid-run.
"""

import json

import pytest

from hil.errors import InfraError
from hil.run import run_pipeline

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

N = 40


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_devices_score_every_window_once_bit_exact(run_setup, qemu_spy, tmp_path):
    out = tmp_path / "r"
    res = run_pipeline(run_setup.options(out, windows=N, devices=2))
    assert res.exit_code == 0
    assert len(qemu_spy.instances) == 2
    rows = _rows(out / "results.jsonl")
    assert sorted(r["index"] for r in rows) == list(range(N))  # each window exactly once
    rep = res.report
    assert rep["agreement"]["exact_match"] == 1.0 and rep["agreement"]["max_abs_diff_lsb"] == 0
    assert rep.devices.count == 2 and sum(s.scored for s in rep.devices.shares) == N
    assert all(s.scored > 0 for s in rep.devices.shares)  # both devices did work
    assert {r["device"] for r in rows} == {0, 1}
    assert (out / "serial.log").stat().st_size > 0 and (out / "serial.1.log").stat().st_size > 0


def test_one_qemu_killed_recovers_that_device(run_setup, qemu_spy, tmp_path):
    out = tmp_path / "r"
    qemu_spy.when_results(out / "results.jsonl", 10, qemu_spy.kill)  # the newest: device 1
    res = run_pipeline(run_setup.options(out, windows=N, devices=2))
    assert res.exit_code == 0
    shares = res.report.devices.shares
    assert shares[1].recoveries >= 1 and shares[0].recoveries == 0
    assert sorted(r["index"] for r in _rows(out / "results.jsonl")) == list(range(N))
    assert res.report["agreement"]["exact_match"] == 1.0


def test_killed_without_recovery_exits_2_keeping_everything_then_resume(run_setup, qemu_spy, tmp_path):
    out = tmp_path / "r"
    qemu_spy.when_results(out / "results.jsonl", 8, qemu_spy.kill)
    with pytest.raises(InfraError) as e:
        run_pipeline(run_setup.options(out, windows=N, devices=2, max_recoveries=0))
    assert e.value.exit_code == 2 and "--resume" in e.value.hint
    saved = [r["index"] for r in _rows(out / "results.jsonl")]
    assert len(saved) == len(set(saved)) and 8 <= len(saved) < N
    assert not (out / "report.json").exists()

    res = run_pipeline(run_setup.options(out, windows=N, devices=2, resume=True))
    assert res.exit_code == 0
    rows = _rows(out / "results.jsonl")
    assert len(rows) == N and sorted(r["index"] for r in rows) == list(range(N))  # none scored twice
    assert res.report["stream"]["resumed"] == len(saved)
    assert res.report["agreement"]["exact_match"] == 1.0
