"""``hil nightly`` over two nights on qemu-m4 (entries aot and tflm): night 1 has an injected
infrastructure failure (QEMU killed mid-stream, no in-run recovery) that is retried and recorded;
night 2 builds the aot image at -O0 under the same series key (test switch HIL_TEST_FIRMWARE_OPT),
which its night-1 baseline flags as a latency regression: exit 1, JUnit failure, marked on the page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from hil.history import open_history
from hil.nightly import JUNIT, SUMMARY, load_plan, run_nightly
from tests.fixtures.run import REPO

# A cold TFLM compile alone can take most of the default 900 s; in CI the tflm tests warm the cache first.
pytestmark = [pytest.mark.qemu, pytest.mark.slow, pytest.mark.needs_tree("tflm"), pytest.mark.timeout(2400)]


def test_two_nights_retry_then_regression(run_setup, qemu_spy, tmp_path, monkeypatch):
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"""
model: {run_setup.model}
dataset: {run_setup.dataset}
work: {run_setup.work}
boards_file: {REPO / 'boards.yaml'}
no_train: true
windows: 6
retries: 1
retry_pause_s: 0
runs: {tmp_path / 'runs'}
history: {tmp_path / 'history.sqlite'}
entries:
  - {{board: qemu-m4, engine: aot, max_recoveries: 0, devices: 1}}
  - {{board: qemu-m4, engine: tflm}}
""")
    plan = load_plan(plan_file)
    first = tmp_path / "runs" / "n1" / "n1-qemu-m4-aot-a1" / "results.jsonl"
    qemu_spy.when_results(first, 2, qemu_spy.kill)
    code, night1 = run_nightly(plan, "n1")
    assert code == 0
    with open_history(plan.history) as h:
        failed, retried = h.get("n1-qemu-m4-aot-a1"), h.get("n1-qemu-m4-aot-a2")
        assert failed["exit_status"] == 2 and failed["infra_error"] and failed["report"] is None
        assert retried["exit_status"] == 0 and retried["retries"] == 1

    monkeypatch.setenv("HIL_TEST_FIRMWARE_OPT", "aot=-O0")
    code, night2 = run_nightly(plan, "n2")
    assert code == 1
    with open_history(plan.history) as h:
        aot, tflm = h.get("n2-qemu-m4-aot-a1"), h.get("n2-qemu-m4-tflm-a1")
    assert aot["baseline_run_id"] == "n1-qemu-m4-aot-a2" and tflm["baseline_run_id"] == "n1-qemu-m4-tflm-a1"
    growth = next(g for g in aot["gates"] if g["name"] == "regression.latency_growth")
    assert not growth["passed"] and growth["value"] > 0 and aot["exit_status"] == 1
    assert tflm["exit_status"] == 0
    cases = ET.parse(night2 / JUNIT).getroot().findall("testcase")
    failing = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert ("qemu-m4-aot", "regression.latency_growth") in failing
    assert all(cls == "qemu-m4-aot" for cls, _ in failing)
    page = (night2 / SUMMARY / "index.html").read_text()
    assert "regression in the newest run" in page and "n2-qemu-m4-aot-a1" in page


def test_two_kernel_sets_of_tflm_are_two_series_over_two_nights(run_setup, tmp_path):
    """Entries with ``kernels``: tflm with its reference and with its CMSIS-NN kernels, two windows each."""
    plan_file = tmp_path / "plan.yaml"
    plan_file.write_text(f"""
model: {run_setup.model}
dataset: {run_setup.dataset}
work: {run_setup.work}
boards_file: {REPO / 'boards.yaml'}
no_train: true
windows: 2
retries: 0
runs: {tmp_path / 'runs'}
history: {tmp_path / 'history.sqlite'}
entries:
  - {{board: qemu-m4, engine: tflm, kernels: reference, devices: 1}}
  - {{board: qemu-m4, engine: tflm, kernels: cmsis-nn, devices: 1}}
""")
    plan = load_plan(plan_file)
    assert run_nightly(plan, "k1")[0] == 0
    code, night2 = run_nightly(plan, "k2")
    assert code == 0
    with open_history(plan.history) as h:
        rows = {k: (h.get(f"k1-qemu-m4-tflm-{k}-a1"), h.get(f"k2-qemu-m4-tflm-{k}-a1")) for k in ("reference", "cmsis-nn")}
    for kernels, (first, second) in rows.items():
        assert first["kernels"] == second["kernels"] == kernels
        assert first["report"]["device_info"]["kernels"] == kernels  # what the image said in INFO
        assert second["series"] == first["series"] and second["baseline_run_id"] == first["run_id"]
        growth = next(g for g in second["gates"] if g["name"] == "regression.latency_growth")
        assert growth["passed"] and growth["value"] == 0  # same image, same windows: the same counts
    (ref1, _), (cmsis1, _) = rows["reference"], rows["cmsis-nn"]
    assert ref1["series"] != cmsis1["series"]
    assert ref1["numbers"]["latency.median"] != cmsis1["numbers"]["latency.median"]  # two kernel sets really ran
    classes = {c.get("classname") for c in ET.parse(night2 / JUNIT).getroot().findall("testcase")}
    assert classes == {"qemu-m4-tflm-reference", "qemu-m4-tflm-cmsis-nn"}
