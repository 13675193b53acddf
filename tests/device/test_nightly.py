"""Nightly regression on a physical board: the whole ``hil run`` on the test split.

    pytest tests/device -m nightly --board apollo4 --junitxml=nightly.xml

Exit status semantics are kept for the job: an infrastructure failure
(flash, link: worth a retry) errors the test with the InfraError; a failed
gate fails it, listing the gates.
"""

import pytest

pytestmark = [pytest.mark.device, pytest.mark.nightly]


def test_nightly_regression(hil_run):
    res = hil_run()  # in the runs folder and the history, compared with the last passing night
    rep = res.report
    assert (res.run_dir / "junit.xml").exists() and (res.run_dir / "report.html").exists()
    failed = [f"{c['name']}: {c['value']} {c['comparison']} {c['limit']}" for c in rep["gates"]["checks"] if not c["passed"]]
    assert not failed, f"gates failed on {rep['board']}: {failed} (run folder {res.run_dir})"
    assert rep["agreement"]["top1"] == 1.0
